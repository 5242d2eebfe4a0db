#include "connections/http_verifier.hpp"

#include <boost/json.hpp>

#include "connections/credential_store.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard::connections {

namespace json = boost::json;
using core::Result;

namespace {

std::vector<core::Secret> SecretsOf(const catalog::ConnectionType& type, const json::object& parameters,
                                    const json::object& data) {
    std::vector<core::Secret> out;
    CollectCredentialSecrets(type, parameters, data, out);
    return out;
}

}  // namespace

bool HttpVerifier::HasVerifyRequest(const catalog::ConnectionType& type) const {
    if (!type.api.is_object() || type.IsOAuth()) return false;
    const auto* url = type.api.as_object().if_contains("url");
    return url && url->is_string() && !url->as_string().empty();
}

Result<VerifyResult> HttpVerifier::Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                          const json::object& parameters, const json::object& data) {
    if (!HasVerifyRequest(type)) {
        return core::InvalidArgument("connection type " + type.name + " has no verify request");
    }
    const json::object& spec = type.api.as_object();
    json::object root{{"parameters", parameters}, {"common", type.common}, {"data", data}, {"temp", json::object{}}};
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = &clock_;
    ctx.random = &random_;

    VerifyResult out;
    // The sanitizer comes first: a template error may quote a value, and a value may be a secret.
    auto sanitizer = request_spec::MakeSanitizer(SecretsOf(type, parameters, data), app.base, spec);
    if (!sanitizer) return sanitizer.error();
    auto failed = [&](const core::Error& e) {
        out.verified = false;
        out.message = (*sanitizer)->Text(e.detail.empty() ? e.message : e.detail, 1000);
        return out;
    };
    auto applies = request_spec::Condition(spec, ctx);
    if (!applies) return failed(applies.error());
    if (!*applies) {
        out.skipped = true;
        return out;
    }
    // Connection requests are absolute (the catalog refuses a relative url there): base.baseUrl is for modules.
    auto req = request_spec::Render(spec, ctx, "the verify request of " + type.name);
    if (!req) return failed(req.error());
    req->sanitizer = *sanitizer;
    req->timeout = kVerifyTimeout;

    // Verify calls run on API worker threads: bound how many wait on apps at once, so slow apps cannot take
    // every worker.
    if (!slots_.try_acquire_for(std::chrono::seconds(2))) {
        out.message = "too many verifications are in progress; try again in a moment";
        return out;
    }
    auto sent = http_.Send(*req);
    slots_.release();
    if (!sent) {
        out.message = (*sanitizer)->Text("could not reach " + type.label + ": " + sent.error().detail);
        return out;
    }
    request_spec::AddResponse(root, *sent);
    auto failure = request_spec::Failure(spec, sent->status, ctx);
    if (!failure) return failed(failure.error());
    if (*failure) {
        out.message = (*sanitizer)->Text(**failure, 1000);
        return out;
    }

    out.verified = true;
    auto meta = request_spec::RenderDirective(spec, "metadata", ctx);
    if (!meta) return failed(meta.error());
    if (meta->is_object()) {
        const auto* value = meta->as_object().if_contains("value");
        const auto* kind = meta->as_object().if_contains("type");
        if (value && !value->is_null()) {
            out.metadata = json::object{{"type", kind && kind->is_string() ? *kind : json::value("text")},
                                        {"value", (*sanitizer)->Text(request_spec::Text(*value), 256)}};
        }
    }
    auto uid = request_spec::RenderDirective(spec, "uid", ctx);
    if (!uid) return failed(uid.error());
    out.uid = request_spec::Text(*uid);
    auto stored = request_spec::RenderDirective(spec, "data", ctx);
    if (!stored) return failed(stored.error());
    if (stored->is_object()) out.data = std::move(stored->as_object());
    return out;
}

}  // namespace switchboard::connections

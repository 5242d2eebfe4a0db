#include "oauth/oauth_engine.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "core/encoding.hpp"
#include "http_client/url.hpp"
#include "iml/dates.hpp"
#include "iml/timezone.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard::oauth {

namespace json = boost::json;
using core::Result;

core::Error ProviderError(std::string message) {
    core::Error e = core::Error::Make(core::Errc::kUpstreamError, "Authorization failed", std::move(message));
    return e;
}

namespace {

const json::object& Step(const catalog::ConnectionType& type, std::string_view name) {
    static const json::object kEmpty;
    if (!type.api.is_object()) return kEmpty;
    const auto* s = type.api.as_object().if_contains(name);
    return s && s->is_object() ? s->as_object() : kEmpty;
}

std::vector<core::Secret> Secrets(const catalog::ConnectionType& type, const json::object& parameters,
                                  const json::object& extra) {
    std::vector<core::Secret> out;
    for (const auto& p : type.parameters) {
        if (!p.IsSecret()) continue;
        if (const auto* v = parameters.if_contains(p.name)) request_spec::CollectSecrets(*v, out);
    }
    if (const auto* s = type.common.if_contains("clientSecret")) request_spec::CollectSecrets(*s, out);
    request_spec::CollectSecrets(extra, out);
    return out;
}

std::vector<std::string> SplitScopes(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != ',') ++j;
        if (j > i) out.emplace_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

// Renders and sends one step; on a transport failure or an invalid answer, a ProviderError with the reason.
Result<http_client::Response> SendStep(http_client::HttpClient& http, const catalog::App& app,
                                       const catalog::ConnectionType& type, const json::object& spec,
                                       json::object& root, const iml::Context& ctx, std::string_view step,
                                       const std::vector<core::Secret>& secrets,
                                       const std::optional<std::string>& code_verifier = std::nullopt) {
    auto req = request_spec::Render(spec, ctx, "the " + std::string(step) + " step of " + type.name);
    if (!req) return req.error();
    if (code_verifier && !code_verifier->empty()) {
        if (auto* form = std::get_if<http_client::FormBody>(&req->body)) {
            form->fields.emplace_back("code_verifier", *code_verifier);
        } else if (auto* j = std::get_if<http_client::JsonBody>(&req->body); j && j->value.is_object()) {
            j->value.as_object()["code_verifier"] = *code_verifier;
        } else {
            req->body = http_client::FormBody{{{"code_verifier", *code_verifier}}};
        }
    }
    std::vector<core::Secret> known = secrets;
    if (code_verifier && !code_verifier->empty()) known.emplace_back(*code_verifier);
    auto sanitizer = request_spec::MakeSanitizer(std::move(known), app.base, spec);
    if (!sanitizer) return sanitizer.error();
    req->sanitizer = *sanitizer;
    auto sent = http.Send(*req);
    if (!sent) return ProviderError((*sanitizer)->Text(type.label + " could not be reached: " + sent.error().detail));
    request_spec::AddResponse(root, *sent);
    auto failure = request_spec::Failure(spec, sent->status, ctx);
    if (!failure) return failure.error();
    if (*failure) {
        // The provider's own error code says most (invalid_grant, invalid_client, invalid_scope).
        std::string message = **failure;
        if (const auto* body = root.if_contains("body"); body && body->is_object()) {
            const auto& b = body->as_object();
            if (const auto* code = b.if_contains("error"); code && code->is_string()) {
                message = std::string(step) + " failed: " + std::string(code->as_string());
                if (const auto* d = b.if_contains("error_description"); d && d->is_string()) {
                    message += " (" + std::string(d->as_string()) + ")";
                }
            }
        }
        core::Error e = ProviderError((*sanitizer)->Text(message, 500));
        e.suberrors.push_back(std::string(kHttpStatusPrefix) + std::to_string(sent->status));
        return e;
    }
    return std::move(*sent);
}

}  // namespace

iml::Context OAuthEngine::Context(const json::object& root) const {
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = &clock_;
    ctx.random = &random_;
    return ctx;
}

json::object OAuthEngine::RootWithData(const catalog::App& app, const catalog::ConnectionType& type,
                                       const json::object& parameters, const json::object& data) const {
    json::object root = Root(app, type, parameters, {});
    root["data"] = data;
    root["connection"] = data;
    return root;
}

std::string OAuthEngine::RedirectUri(const catalog::App& app) const { return public_url_ + "/oauth/cb/" + app.name; }

json::object OAuthEngine::Root(const catalog::App& app, const catalog::ConnectionType& type,
                               const json::object& parameters, const std::vector<std::string>& scopes) const {
    json::object common = type.common;
    if (auto it = operator_common_.find(app.name); it != operator_common_.end()) {
        for (const auto& [k, v] : it->second) common[k] = v;
    }
    // A user's own OAuth client (advanced fields) wins over the operator's and the app's.
    for (const char* key : {"clientId", "clientSecret"}) {
        if (const auto* v = parameters.if_contains(key); v && v->is_string() && !v->as_string().empty())
            common[key] = *v;
    }
    json::array scope;
    for (const auto& s : scopes) scope.emplace_back(s);
    const std::string redirect = RedirectUri(app);
    return json::object{{"parameters", parameters},
                        {"common", std::move(common)},
                        {"oauth", json::object{{"scope", std::move(scope)},
                                               {"redirectUri", redirect},
                                               {"localRedirectUri", redirect},
                                               {"makeRedirectUri", redirect}}},
                        {"temp", json::object{}},
                        {"data", json::object{}}};
}

Result<AuthorizeStart> OAuthEngine::Authorize(const catalog::App& app, const catalog::ConnectionType& type,
                                              const json::object& parameters, const std::vector<std::string>& scopes) {
    const json::object& spec = Step(type, "authorize");
    if (spec.empty()) return core::InvalidArgument("connection type " + type.name + " has no authorize step");
    json::object root = Root(app, type, parameters, scopes);
    AuthorizeStart out;
    // preauthorize (optional): a request before the window opens; its response.temp is kept for the authorize
    // URL and, through the consent state, for the token step.
    if (const json::object& pre = Step(type, "preauthorize"); !pre.empty()) {
        const iml::Context pre_ctx = Context(root);
        auto applies = request_spec::Condition(pre, pre_ctx);
        if (!applies) return applies.error();
        if (*applies) {
            auto sent = SendStep(http_, app, type, pre, root, pre_ctx, "preauthorize",
                                 Secrets(type, parameters, root.at("common").as_object()));
            if (!sent) return sent.error();
            auto kept = request_spec::RenderDirective(pre, "temp", pre_ctx);
            if (!kept) return kept.error();
            if (kept->is_object()) out.temp = kept->as_object();
            root.erase("body");
            root.erase("headers");
            root.erase("statusCode");
            root["temp"] = out.temp;
        }
    }
    const iml::Context ctx = Context(root);
    auto url = iml::RenderValue(spec.contains("url") ? spec.at("url") : json::value(), ctx);
    if (!url) return url.error();
    auto rendered_qs = request_spec::RenderFields(spec.contains("qs") ? spec.at("qs") : json::value(), ctx, "qs");
    if (!rendered_qs) return rendered_qs.error();
    http_client::Fields query;
    for (auto& [k, v] : *rendered_qs) {
        // An empty value is "not set" in an authorize URL (e.g. an optional prompt or audience).
        if (!v.empty()) query.emplace_back(std::move(k), std::move(v));
    }
    out.state = random_.Token(32);
    query.emplace_back("state", out.state);
    if (type.pkce && type.kind != catalog::ConnectionKind::kOAuthClientCredentials) {
        out.code_verifier = random_.Token(48);  // 64 characters of [A-Za-z0-9_-]
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(out.code_verifier.data()),
                           out.code_verifier.size());
        query.emplace_back("code_challenge", core::Base64UrlEncode(std::string_view(
                                                 reinterpret_cast<const char*>(digest), sizeof digest)));
        query.emplace_back("code_challenge_method", "S256");
    }
    auto full = http_client::BuildUrl(request_spec::Text(*url), query);
    if (!full) return full.error();
    out.url = std::move(*full);
    return out;
}

Result<Grant> OAuthEngine::TokenThenInfo(const catalog::App& app, const catalog::ConnectionType& type,
                                         json::object& root, const std::vector<std::string>& scopes,
                                         const std::string& code_verifier) {
    const iml::Context ctx = Context(root);
    const json::object& token = Step(type, "token");
    if (token.empty()) return core::InvalidArgument("connection type " + type.name + " has no token step");
    const json::object params = root.at("parameters").as_object();
    auto sent = SendStep(http_, app, type, token, root, ctx, "token",
                         Secrets(type, params, root.at("common").as_object()), code_verifier);
    if (!sent) return sent.error();

    Grant grant;
    grant.requested_scopes = scopes;
    auto data = request_spec::RenderDirective(token, "data", ctx);
    if (!data) return data.error();
    if (data->is_object()) grant.data = std::move(data->as_object());
    auto expires = request_spec::RenderDirective(token, "expires", ctx);
    if (!expires) return expires.error();
    if (expires->is_string() && !expires->as_string().empty()) {
        grant.expire_at = iml::ParseDateText(expires->as_string(), iml::TimeZone::Utc());
    }
    // Granted scopes: the token response's `scope` (RFC 6749 §5.1), else what was asked for.
    const auto* body = root.if_contains("body");
    const json::value* scope = body && body->is_object() ? body->as_object().if_contains("scope") : nullptr;
    grant.granted_scopes = scope && scope->is_string() ? SplitScopes(scope->as_string()) : scopes;
    const std::set<std::string> granted(grant.granted_scopes.begin(), grant.granted_scopes.end());
    grant.partial = std::any_of(scopes.begin(), scopes.end(), [&](const auto& s) { return !granted.contains(s); });

    if (auto info = RunInfo(app, type, root, grant); !info) return info.error();
    return grant;
}

Result<void> OAuthEngine::RunInfo(const catalog::App& app, const catalog::ConnectionType& type, json::object root,
                                  Grant& grant) {
    // info: verify and identify the account with the tokens.
    const json::object& info = Step(type, "info");
    if (info.empty()) return {};
    root["data"] = grant.data;
    root["connection"] = grant.data;
    root.erase("body");
    {
        const iml::Context probe = Context(root);
        auto applies = request_spec::Condition(info, probe);
        if (!applies) return applies.error();
        if (!*applies) return {};
    }
    const iml::Context ctx = Context(root);
    const json::object params = root.at("parameters").as_object();
    auto checked = SendStep(http_, app, type, info, root, ctx, "info", Secrets(type, params, grant.data));
    if (!checked) return checked.error();
    auto meta = request_spec::RenderDirective(info, "metadata", ctx);
    if (!meta) return meta.error();
    if (meta->is_object() && meta->as_object().contains("value") && !meta->as_object().at("value").is_null()) {
        grant.metadata = std::move(*meta);
    }
    auto uid = request_spec::RenderDirective(info, "uid", ctx);
    if (!uid) return uid.error();
    grant.uid = request_spec::Text(*uid);
    auto more = request_spec::RenderDirective(info, "data", ctx);
    if (!more) return more.error();
    if (more->is_object()) {
        for (const auto& [k, v] : more->as_object()) grant.data[k] = v;
    }
    return {};
}

bool RefusedWithStatus(const core::Error& e, int status) {
    const std::string want = std::string(kHttpStatusPrefix) + std::to_string(status);
    return std::find(e.suberrors.begin(), e.suberrors.end(), want) != e.suberrors.end();
}

std::optional<std::int64_t> TokenExpiry(const json::object& data) {
    const auto* e = data.if_contains("expires");
    if (!e || !e->is_string() || e->as_string().empty()) return std::nullopt;
    return iml::ParseDateText(e->as_string(), iml::TimeZone::Utc());
}

Result<std::optional<bool>> OAuthEngine::RefreshDue(const catalog::App& app, const catalog::ConnectionType& type,
                                                    const json::object& parameters, const json::object& data) {
    const json::object& spec = Step(type, "refresh");
    if (spec.empty() || !spec.contains("condition")) return std::optional<bool>();
    json::object root = RootWithData(app, type, parameters, data);
    const iml::Context ctx = Context(root);
    auto due = request_spec::Condition(spec, ctx);
    if (!due) return due.error();
    return std::optional<bool>(*due);
}

Result<json::object> OAuthEngine::Refresh(const catalog::App& app, const catalog::ConnectionType& type,
                                          const json::object& parameters, const json::object& data) {
    const json::object& spec = Step(type, "refresh");
    if (spec.empty()) return core::InvalidArgument("connection type " + type.name + " has no refresh step");
    json::object root = RootWithData(app, type, parameters, data);
    const iml::Context ctx = Context(root);
    auto sent = SendStep(http_, app, type, spec, root, ctx, "refresh", Secrets(type, parameters, data));
    if (!sent) return sent.error();
    auto fresh = request_spec::RenderDirective(spec, "data", ctx);
    if (!fresh) return fresh.error();
    json::object merged = data;
    if (fresh->is_object()) {
        for (const auto& [k, v] : fresh->as_object()) {
            // An empty value means the provider did not send it (no rotation): keep the old one.
            if (v.is_null() || (v.is_string() && v.as_string().empty())) continue;
            merged[k] = v;
        }
    }
    return merged;
}

Result<Grant> OAuthEngine::Info(const catalog::App& app, const catalog::ConnectionType& type,
                                const json::object& parameters, const json::object& data) {
    Grant grant;
    grant.data = data;
    if (auto r = RunInfo(app, type, Root(app, type, parameters, {}), grant); !r) return r.error();
    return grant;
}

Result<Grant> OAuthEngine::ExchangeCode(const catalog::App& app, const catalog::ConnectionType& type,
                                        const json::object& parameters, const std::vector<std::string>& scopes,
                                        const json::object& query, const std::string& code_verifier,
                                        const json::object& kept_temp) {
    if (const auto* err = query.if_contains("error"); err && err->is_string()) {
        std::string message = "the provider answered " + std::string(err->as_string());
        if (const auto* d = query.if_contains("error_description"); d && d->is_string()) {
            message += ": " + std::string(d->as_string());
        }
        return ProviderError(std::move(message));
    }
    json::object root = Root(app, type, parameters, scopes);
    root["query"] = query;
    root["temp"] = kept_temp;  // preauthorize's temp
    const iml::Context ctx = Context(root);
    // authorize.response.temp reads the callback ({{query.code}}); without it, the code is temp.code.
    json::object temp = kept_temp;
    temp["code"] = query.contains("code") ? query.at("code") : json::value();
    auto t = request_spec::RenderDirective(Step(type, "authorize"), "temp", ctx);
    if (!t) return t.error();
    if (t->is_object()) {
        for (const auto& [k, v] : t->as_object()) temp[k] = v;
    }
    if (request_spec::Text(temp["code"]).empty()) return ProviderError("the provider sent no authorization code");
    root["temp"] = std::move(temp);
    return TokenThenInfo(app, type, root, scopes, code_verifier);
}

Result<Grant> OAuthEngine::ClientCredentials(const catalog::App& app, const catalog::ConnectionType& type,
                                             const json::object& parameters, const std::vector<std::string>& scopes) {
    json::object root = Root(app, type, parameters, scopes);
    return TokenThenInfo(app, type, root, scopes, "");
}

Result<void> OAuthEngine::Invalidate(const catalog::App& app, const catalog::ConnectionType& type,
                                     const json::object& parameters, const json::object& data) {
    const json::object& spec = Step(type, "invalidate");
    if (spec.empty()) return {};
    json::object root = RootWithData(app, type, parameters, data);
    {
        const iml::Context probe = Context(root);
        auto applies = request_spec::Condition(spec, probe);
        if (!applies) return applies.error();
        if (!*applies) return {};
    }
    const iml::Context ctx = Context(root);
    auto sent = SendStep(http_, app, type, spec, root, ctx, "invalidate", Secrets(type, parameters, data));
    if (!sent) return sent.error();
    return {};
}

}  // namespace switchboard::oauth

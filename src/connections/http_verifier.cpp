#include "connections/http_verifier.hpp"

#include <boost/json.hpp>

#include "http_client/sanitizer.hpp"
#include "iml/template.hpp"

namespace switchboard::connections {

namespace json = boost::json;
using core::Result;

bool Truthy(const json::value& v) {
    if (v.is_bool()) return v.as_bool();
    if (v.is_null()) return false;
    if (v.is_number()) return v.to_number<double>() != 0;
    if (v.is_string()) return !v.as_string().empty() && v.as_string() != "false" && v.as_string() != "0";
    return true;
}

std::string DefaultErrorMessage(int status) {
    if (status == 429) return "Third party API limit likely exceeded";
    if (status >= 500) return "Service is temporarily unavailable.";
    return "Status Code Error: " + std::to_string(status);
}

namespace {

std::string Text(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    if (v.is_null()) return "";
    return json::serialize(v);
}

// Every string value of the credentials that may be secret: secret parameters and all stored data.
std::vector<core::Secret> SecretsOf(const catalog::ConnectionType& type, const json::object& parameters,
                                    const json::object& data) {
    std::vector<core::Secret> out;
    auto add = [&](const json::value& v) {
        if (v.is_string() && v.as_string().size() >= 4) out.emplace_back(std::string(v.as_string()));
    };
    for (const auto& p : type.parameters) {
        if (!p.IsSecret()) continue;
        if (const auto* v = parameters.if_contains(p.name)) add(*v);
    }
    for (const auto& [k, v] : data) add(v);
    for (const auto& [k, v] : type.common) add(v);
    return out;
}

std::vector<std::string> SanitizePaths(const json::object& base, const json::object& spec) {
    std::vector<std::string> out;
    for (const json::object* o : {&base, &spec}) {
        const auto* log = o->if_contains("log");
        const auto* list = log && log->is_object() ? log->as_object().if_contains("sanitize") : nullptr;
        if (!list || !list->is_array()) continue;
        for (const auto& p : list->as_array()) {
            if (p.is_string()) out.emplace_back(p.as_string());
        }
    }
    return out;
}

void AddSpread(const json::value& v, http_client::Fields& out) {
    if (v.is_object()) {
        for (const auto& [k, val] : v.as_object()) {
            if (!val.is_null()) out.emplace_back(std::string(k), Text(val));
        }
    } else if (v.is_array()) {
        for (const auto& item : v.as_array()) {
            if (!item.is_object()) continue;
            const auto& o = item.as_object();
            const json::value* key = o.if_contains("key") ? o.if_contains("key") : o.if_contains("name");
            const json::value* val = o.if_contains("value");
            if (key && key->is_string() && !key->as_string().empty() && val && !val->is_null()) {
                out.emplace_back(std::string(key->as_string()), Text(*val));
            }
        }
    }
}

// Headers and qs: values are templates, and so are keys here (Switchboard's extension for user-chosen header
// names; a key that renders empty is left out), plus Make's "{{...}}" key that spreads a collection in.
Result<http_client::Fields> RenderFields(const json::value& spec, const iml::Context& ctx, std::string_view what) {
    http_client::Fields out;
    if (spec.is_null()) return out;
    if (!spec.is_object()) return core::InvalidArgument(std::string(what) + " must be an object");
    for (const auto& [k, v] : spec.as_object()) {
        auto val = iml::RenderValue(v, ctx);
        if (!val) return val.error();
        if (k == "{{...}}") {
            AddSpread(*val, out);
            continue;
        }
        std::string key(k);
        if (key.find("{{") != std::string::npos) {
            auto rendered = iml::RenderString(key, ctx);
            if (!rendered) return rendered.error();
            key = std::move(*rendered);
        }
        if (key.empty() || val->is_null()) continue;
        out.emplace_back(std::move(key), Text(*val));
    }
    return out;
}

Result<http_client::Fields> FieldsOf(const json::value& v, std::string_view what) {
    http_client::Fields out;
    if (v.is_null()) return out;
    if (!v.is_object()) return core::InvalidArgument(std::string(what) + " must be an object");
    for (const auto& [k, val] : v.as_object()) {
        if (val.is_null()) continue;
        out.emplace_back(std::string(k), Text(val));
    }
    return out;
}

const json::value& Member(const json::object& o, std::string_view key) {
    static const json::value kNull;
    const auto* v = o.if_contains(key);
    return v ? *v : kNull;
}

}  // namespace

bool HttpVerifier::HasVerifyRequest(const catalog::ConnectionType& type) const {
    if (!type.api.is_object() || type.IsOAuth()) return false;
    const auto* url = type.api.as_object().if_contains("url");
    return url && url->is_string() && !url->as_string().empty();
}

Result<VerifyResult> HttpVerifier::Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                          const json::object& parameters, const json::object& data) {
    if (!HasVerifyRequest(type))
        return core::InvalidArgument("connection type " + type.name + " has no verify request");
    const json::object& spec = type.api.as_object();

    json::object root{{"parameters", parameters}, {"common", type.common}, {"data", data}, {"temp", json::object{}}};
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = &clock_;
    ctx.random = &random_;

    auto render = [&](std::string_view key) -> Result<json::value> {
        auto r = iml::RenderValue(Member(spec, key), ctx);
        if (!r) {
            core::Error e = r.error();
            e.detail =
                "the verify request of " + type.name + " cannot be rendered: " + std::string(key) + ": " + e.detail;
            return e;
        }
        return r;
    };

    if (spec.contains("condition")) {
        auto condition = render("condition");
        if (!condition) return condition.error();
        if (!Truthy(*condition)) {
            VerifyResult skipped;
            skipped.skipped = true;
            return skipped;
        }
    }
    auto url = render("url");
    if (!url) return url.error();
    // Connection requests are absolute (the catalog refuses a relative url there): base.baseUrl is for modules.
    const std::string url_text = Text(*url);
    auto method = render("method");
    if (!method) return method.error();
    auto body = render("body");
    if (!body) return body.error();

    http_client::Request req;
    req.url = url_text;
    req.method = method->is_string() && !method->as_string().empty() ? std::string(method->as_string()) : "GET";
    auto header_fields = RenderFields(Member(spec, "headers"), ctx, "headers");
    if (!header_fields) return header_fields.error();
    req.headers = std::move(*header_fields);
    auto query = RenderFields(Member(spec, "qs"), ctx, "qs");
    if (!query) return query.error();
    req.query = std::move(*query);
    const std::string body_type =
        Member(spec, "type").is_string() ? std::string(Member(spec, "type").as_string()) : "json";
    if (!body->is_null()) {
        if (body_type == "urlencoded") {
            auto f = FieldsOf(*body, "body");
            if (!f) return f.error();
            req.body = http_client::FormBody{std::move(*f)};
        } else if (body_type == "text" || body_type == "string" || body_type == "raw") {
            req.body = http_client::RawBody{Text(*body), "text/plain"};
        } else {
            req.body = http_client::JsonBody{*body};
        }
    }
    req.timeout = std::chrono::seconds(20);
    auto rules = http_client::SanitizeRules::FromPaths(SanitizePaths(app.base, spec));
    if (!rules) return rules.error();
    auto sanitizer = std::make_shared<http_client::Sanitizer>(SecretsOf(type, parameters, data), *rules);
    req.sanitizer = sanitizer;

    VerifyResult out;
    auto sent = http_.Send(req);
    if (!sent) {
        out.verified = false;
        out.message = sanitizer->Text("could not reach " + type.label + ": " + sent.error().detail);
        return out;
    }

    // The response as templates see it.
    json::value parsed_body;
    if (auto j = sent->Json()) {
        parsed_body = std::move(*j);
    } else {
        parsed_body = json::string(sent->body);
    }
    json::object response_headers;
    for (const auto& [k, v] : sent->headers) response_headers[k] = v;
    root["body"] = std::move(parsed_body);
    root["headers"] = std::move(response_headers);
    root["statusCode"] = sent->status;

    const json::object empty;
    const json::value& response_spec = Member(spec, "response");
    const json::object& response = response_spec.is_object() ? response_spec.as_object() : empty;

    bool valid = sent->status < 400;
    std::string valid_message;
    if (const auto* v = response.if_contains("valid")) {
        const json::value* condition = v;
        if (v->is_object()) {
            condition = v->as_object().if_contains("condition");
            if (const auto* m = v->as_object().if_contains("message")) {
                auto msg = iml::RenderValue(*m, ctx);
                if (msg) valid_message = Text(*msg);
            }
        }
        if (condition) {
            auto c = iml::RenderValue(*condition, ctx);
            if (!c) return c.error();
            valid = valid && Truthy(*c);
        }
    }
    if (!valid) {
        std::string message;
        const json::value& error_spec = Member(response, "error");
        if (error_spec.is_object()) {
            const json::value* by_status = error_spec.as_object().if_contains(std::to_string(sent->status));
            const json::value& chosen = by_status && by_status->is_object() ? *by_status : error_spec;
            if (const auto* m = chosen.as_object().if_contains("message")) {
                auto msg = iml::RenderValue(*m, ctx);
                if (msg) message = Text(*msg);
            }
        }
        if (message.empty()) message = valid_message;
        if (message.empty()) message = DefaultErrorMessage(sent->status >= 400 ? sent->status : 400);
        out.verified = false;
        out.message = sanitizer->Text(message, 1000);
        return out;
    }

    out.verified = true;
    if (const auto* m = response.if_contains("metadata")) {
        auto meta = iml::RenderValue(*m, ctx);
        if (!meta) return meta.error();
        if (meta->is_object() && !Member(meta->as_object(), "value").is_null()) {
            json::object md;
            md["type"] = Member(meta->as_object(), "type").is_string() ? Member(meta->as_object(), "type") : "text";
            md["value"] = sanitizer->Text(Text(Member(meta->as_object(), "value")), 256);
            out.metadata = std::move(md);
        }
    }
    if (const auto* u = response.if_contains("uid")) {
        auto uid = iml::RenderValue(*u, ctx);
        if (!uid) return uid.error();
        out.uid = Text(*uid);
    }
    if (const auto* d = response.if_contains("data")) {
        auto stored = iml::RenderValue(*d, ctx);
        if (!stored) return stored.error();
        if (stored->is_object()) out.data = std::move(stored->as_object());
    }
    return out;
}

}  // namespace switchboard::connections

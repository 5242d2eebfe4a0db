#include "request_spec/request_spec.hpp"

#include <boost/json.hpp>

#include "iml/values.hpp"

namespace switchboard::request_spec {

namespace json = boost::json;
using core::Result;

bool Truthy(const json::value& v) {
    // The template language's truthiness, plus the texts "false" and "0": a condition written inside a longer
    // string ("{{a}}{{b}}") renders as text.
    if (v.is_string() && (v.as_string() == "false" || v.as_string() == "0")) return false;
    return iml::Truthy(v);
}

std::string DefaultErrorMessage(int status) {
    if (status == 429) return "Third party API limit likely exceeded";
    if (status >= 500) return "Service is temporarily unavailable.";
    return "Status Code Error: " + std::to_string(status);
}

std::string Text(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    if (v.is_null()) return "";
    return json::serialize(v);
}

namespace {

const json::value& Member(const json::object& o, std::string_view key) {
    static const json::value kNull;
    const auto* v = o.if_contains(key);
    return v ? *v : kNull;
}

core::Error InContext(core::Error e, std::string_view what, std::string_view key) {
    e.detail = std::string(what) + " cannot be rendered: " + std::string(key) + ": " + e.detail;
    return e;
}

}  // namespace

namespace {
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

}  // namespace

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

Result<bool> Condition(const json::object& spec, const iml::Context& ctx) {
    const auto* c = spec.if_contains("condition");
    if (!c) return true;
    const json::value* cond = c;
    if (c->is_object()) cond = c->as_object().if_contains("condition");
    if (!cond) return true;
    auto v = iml::RenderValue(*cond, ctx);
    if (!v) return v.error();
    return Truthy(*v);
}

Result<http_client::Request> Render(const json::object& spec, const iml::Context& ctx, std::string_view what) {
    http_client::Request req;
    auto url = iml::RenderValue(Member(spec, "url"), ctx);
    if (!url) return InContext(url.error(), what, "url");
    req.url = Text(*url);
    if (req.url.empty()) return core::InvalidArgument(std::string(what) + " has an empty url");
    auto method = iml::RenderValue(Member(spec, "method"), ctx);
    if (!method) return InContext(method.error(), what, "method");
    const std::string m = Text(*method);
    req.method = m.empty() ? "GET" : m;
    auto headers = RenderFields(Member(spec, "headers"), ctx, "headers");
    if (!headers) return InContext(headers.error(), what, "headers");
    req.headers = std::move(*headers);
    auto qs = RenderFields(Member(spec, "qs"), ctx, "qs");
    if (!qs) return InContext(qs.error(), what, "qs");
    req.query = std::move(*qs);
    auto body = iml::RenderValue(Member(spec, "body"), ctx);
    if (!body) return InContext(body.error(), what, "body");
    const std::string type = Member(spec, "type").is_string() ? std::string(Member(spec, "type").as_string()) : "json";
    if (!body->is_null()) {
        if (type == "urlencoded") {
            auto f = RenderFields(Member(spec, "body"), ctx, "body");
            if (!f) return InContext(f.error(), what, "body");
            req.body = http_client::FormBody{std::move(*f)};
        } else if (type == "multipart/form-data") {
            auto f = RenderFields(Member(spec, "body"), ctx, "body");
            if (!f) return InContext(f.error(), what, "body");
            req.body = http_client::MultipartBody{std::move(*f), {}};
        } else if (type == "text" || type == "string" || type == "raw" || type == "binary") {
            req.body = http_client::RawBody{Text(*body), type == "binary" ? "application/octet-stream" : "text/plain"};
        } else {
            req.body = http_client::JsonBody{*body};
        }
    }
    req.timeout = std::chrono::seconds(20);
    return req;
}

void AddResponse(json::object& root, const http_client::Response& response) {
    if (auto j = response.Json()) {
        root["body"] = std::move(*j);
    } else {
        root["body"] = json::string(response.body);
    }
    json::object headers;
    for (const auto& [k, v] : response.headers) headers[k] = v;
    root["headers"] = std::move(headers);
    root["statusCode"] = response.status;
}

Result<std::optional<std::string>> Failure(const json::object& spec, int status, const iml::Context& ctx) {
    const json::value& response_spec = Member(spec, "response");
    static const json::object kEmpty;
    const json::object& response = response_spec.is_object() ? response_spec.as_object() : kEmpty;
    bool valid = status < 400;
    std::string valid_message;
    if (const auto* v = response.if_contains("valid")) {
        const json::value* condition = v;
        if (v->is_object()) {
            condition = v->as_object().if_contains("condition");
            if (const auto* m = v->as_object().if_contains("message")) {
                if (auto msg = iml::RenderValue(*m, ctx)) valid_message = Text(*msg);
            }
        }
        if (condition) {
            auto c = iml::RenderValue(*condition, ctx);
            if (!c) return c.error();
            valid = valid && Truthy(*c);
        }
    }
    if (valid) return std::optional<std::string>();
    std::string message;
    const json::value& error_spec = Member(response, "error");
    if (error_spec.is_object()) {
        const json::value* by_status = error_spec.as_object().if_contains(std::to_string(status));
        const json::value& chosen = by_status && by_status->is_object() ? *by_status : error_spec;
        if (const auto* m = chosen.as_object().if_contains("message")) {
            if (auto msg = iml::RenderValue(*m, ctx)) message = Text(*msg);
        }
    }
    if (message.empty()) message = valid_message;
    if (message.empty()) message = DefaultErrorMessage(status >= 400 ? status : 400);
    return std::optional<std::string>(std::move(message));
}

Result<json::value> RenderDirective(const json::object& spec, std::string_view key, const iml::Context& ctx) {
    const json::value& response = Member(spec, "response");
    if (!response.is_object()) return json::value();
    const auto* d = response.as_object().if_contains(key);
    if (!d) return json::value();
    auto v = iml::RenderValue(*d, ctx);
    if (!v) return InContext(v.error(), "response", key);
    return v;
}

Result<std::shared_ptr<http_client::Sanitizer>> MakeSanitizer(std::vector<core::Secret> secrets,
                                                              const json::object& base, const json::object& spec) {
    std::vector<std::string> paths;
    for (const json::object* o : {&base, &spec}) {
        const auto* log = o->if_contains("log");
        const auto* list = log && log->is_object() ? log->as_object().if_contains("sanitize") : nullptr;
        if (!list || !list->is_array()) continue;
        for (const auto& p : list->as_array()) {
            if (p.is_string()) paths.emplace_back(p.as_string());
        }
    }
    auto rules = http_client::SanitizeRules::FromPaths(paths);
    if (!rules) return rules.error();
    return std::make_shared<http_client::Sanitizer>(std::move(secrets), *rules);
}

void CollectSecrets(const json::value& v, std::vector<core::Secret>& out) {
    if (v.is_string()) {
        if (v.as_string().size() >= 4) out.emplace_back(std::string(v.as_string()));
    } else if (v.is_object()) {
        for (const auto& [k, val] : v.as_object()) CollectSecrets(val, out);
    } else if (v.is_array()) {
        for (const auto& val : v.as_array()) CollectSecrets(val, out);
    }
}

}  // namespace switchboard::request_spec

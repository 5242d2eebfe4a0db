// The built-in modules (docs/scenarios.md, "Built-in modules") and the HTTP failure classification.
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>

#include "core/cooperative.hpp"
#include "engine/module.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard::engine {

namespace json = boost::json;

namespace {

std::string TextOf(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? request_spec::Text(*v) : std::string();
}

Failure Bad(std::string message) { return Failure{std::string(errors::kBundleValidation), std::move(message)}; }

// A finite number: "nan" and "inf" (which from_chars accepts) are not numbers here, so range checks hold and no
// conversion to an integer sees them.
std::optional<double> NumberOf(const json::value& v) {
    std::optional<double> out;
    if (v.is_int64()) out = static_cast<double>(v.as_int64());
    if (v.is_uint64()) out = static_cast<double>(v.as_uint64());
    if (v.is_double()) out = v.as_double();
    if (v.is_string()) {
        const auto& s = v.as_string();
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) out = d;
    }
    if (out && !std::isfinite(*out)) return std::nullopt;
    return out;
}

json::value AsBundle(json::value v) {
    if (v.is_object()) return v;
    return json::object{{"value", std::move(v)}};
}

// [{key|name, value}] → (name, value) pairs.
std::vector<std::pair<std::string, std::string>> Pairs(const json::object& params, std::string_view key) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto* v = params.if_contains(key);
    if (!v || !v->is_array()) return out;
    for (const auto& item : v->as_array()) {
        if (!item.is_object()) continue;
        const auto& o = item.as_object();
        const auto* k = o.if_contains("key");
        if (!k) k = o.if_contains("name");
        if (!k || !k->is_string() || k->as_string().empty()) continue;
        out.emplace_back(std::string(k->as_string()), TextOf(o, "value"));
    }
    return out;
}

json::object LogJson(const http_client::LogEntry& e) {
    json::object rh;
    for (const auto& [k, v] : e.request_headers) rh[k] = v;
    json::object o{{"method", e.method},
                   {"url", e.url},
                   {"status", e.status},
                   {"elapsedMs", e.elapsed.count()},
                   {"requestHeaders", std::move(rh)},
                   {"responseBody", e.response_body}};
    if (!e.error.empty()) o["error"] = e.error;
    return o;
}

// The connection's credentials on a request of the http app's types.
std::optional<Failure> InjectHttpCredentials(const connections::ResolvedConnection& c, http_client::Request& req) {
    const auto& p = c.credentials.parameters;
    const auto& type = c.row.type;
    if (type == "http-basic") {
        const std::string pair = TextOf(p, "username") + ":" + TextOf(p, "password");
        static const auto tpl = iml::Template::Parse("{{base64(v)}}");
        json::object root{{"v", pair}};
        iml::Context ctx;
        ctx.root = &root;
        auto encoded = tpl->RenderText(ctx);
        if (!encoded) return Failure{std::string(errors::kRuntime), "could not encode the credentials"};
        req.headers.emplace_back("Authorization", "Basic " + *encoded);
    } else if (type == "http-apikey") {
        const std::string name = TextOf(p, "apiKeyName").empty() ? "X-API-Key" : TextOf(p, "apiKeyName");
        if (TextOf(p, "apiKeyIn") == "query") {
            req.query.emplace_back(name, TextOf(p, "apiKey"));
        } else {
            req.headers.emplace_back(name, TextOf(p, "apiKey"));
        }
    } else if (type == "http-bearer") {
        req.headers.emplace_back("Authorization", "Bearer " + TextOf(p, "token"));
    } else if (type == "http-oauth2") {
        req.headers.emplace_back("Authorization", "Bearer " + TextOf(c.credentials.data, "accessToken"));
    } else {
        return Failure{std::string(errors::kAccountValidation),
                       "http:ActionSendData takes a connection of the HTTP app, not of type " + type};
    }
    return std::nullopt;
}

// Make's HTTP "Make a request": url, method, headers and qs ([{name, value}]), bodyType (raw,
// x_www_form_urlencoded, multipart_form_data), contentType, data, parseResponse, handleErrors (default true).
ModuleOutcome SendData(ModuleCall& call) {
    ModuleOutcome out;
    const auto& p = call.parameters;
    http_client::Request req;
    req.url = TextOf(p, "url");
    if (req.url.empty()) {
        out.failure = Bad("url is required");
        return out;
    }
    req.method = TextOf(p, "method").empty() ? "GET" : TextOf(p, "method");
    std::transform(req.method.begin(), req.method.end(), req.method.begin(), ::toupper);
    for (auto& h : Pairs(p, "headers")) req.headers.push_back(std::move(h));
    for (auto& q : Pairs(p, "qs")) req.query.push_back(std::move(q));
    const std::string body_type = TextOf(p, "bodyType");
    const auto* data = p.if_contains("data");
    if (body_type == "x_www_form_urlencoded") {
        req.body = http_client::FormBody{Pairs(p, "fields")};
    } else if (body_type == "multipart_form_data") {
        req.body = http_client::MultipartBody{Pairs(p, "fields"), {}};
    } else if (data && !data->is_null()) {
        std::string content_type = TextOf(p, "contentType");
        if (data->is_object() || data->is_array()) {
            req.body =
                http_client::RawBody{json::serialize(*data), content_type.empty() ? "application/json" : content_type};
        } else if (std::string text = request_spec::Text(*data); !text.empty()) {
            req.body = http_client::RawBody{text, content_type.empty() ? "text/plain; charset=utf-8" : content_type};
        }
    }
    if (const auto* t = p.if_contains("timeout")) {
        if (auto n = NumberOf(*t); n && *n >= 1 && *n <= 300) {
            req.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*n * 1000));
        }
    }
    if (call.connection) {
        if (auto f = InjectHttpCredentials(*call.connection, req)) {
            out.failure = *f;
            return out;
        }
    }
    if (req.timeout == http_client::kDefaultTimeout) req.timeout = call.env->request_timeout;
    req.sanitizer = call.env->sanitizer;
    req.log_hook = [&out](const http_client::LogEntry& e) { out.requests.push_back(LogJson(e)); };
    auto sent = call.env->http->Send(req);
    if (!sent) {
        out.failure = FailureForTransport(sent.error(), call.env->sanitizer.get());
        return out;
    }
    const auto* handle = p.if_contains("handleErrors");
    const bool errors_are_failures = !handle || request_spec::Truthy(*handle);
    if (errors_are_failures && sent->status >= 400) {
        std::string detail =
            call.env->sanitizer ? call.env->sanitizer->Text(sent->body, 300) : sent->body.substr(0, 300);
        out.refused_credentials = sent->status == 401;
        out.failure = FailureForStatus(sent->status, "[" + std::to_string(sent->status) + "] " + detail,
                                       call.connection != nullptr, &*sent);
        return out;
    }
    json::object headers;
    for (const auto& [k, v] : sent->headers) headers[k] = v;
    json::value body = json::string(sent->body);
    const auto* parse = p.if_contains("parseResponse");
    if ((!parse || request_spec::Truthy(*parse)) && sent->IsJson()) {
        if (auto j = sent->Json()) body = std::move(*j);
    }
    out.bundles.push_back(
        json::object{{"statusCode", sent->status}, {"headers", std::move(headers)}, {"data", std::move(body)}});
    return out;
}

ModuleOutcome Webhook(ModuleCall& call) {
    ModuleOutcome out;
    if (!call.env->trigger_bundle) {
        out.bundles.push_back(json::object{});
    } else if (call.env->trigger_bundle->is_array()) {
        for (const auto& v : call.env->trigger_bundle->as_array()) out.bundles.push_back(AsBundle(v));
    } else {
        out.bundles.push_back(AsBundle(*call.env->trigger_bundle));
    }
    return out;
}

ModuleOutcome Respond(ModuleCall& call) {
    ModuleOutcome out;
    const auto& p = call.parameters;
    int status = 200;
    if (const auto* s = p.if_contains("status"); s && !s->is_null() && !(s->is_string() && s->as_string().empty())) {
        auto n = NumberOf(*s);
        if (!n || *n < 100 || *n > 599 || *n != static_cast<int>(*n)) {
            out.failure = Bad("status must be an HTTP status from 100 to 599");
            return out;
        }
        status = static_cast<int>(*n);
    }
    json::array headers;
    for (auto& [k, v] : Pairs(p, "headers")) headers.push_back(json::array{json::string(k), json::string(v)});
    json::value body = p.contains("body") ? p.at("body") : json::value("");
    out.response = json::object{{"status", status}, {"headers", std::move(headers)}, {"body", std::move(body)}};
    out.bundles.push_back(json::object{});
    return out;
}

ModuleOutcome ParseJson(ModuleCall& call) {
    ModuleOutcome out;
    const auto* v = call.parameters.if_contains("json");
    json::value parsed;
    if (v && v->is_string()) {
        json::error_code ec;
        parsed = json::parse(v->as_string(), ec);
        if (ec) {
            out.failure = Failure{std::string(errors::kData), "the text is not valid JSON: " + ec.message()};
            return out;
        }
    } else if (v && (v->is_object() || v->is_array())) {
        parsed = *v;
    } else {
        out.failure = Bad("json must be a JSON text");
        return out;
    }
    if (parsed.is_array()) {
        for (auto& item : parsed.as_array()) out.bundles.push_back(AsBundle(std::move(item)));
    } else {
        out.bundles.push_back(AsBundle(std::move(parsed)));
    }
    return out;
}

ModuleOutcome CreateJson(ModuleCall& call) {
    ModuleOutcome out;
    json::value data = call.mapped.is_null() ? json::value(json::object{}) : call.mapped;
    out.bundles.push_back(json::object{{"json", json::serialize(data)}});
    return out;
}

ModuleOutcome SetVariable(ModuleCall& call) {
    ModuleOutcome out;
    const std::string name = TextOf(call.parameters, "name");
    if (name.empty()) {
        out.failure = Bad("name is required");
        return out;
    }
    const auto* v = call.parameters.if_contains("value");
    out.bundles.push_back(json::object{{name, v ? *v : json::value(nullptr)}});
    return out;
}

ModuleOutcome Sleep(ModuleCall& call) {
    ModuleOutcome out;
    const auto* d = call.parameters.if_contains("duration");
    auto seconds = d ? NumberOf(*d) : std::nullopt;
    if (!seconds || *seconds < 0 || *seconds > 300) {
        out.failure = Bad("duration must be a number of seconds from 0 to 300");
        return out;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(*seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
        if (call.env->cancelled && call.env->cancelled()) {
            out.failure = Failure{std::string(errors::kRuntime), "the server is stopping"};
            return out;
        }
        core::SleepFor(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50),
                                                                     until - std::chrono::steady_clock::now()));
    }
    out.bundles.push_back(json::object{});
    return out;
}

// builtin:BasicFeeder: one bundle per item of mapper.array, with Make's __IMTINDEX__ (1-based) and __IMTLENGTH__.
ModuleOutcome Feeder(ModuleCall& call) {
    ModuleOutcome out;
    const auto* a = call.parameters.if_contains("array");
    if (!a || a->is_null()) return out;
    if (!a->is_array()) {
        out.failure = Bad("array must be an array");
        return out;
    }
    const auto& items = a->as_array();
    std::int64_t i = 0;
    for (const auto& item : items) {
        json::object b = item.is_object() ? item.as_object() : json::object{{"value", item}};
        b["__IMTINDEX__"] = ++i;
        b["__IMTLENGTH__"] = static_cast<std::int64_t>(items.size());
        out.bundles.push_back(std::move(b));
    }
    return out;
}

}  // namespace

bool IsDirective(std::string_view module) {
    return module == "builtin:Ignore" || module == "builtin:Resume" || module == "builtin:Break" ||
           module == "builtin:Rollback" || module == "builtin:Commit";
}

Failure FailureForStatus(int status, std::string message, bool with_connection, const http_client::Response* response) {
    Failure f;
    f.message = message.empty() ? request_spec::DefaultErrorMessage(status) : std::move(message);
    if ((status == 401 || status == 403) && with_connection) {
        f.type = errors::kAccountValidation;
    } else if (status == 429) {
        f.type = errors::kRateLimit;
    } else if (status >= 500) {
        f.type = errors::kConnection;
    } else if (status == 400 || status == 404 || status == 422) {
        f.type = errors::kData;
    } else {
        f.type = errors::kRuntime;
    }
    // Retry-After comes with 429 and with 503 (RFC 9110); a retried answer of either is honoured.
    if (response && (status == 429 || status >= 500)) {
        if (auto ra = response->HeaderValue("retry-after")) {
            // Delay-seconds from an untrusted upstream: capped before it becomes milliseconds, so a huge value (or
            // one past int64) means "much later" instead of overflowing into a short wait.
            constexpr std::int64_t kMaxSeconds = 10LL * 365 * 24 * 3600;
            std::int64_t seconds = 0;
            auto [p, ec] = std::from_chars(ra->data(), ra->data() + ra->size(), seconds);
            if (ec == std::errc::result_out_of_range && !ra->empty() && ra->front() != '-') seconds = kMaxSeconds;
            if ((ec == std::errc() || ec == std::errc::result_out_of_range) && seconds >= 0) {
                f.retry_after_ms = std::min(seconds, kMaxSeconds) * 1000;
            }
        }
    }
    return f;
}

Failure FailureForTransport(const core::Error& e, const http_client::Sanitizer* sanitizer) {
    std::string detail = e.detail.empty() ? e.message : e.detail;
    if (sanitizer) detail = sanitizer->Text(detail, 1000);
    if (e.code == core::Errc::kInvalidArgument) return Failure{std::string(errors::kBundleValidation), detail};
    if (e.code == core::Errc::kPermissionDenied) return Failure{std::string(errors::kInvalidConfiguration), detail};
    // Both transports name a call that ran out of time the same way (http_client::kTimedOut).
    return Failure{std::string(http_client::IsTimedOut(e) ? errors::kModuleTimeout : errors::kConnection), detail};
}

ModuleRegistry ModuleRegistry::WithBuiltins() {
    using catalog::ModuleType;
    ModuleRegistry r;
    r.Add({std::string(kWebhook), ModuleType::kInstant, "", {}, Webhook});
    r.Add({std::string(kWebhookRespond), ModuleType::kAction, "", {}, Respond});
    r.Add({"http:ActionSendData", ModuleType::kAction, "http", {}, SendData});
    r.Add({"json:ParseJSON", ModuleType::kAction, "", {}, ParseJson});
    r.Add({"json:CreateJSON", ModuleType::kAction, "", {}, CreateJson});
    r.Add({"util:SetVariable2", ModuleType::kAction, "", {}, SetVariable});
    r.Add({"util:FunctionSleep", ModuleType::kAction, "", {}, Sleep});
    r.Add({std::string(kFeeder), ModuleType::kAction, "", {}, Feeder});
    // Flow control: the runner does the work; registered so that blueprints using them are known.
    auto none = [](ModuleCall&) { return ModuleOutcome{}; };
    for (const char* name : {"builtin:BasicRouter", "builtin:BasicAggregator", "builtin:Ignore", "builtin:Resume",
                             "builtin:Break", "builtin:Rollback", "builtin:Commit"}) {
        r.Add({name, ModuleType::kAction, "", {}, none});
    }
    return r;
}

void ModuleRegistry::Add(NativeModule m) {
    std::string name = m.name;
    modules_[name] = std::move(m);
}

const NativeModule* ModuleRegistry::Find(std::string_view name) const {
    auto it = modules_.find(name);
    return it == modules_.end() ? nullptr : &it->second;
}

}  // namespace switchboard::engine

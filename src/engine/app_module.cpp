#include "engine/app_module.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

#include "iml/template.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard::engine {

namespace json = boost::json;

namespace {

const json::object kEmpty;

const json::object& ObjectAt(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_object() ? v->as_object() : kEmpty;
}

json::object LogJson(const http_client::LogEntry& e) {
    json::object o;
    o["method"] = e.method;
    o["url"] = e.url;
    o["status"] = e.status;
    o["elapsedMs"] = e.elapsed.count();
    json::object rh;
    for (const auto& [k, v] : e.request_headers) rh[k] = v;
    o["requestHeaders"] = std::move(rh);
    if (!e.request_body.empty()) o["requestBody"] = e.request_body;
    o["responseBody"] = e.response_body;
    if (!e.error.empty()) o["error"] = e.error;
    return o;
}

iml::Context MakeContext(const ModuleCall& call, const json::object& root) {
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = call.env->clock;
    ctx.random = call.env->random;
    ctx.timezone = call.env->timezone;
    return ctx;
}

std::string Clean(const ModuleCall& call, std::string_view text) {
    return call.env->sanitizer ? call.env->sanitizer->Text(text, 1000) : std::string(text);
}

// The app's error type for a status (response.error.<status>.type, else response.error.type); "" when none.
std::string DeclaredErrorType(const json::object& spec, int status) {
    const json::object& error = ObjectAt(ObjectAt(spec, "response"), "error");
    if (const auto* per = error.if_contains(std::to_string(status)); per && per->is_object()) {
        if (const auto* t = per->as_object().if_contains("type"); t && t->is_string())
            return std::string(t->as_string());
    }
    if (const auto* t = error.if_contains("type"); t && t->is_string()) return std::string(t->as_string());
    return "";
}

// Sends a rendered request, recording it; on transport failure fills outcome.failure and returns nullopt.
std::optional<http_client::Response> Send(ModuleCall& call, http_client::Request req, ModuleOutcome& out) {
    req.sanitizer = call.env->sanitizer;
    req.timeout = call.env->request_timeout;
    req.log_hook = [&out](const http_client::LogEntry& e) { out.requests.push_back(LogJson(e)); };
    auto sent = call.env->http->Send(req);
    if (!sent) {
        out.failure = FailureForTransport(sent.error(), call.env->sanitizer.get());
        return std::nullopt;
    }
    return std::move(*sent);
}

// Classifies a response the spec says is invalid.
Failure ResponseFailure(const ModuleCall& call, const json::object& spec, const http_client::Response& response,
                        const std::string& message) {
    const int status = response.status;
    const bool with_connection = call.connection != nullptr;
    // With the response, so that a 429/503's Retry-After is honoured.
    Failure f = FailureForStatus(status, Clean(call, message), with_connection, &response);
    // 401/403 always mean the connection is not accepted; otherwise the app's declared type wins.
    if (!(with_connection && (status == 401 || status == 403))) {
        std::string declared = DeclaredErrorType(spec, status);
        if (!declared.empty() && declared != "InvalidAccessTokenError") f.type = declared;
        if (declared == "InvalidAccessTokenError" && with_connection) f.type = errors::kAccountValidation;
    }
    return f;
}

std::optional<std::int64_t> Millis(const json::value& v, const core::Clock* clock) {
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.as_uint64());
    if (v.is_double()) return static_cast<std::int64_t>(v.as_double());
    if (!v.is_string()) return std::nullopt;
    static const auto tpl = iml::Template::Parse("{{formatDate(d; \"x\")}}");
    json::object root{{"d", v}};
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = clock;
    auto r = tpl->RenderText(ctx);
    if (!r) return std::nullopt;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(r->data(), r->data() + r->size(), n);
    if (ec != std::errc() || p != r->data() + r->size()) return std::nullopt;
    return n;
}

std::optional<double> Number(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.as_int64());
    if (v.is_uint64()) return static_cast<double>(v.as_uint64());
    if (v.is_double()) return v.as_double();
    if (v.is_string() && !v.as_string().empty()) {
        const auto& s = v.as_string();
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && p == s.data() + s.size()) return d;
    }
    return std::nullopt;
}

}  // namespace

int CompareCursorValues(const json::value& a, const json::value& b, bool dates) {
    if (dates) {
        auto x = Millis(a, nullptr), y = Millis(b, nullptr);
        if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
    }
    auto x = Number(a), y = Number(b);
    if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
    const std::string s = request_spec::Text(a), t = request_spec::Text(b);
    if (s.size() != t.size()) return s.size() < t.size() ? -1 : 1;
    return s.compare(t) < 0 ? -1 : (s == t ? 0 : 1);
}

json::object RequestRoot(const ModuleCall& call) {
    json::object root;
    root["parameters"] = call.parameters;
    json::object connection;
    if (call.connection) {
        connection = call.connection->credentials.parameters;
        for (const auto& [k, v] : call.connection->credentials.data) connection[k] = v;
        root["common"] = call.connection->type->common;
        root["data"] = call.connection->credentials.data;
    }
    root["connection"] = std::move(connection);
    root["temp"] = json::object{};
    return root;
}

ModuleOutcome RunAppModule(ModuleCall& call) {
    ModuleOutcome out;
    const catalog::Module& def = *call.definition;
    if (!def.communication.is_object()) {
        out.failure = Failure{std::string(errors::kInvalidConfiguration),
                              "module " + def.app + ":" + def.name + " has no request to send"};
        return out;
    }
    const json::object& spec = def.communication.as_object();
    json::object root = RequestRoot(call);
    iml::Context ctx = MakeContext(call, root);
    const std::string what = "the request of " + def.app + ":" + def.name;
    auto bad_mapping = [&](const core::Error& e) {
        out.failure = Failure{std::string(errors::kBundleValidation),
                              Clean(call, what + ": " + (e.detail.empty() ? e.message : e.detail))};
        return out;
    };

    auto applies = request_spec::Condition(spec, ctx);
    if (!applies) return bad_mapping(applies.error());
    if (!*applies) return out;
    auto req = request_spec::Render(spec, ctx, what);
    if (!req) return bad_mapping(req.error());
    auto sent = Send(call, std::move(*req), out);
    if (!sent) return out;
    request_spec::AddResponse(root, *sent);
    ctx = MakeContext(call, root);
    auto failure = request_spec::Failure(spec, sent->status, ctx);
    if (!failure) return bad_mapping(failure.error());
    if (*failure) {
        out.refused_credentials = sent->status == 401;
        out.failure = ResponseFailure(call, spec, *sent, **failure);
        return out;
    }

    const json::object& response = ObjectAt(spec, "response");
    std::vector<json::value> items;
    bool iterated = false;
    if (const auto* iterate = response.if_contains("iterate")) {
        iterated = true;
        const json::value* container = iterate;
        const json::value* condition = nullptr;
        if (iterate->is_object()) {
            container = iterate->as_object().if_contains("container");
            condition = iterate->as_object().if_contains("condition");
        }
        json::value list = nullptr;
        if (container) {
            auto r = iml::RenderValue(*container, ctx);
            if (!r) return bad_mapping(r.error());
            list = std::move(*r);
        }
        if (list.is_array()) {
            for (auto& item : list.as_array()) {
                if (condition) {
                    root["item"] = item;
                    ctx = MakeContext(call, root);
                    auto keep = iml::RenderValue(*condition, ctx);
                    if (!keep) return bad_mapping(keep.error());
                    if (!request_spec::Truthy(*keep)) continue;
                }
                items.push_back(std::move(item));
            }
        } else if (!list.is_null()) {
            items.push_back(std::move(list));
        }
    }

    // Polling trigger: keep the items after the cursor, oldest first, at most `limit`.
    const json::value* trigger = response.if_contains("trigger");
    if (def.type == catalog::ModuleType::kTrigger && trigger && trigger->is_object()) {
        const json::object& t = trigger->as_object();
        const bool by_date = t.contains("type") && t.at("type").is_string() && t.at("type").as_string() == "date";
        const json::value* key_spec = t.if_contains(by_date ? "date" : "id");
        if (!key_spec) key_spec = t.if_contains("id");
        if (!iterated) items = {root["body"]};
        std::vector<std::pair<json::value, json::value>> keyed;  // (key, item)
        for (auto& item : items) {
            root["item"] = item;
            ctx = MakeContext(call, root);
            json::value key =
                item.is_object() && item.as_object().contains("id") ? item.as_object().at("id") : json::value(nullptr);
            if (key_spec) {
                auto k = iml::RenderValue(*key_spec, ctx);
                if (!k) return bad_mapping(k.error());
                key = std::move(*k);
            }
            if (key.is_null()) continue;
            keyed.emplace_back(std::move(key), std::move(item));
        }
        std::optional<json::value> last;
        if (call.cursor) {
            json::error_code ec;
            json::value c = json::parse(*call.cursor, ec);
            if (!ec && c.is_object() && c.as_object().contains("last")) last = c.as_object().at("last");
        }
        std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
            return CompareCursorValues(a.first, b.first, by_date) < 0;
        });
        std::int64_t limit = 0;
        if (const auto* l = call.parameters.if_contains("limit")) {
            if (auto n = Number(*l); n && *n >= 1) limit = static_cast<std::int64_t>(*n);
        }
        items.clear();
        std::optional<json::value> newest = last;
        for (auto& [key, item] : keyed) {
            if (last && CompareCursorValues(key, *last, by_date) <= 0) continue;
            if (limit > 0 && static_cast<std::int64_t>(items.size()) >= limit) break;
            newest = key;
            items.push_back(std::move(item));
        }
        if (newest) {
            out.cursor = json::serialize(json::object{{"type", by_date ? "date" : "id"}, {"last", *newest}});
        }
        iterated = true;
    }

    const json::value* output = response.if_contains("output");
    auto produce = [&](const json::value* item) -> bool {
        if (item) root["item"] = *item;
        ctx = MakeContext(call, root);
        json::value bundle = item ? *item : root["body"];
        if (output) {
            auto r = iml::RenderValue(*output, ctx);
            if (!r) {
                bad_mapping(r.error());
                return false;
            }
            bundle = std::move(*r);
        }
        if (!bundle.is_object()) bundle = json::object{{"value", std::move(bundle)}};
        out.bundles.push_back(std::move(bundle));
        return true;
    };
    if (iterated) {
        for (const auto& item : items) {
            if (!produce(&item)) return out;
        }
    } else {
        produce(nullptr);
    }
    return out;
}

ModuleOutcome RunApiCall(ModuleCall& call, const catalog::App& app) {
    ModuleOutcome out;
    auto text = [&](std::string_view key) -> std::string {
        const auto* v = call.parameters.if_contains(key);
        return v ? request_spec::Text(*v) : std::string();
    };
    const json::value* base_url = app.base.if_contains("baseUrl");
    if (!base_url || !base_url->is_string() || base_url->as_string().empty()) {
        out.failure = Failure{std::string(errors::kInvalidConfiguration), "app " + app.name + " has no base URL"};
        return out;
    }
    std::string path = text("url");
    if (path.empty() || path[0] != '/') {
        out.failure = Failure{std::string(errors::kBundleValidation),
                              "url must be a path under " + std::string(base_url->as_string()) + ", starting with /"};
        return out;
    }
    json::object root = RequestRoot(call);
    iml::Context ctx = MakeContext(call, root);
    http_client::Request req;
    auto base_url_text = iml::RenderValue(*base_url, ctx);
    if (!base_url_text) {
        out.failure = Failure{std::string(errors::kInvalidConfiguration), Clean(call, base_url_text.error().detail)};
        return out;
    }
    req.url = request_spec::Text(*base_url_text) + path;
    req.method = text("method").empty() ? "GET" : text("method");
    std::transform(req.method.begin(), req.method.end(), req.method.begin(), ::toupper);
    // The app's base headers and query carry the credentials (templates of the app, never of the user's data).
    for (const char* key : {"headers", "qs"}) {
        if (const auto* spec = app.base.if_contains(key)) {
            auto fields = request_spec::RenderFields(*spec, ctx, std::string("the base ") + key + " of " + app.name);
            if (!fields) {
                out.failure = Failure{std::string(errors::kInvalidConfiguration), Clean(call, fields.error().detail)};
                return out;
            }
            if (std::string_view(key) == "headers") {
                req.headers.insert(req.headers.end(), fields->begin(), fields->end());
            } else {
                req.query = std::move(*fields);
            }
        }
    }
    auto pairs = [&](std::string_view key, auto& target, bool replace_same_name) {
        const auto* v = call.parameters.if_contains(key);
        if (!v || !v->is_array()) return;
        for (const auto& item : v->as_array()) {
            if (!item.is_object()) continue;
            const auto* k = item.as_object().if_contains("key");
            if (!k) k = item.as_object().if_contains("name");
            const auto* val = item.as_object().if_contains("value");
            if (!k || !k->is_string() || k->as_string().empty()) continue;
            std::string name(k->as_string());
            if (replace_same_name) {
                std::erase_if(target, [&](const auto& p) { return http_client::HeaderNameEquals(p.first, name); });
            }
            target.emplace_back(name, val ? request_spec::Text(*val) : "");
        }
    };
    pairs("headers", req.headers, true);
    pairs("qs", req.query, false);
    if (const auto* body = call.parameters.if_contains("body"); body && !body->is_null()) {
        if (body->is_object() || body->is_array()) {
            req.body = http_client::JsonBody{*body};
        } else if (std::string b = request_spec::Text(*body); !b.empty()) {
            json::error_code ec;
            (void)json::parse(b, ec);
            req.body = http_client::RawBody{b, ec ? "text/plain; charset=utf-8" : "application/json"};
        }
    }
    auto sent = Send(call, std::move(req), out);
    if (!sent) return out;
    request_spec::AddResponse(root, *sent);
    ctx = MakeContext(call, root);
    json::object spec;
    if (const auto* r = app.base.if_contains("response")) spec["response"] = *r;
    auto failure = request_spec::Failure(spec, sent->status, ctx);
    if (!failure) {
        out.failure = Failure{std::string(errors::kInvalidConfiguration), Clean(call, failure.error().detail)};
        return out;
    }
    if (*failure) {
        out.refused_credentials = sent->status == 401;
        out.failure = ResponseFailure(call, spec, *sent, **failure);
        return out;
    }
    out.bundles.push_back(
        json::object{{"statusCode", root["statusCode"]}, {"headers", root["headers"]}, {"body", root["body"]}});
    return out;
}

}  // namespace switchboard::engine

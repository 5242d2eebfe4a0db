#include "api/request_util.hpp"

#include <boost/json.hpp>
#include <charconv>

namespace switchboard::api {

namespace json = boost::json;

core::Result<json::object> ParseJsonObject(const http_server::Request& req) {
    if (req.body.empty()) return core::InvalidArgument("the request needs a JSON object body");
    json::error_code ec;
    json::parse_options opts;
    opts.max_depth = 64;
    json::value v = json::parse(req.body, ec, {}, opts);
    if (ec) return core::InvalidArgument("Invalid JSON body: " + ec.message());
    if (!v.is_object()) return core::InvalidArgument("the JSON body must be an object");
    return std::move(v.as_object());
}

core::Result<std::int64_t> ParseId(std::string_view text, std::string_view name) {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0) {
        return core::InvalidArgument(std::string(name) + " must be a positive integer");
    }
    return v;
}

core::Result<std::int64_t> PathId(const http_server::Request& req, const std::string& name) {
    auto it = req.path_params.find(name);
    if (it == req.path_params.end()) return core::InvalidArgument(name + " is missing");
    return ParseId(it->second, name);
}

core::Result<std::int64_t> QueryId(const http_server::Request& req, std::string_view name) {
    auto v = req.Query(name);
    if (!v) return core::InvalidArgument("query parameter " + std::string(name) + " is required");
    return ParseId(*v, name);
}

core::Result<std::string> StringField(const json::object& body, std::string_view name, bool required) {
    const json::value* v = body.if_contains(name);
    if (!v || v->is_null()) {
        if (required) return core::InvalidArgument("field '" + std::string(name) + "' is required");
        return std::string();
    }
    if (!v->is_string()) return core::InvalidArgument("field '" + std::string(name) + "' must be a string");
    return std::string(v->as_string());
}

http_server::Response JsonResponse(int status, const json::value& body) {
    return http_server::Response::Json(status, json::serialize(body));
}

core::Result<int> IntQuery(const http_server::Request& req, std::string_view key, int fallback, int lo, int hi) {
    auto v = req.Query(key);
    if (!v) return fallback;
    int n = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || ptr != v->data() + v->size() || n < lo || n > hi) {
        return core::InvalidArgument(std::string(key) + " must be an integer from " + std::to_string(lo) + " to " +
                                     std::to_string(hi));
    }
    return n;
}

}  // namespace switchboard::api

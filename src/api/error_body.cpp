#include "api/error_body.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace switchboard::api {

int HttpStatusFor(core::Errc code) {
    switch (code) {
        case core::Errc::kInvalidArgument:
            return 400;
        case core::Errc::kUnauthenticated:
            return 401;
        case core::Errc::kPermissionDenied:
            return 403;
        case core::Errc::kNotFound:
            return 404;
        case core::Errc::kMethodNotAllowed:
            return 405;
        case core::Errc::kConflict:
            return 409;
        case core::Errc::kPayloadTooLarge:
            return 413;
        case core::Errc::kUpstreamError:
            return 502;
        case core::Errc::kUnavailable:
            return 503;
        case core::Errc::kInternal:
            return 500;
    }
    return 500;
}

http_server::Response ErrorResponse(const core::Error& error) {
    const int status = HttpStatusFor(error.code);
    boost::json::object body;
    body["message"] = error.message;
    if (error.code == core::Errc::kInternal) {
        // Internals (SQL states, parse failures) go to the operator's log, not to the client.
        spdlog::error("internal error: {}: {}", error.message, error.detail);
        body["detail"] = "an internal error occurred; the server log has the details";
    } else {
        body["detail"] = error.detail.empty() ? error.message : error.detail;
    }
    body["code"] = "SC" + std::to_string(status);
    boost::json::array subs;
    for (const auto& s : error.suberrors) subs.push_back(boost::json::object{{"message", s}});
    body["suberrors"] = std::move(subs);
    http_server::Response r = http_server::Response::Json(status, boost::json::serialize(body));
    if (status == 401) r.headers.emplace_back("www-authenticate", "Token");
    return r;
}

}  // namespace switchboard::api

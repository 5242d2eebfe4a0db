#pragma once
// Transport-neutral request/response: handlers and the API layer never see Beast types.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::http_server {

// Header names are stored lower-case.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;                                      // "GET", "POST", …
    std::string target;                                      // raw request target ("/api/v2/teams?x=1")
    std::string path;                                        // decoded path without the query ("/api/v2/teams")
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order; "a[]" keys kept verbatim
    Headers headers;
    std::string body;
    std::string remote_address;
    std::map<std::string, std::string> path_params;  // filled by the router ("{id}" → value)
    std::string route;  // the matched route pattern ("/api/v2/teams/{id}"), "" when none matched

    std::optional<std::string_view> Header(std::string_view lower_name) const;
    std::optional<std::string_view> Query(std::string_view key) const;  // first value
    std::vector<std::string_view> QueryAll(std::string_view key) const;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    Headers headers;  // extra headers
    std::string body;

    static Response Json(int status, std::string body) {
        return Response{status, "application/json", {}, std::move(body)};
    }
    static Response Text(int status, std::string body) {
        return Response{status, "text/plain; charset=utf-8", {}, std::move(body)};
    }
};

}  // namespace switchboard::http_server

#pragma once
// The values an outbound HTTP call is made of: Request (what the caller asks for), Response (what came back,
// whatever the status) and LogEntry (the sanitised record of one call that logs and executions keep).
// All of them are plain values; they own their bytes. Nothing here talks to the network.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace switchboard::http_client {

// Header (name, value) pairs in order. Response headers have lower-case names; a repeated header (Set-Cookie)
// keeps one entry per occurrence.
using Headers = std::vector<std::pair<std::string, std::string>>;
// (name, value) pairs of a query string or a form; values are plain text, the client encodes them.
using Fields = std::vector<std::pair<std::string, std::string>>;

struct NoBody {};
// Sent as application/json unless the request sets its own Content-Type (e.g. application/vnd.api+json).
struct JsonBody {
    boost::json::value value;
};
// Sent as application/x-www-form-urlencoded.
struct FormBody {
    Fields fields;
};
struct FilePart {
    std::string name;          // form field name
    std::string filename;      // sent in Content-Disposition
    std::string content_type;  // empty = application/octet-stream
    std::string data;          // the file's bytes
};
// Sent as multipart/form-data with a generated boundary (any Content-Type the request sets is ignored).
struct MultipartBody {
    Fields fields;
    std::vector<FilePart> files;
};
// Bytes sent as they are, with their content type (empty = application/octet-stream).
struct RawBody {
    std::string data;
    std::string content_type;
};
using Body = std::variant<NoBody, JsonBody, FormBody, MultipartBody, RawBody>;

inline constexpr std::chrono::milliseconds kDefaultTimeout{30'000};
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{10'000};
inline constexpr int kDefaultMaxRedirects = 5;
inline constexpr std::size_t kDefaultMaxResponseBytes = 10 * 1024 * 1024;

class Sanitizer;
struct LogEntry;
// Receives the sanitised record of every call made with the request (one per Send, after the last hop).
using LogHook = std::function<void(const LogEntry&)>;

struct Request {
    std::string method = "GET";  // any RFC 9110 token; HEAD never carries a body
    std::string url;             // absolute http(s) URL; no user:password@ part
    Headers headers;             // Host, Content-Length, Transfer-Encoding, Connection, Expect and
                                 // Accept-Encoding are managed by the client and dropped if given
    Fields query;                // appended to the URL's own query, percent-encoded
    Body body;
    // Total deadline for the whole call, redirects included; and the cap on each TCP/TLS connect.
    std::chrono::milliseconds timeout = kDefaultTimeout;
    std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
    bool follow_redirects = true;
    int max_redirects = kDefaultMaxRedirects;  // more hops than this is an error
    // Cap on the decoded body of each response; a bigger one fails the call (kUpstreamError).
    std::size_t max_response_bytes = kDefaultMaxResponseBytes;
    // Masks secrets in the log entry and in error messages; null = the built-in rules only.
    std::shared_ptr<const Sanitizer> sanitizer;
    LogHook log_hook;  // optional
};

struct Response {
    int status = 0;
    Headers headers;   // lower-case names, in the order received, repeats kept
    std::string body;  // decoded (gzip/deflate removed)
    std::string url;   // the URL that produced this response, after redirects
    int redirects = 0;
    std::chrono::milliseconds elapsed{0};  // the whole call, redirects included

    // First value of a header; name is matched case-insensitively.
    std::optional<std::string_view> HeaderValue(std::string_view name) const;
    std::vector<std::string_view> HeaderValues(std::string_view name) const;
    // The Content-Type's media type, lower-case, without parameters ("" if absent).
    std::string MediaType() const;
    // application/json or any application/*+json.
    bool IsJson() const;
    // kUpstreamError when the response is not JSON (by its content type) or does not parse.
    core::Result<boost::json::value> Json() const;
};

// The record of one call, already sanitised: safe to log, store and show. Bodies are cut to the
// sanitizer's limit; *_bytes are the real sizes.
struct LogEntry {
    std::string method;
    std::string url;        // as requested (with the query parameters)
    std::string final_url;  // after redirects; empty when there was no response
    Headers request_headers;
    std::string request_body;
    std::size_t request_bytes = 0;
    int status = 0;  // 0 when the call failed before a response
    Headers response_headers;
    std::string response_body;
    std::size_t response_bytes = 0;
    int redirects = 0;
    std::chrono::milliseconds elapsed{0};
    std::string error;  // the transport error, empty when a response came back

    // One line: "POST https://host/path?key=[redacted] -> 201 (348 bytes) in 41 ms".
    std::string Summary() const;
};

// True for header names equal ignoring ASCII case.
bool HeaderNameEquals(std::string_view a, std::string_view b);
// Whether headers has one named name (ignoring ASCII case).
bool HasHeader(const Headers& headers, std::string_view name);

// kUpstreamError with its message and detail: what a failed call returns (http_client.hpp lists when).
core::Error UpstreamError(std::string message, std::string detail = {});
// The message of every call that ran out of its time (the deadline or the connect timeout), whatever the transport.
inline constexpr std::string_view kTimedOut = "request timed out";
bool IsTimedOut(const core::Error& error);
std::string ToLower(std::string_view text);

}  // namespace switchboard::http_client

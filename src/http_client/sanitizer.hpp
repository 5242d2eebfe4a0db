#pragma once
// Sanitizer: turns an outbound call into something safe to log and store. Two mechanisms, both always on:
//
// 1. Rules by name. Header values, query parameter values and body fields named by the rules are replaced by
//    "[redacted]". Built-in rules cover the usual credential carriers (Authorization, Cookie, X-Api-Key,
//    access_token, client_secret, password, …); an app definition adds its own with `log.sanitize` paths:
//      request.headers.<name>   response.headers.<name>   request.qs.<name> (or request.query.<name>)
//      request.body[.<key>.<key>…]   response.body[.<key>…]
//    A body path walks JSON object keys from the root (arrays are walked element by element); a one-key path
//    also names a field of a form or multipart body; "request.body" alone hides the whole body.
// 2. Known values. Every occurrence of every secret the sanitizer was built with (a connection's credentials)
//    is replaced wherever it appears (URL path, any header, any body, error messages), also in its
//    percent-encoded, form-encoded, JSON-escaped, base64 and base64url forms, including base64 at any byte
//    alignment (so "user:<secret>" inside a Basic header is found too).
// Bodies are cut to a few KB *after* redaction, and a cut never leaves a prefix of a secret behind.
//
// The secret-derived patterns are held as core::Secret (wiped on destruction). A Sanitizer is immutable and
// safe to share between threads.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "http_client/message.hpp"

namespace switchboard::http_client {

struct SanitizeRules {
    std::vector<std::string> request_headers;             // lower-case names
    std::vector<std::string> response_headers;            // lower-case names
    std::vector<std::string> query_keys;                  // matched ignoring case
    std::vector<std::vector<std::string>> request_body;   // key paths; {} = the whole body
    std::vector<std::vector<std::string>> response_body;  // key paths; {} = the whole body

    // Parses an app definition's `log.sanitize` list. kInvalidArgument naming the first entry that is not one
    // of the forms above.
    static core::Result<SanitizeRules> FromPaths(const std::vector<std::string>& paths);
};

class Sanitizer {
  public:
    static constexpr std::string_view kRedacted = "[redacted]";
    static constexpr std::size_t kDefaultMaxBodyBytes = 4096;
    static constexpr std::size_t kMaxHeaderValueBytes = 1024;

    // The built-in rules only, no known secret values.
    Sanitizer();
    explicit Sanitizer(std::vector<core::Secret> secrets, SanitizeRules rules = {},
                       std::size_t max_body_bytes = kDefaultMaxBodyBytes);

    // Every known secret (in any of its encoded forms) replaced by kRedacted.
    std::string Text(std::string_view text) const;
    // The same, then cut to about max_bytes (whole redactions are kept) with a "…[N more bytes]" marker.
    std::string Text(std::string_view text, std::size_t max_bytes) const;
    bool ContainsSecret(std::string_view text) const;

    // The URL without fragment, user:password@ and the values of sensitive query parameters, then Text().
    std::string Url(std::string_view url) const;
    // True for names the rules (built-in or request.headers.*) mask; such headers are also the ones dropped
    // when a redirect leaves the origin.
    bool IsSensitiveRequestHeader(std::string_view name) const;
    Headers RequestHeaders(const Headers& headers) const;
    Headers ResponseHeaders(const Headers& headers) const;
    std::string RequestBody(const Body& body) const;
    std::string ResponseBody(std::string_view media_type, std::string_view body) const;

    // The whole record of one call: outcome is what HttpClient::Send returned.
    LogEntry Describe(const Request& request, const core::Result<Response>& outcome,
                      std::chrono::milliseconds elapsed) const;

  private:
    using Span = std::pair<std::size_t, std::size_t>;  // [begin, end)
    std::vector<Span> FindSecrets(std::string_view text) const;
    bool IsSensitiveKey(std::string_view key) const;
    bool IsSensitiveQueryKey(std::string_view key) const;
    std::string MaskForm(std::string_view encoded, const std::vector<std::vector<std::string>>& paths) const;
    std::string MaskJson(std::string_view json, const std::vector<std::vector<std::string>>& paths) const;

    std::vector<core::Secret> patterns_;
    std::size_t longest_pattern_ = 0;
    SanitizeRules rules_;
    std::size_t max_body_bytes_ = kDefaultMaxBodyBytes;
};

}  // namespace switchboard::http_client

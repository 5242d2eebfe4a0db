#pragma once
// HttpClient: the seam through which every outbound HTTP call leaves Switchboard (connection verification,
// OAuth token exchange, module requests). The implementation is CurlHttpClient (curl_http_client.hpp); tests
// of upper layers run it against a real local server.
#include "core/error.hpp"
#include "http_client/message.hpp"

namespace switchboard::http_client {

class HttpClient {
  public:
    virtual ~HttpClient() = default;

    // Makes the call and blocks until the response is complete or the request's deadline passes. Safe to call
    // from many threads at once. Every HTTP status (4xx and 5xx included) is a Response; errors are only:
    //   kInvalidArgument   the request itself is malformed (URL, scheme, method, header, option values);
    //                      nothing was sent
    //   kPermissionDenied  the target address is refused by the SSRF policy (private, loopback, link-local …)
    //   kUpstreamError     DNS, connect, TLS, timeout, response too large, bad or too many redirects
    // Error messages never contain a secret: URLs and texts in them pass through the request's sanitizer.
    virtual core::Result<Response> Send(const Request& request) = 0;
};

}  // namespace switchboard::http_client

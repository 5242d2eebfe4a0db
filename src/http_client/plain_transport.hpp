#pragma once
// PlainTransport: one plain-http (no TLS) HTTP/1.1 exchange on a kept-alive connection, for CurlHttpClient's
// http:// hops without a multipart body. Everything else (https, multipart) goes through libcurl. It exists
// for speed: a call on a kept-alive connection costs a few thousand instructions and three system calls
// (send, poll, recv) instead of libcurl's ≈ 100,000 instructions and its poll loop (docs/performance.md).
//
// It keeps the client's policy (docs/http-client.md): the SSRF policy checks every resolved address before the
// connect; the whole exchange is bounded by the deadline and each connect by the connect timeout; headers and
// the decoded body are capped; gzip and deflate bodies are decoded; errors never repeat a secret (their texts
// come from the caller's sanitised `where`). Redirects are the caller's business, as with libcurl.
//
// Connections: idle sockets are kept per host and port up to max_idle; one that the server has
// closed meanwhile is detected before reuse (readable while idle), and a request that fails on a reused
// connection before any response byte arrived is retried once on a new one, as libcurl does.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "http_client/message.hpp"

namespace switchboard::http_client {

class SsrfPolicy;

struct PlainExchange {
    std::string method;
    std::string url;  // absolute http:// URL, already validated (BuildUrl)
    // Sent as given, after the Host header; the caller has removed the managed ones. An empty value is sent as
    // "Name:" (an empty header).
    const Headers* headers = nullptr;
    const std::string* body = nullptr;  // null: no body (POST, PUT and PATCH still send Content-Length: 0)
    std::string content_type;           // added when there is a body and headers have no Content-Type
    std::string user_agent;             // added unless headers have a User-Agent
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds connect_timeout{0};
    std::chrono::milliseconds timeout{0};  // the request's timeout, for the error text
    std::size_t max_response_bytes = 0;
    std::size_t max_header_bytes = 0;
    std::string where;  // "METHOD url", sanitised: the prefix of error details
};

struct PlainResult {
    int status = 0;
    Headers headers;   // lower-case names, in order, repeats kept
    std::string body;  // decoded
};

class PlainTransport {
  public:
    PlainTransport(const SsrfPolicy& policy, std::size_t max_idle);
    ~PlainTransport();  // closes the idle connections; no call may be in flight
    PlainTransport(const PlainTransport&) = delete;
    PlainTransport& operator=(const PlainTransport&) = delete;

    // kPermissionDenied when every address of the host is refused by the SSRF policy (the text is the
    // policy's reason and `where`, unsanitised: the caller sanitises it); kUpstreamError for DNS, connect,
    // timeout, a malformed or too large response; kInvalidArgument when the URL cannot be used.
    core::Result<PlainResult> Exchange(const PlainExchange& exchange);

    // Idle connections currently kept (tests).
    std::size_t idle_connections() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http_client

#pragma once
// CurlHttpClient: HttpClient on libcurl's easy interface, with plain http:// hops (no multipart body) sent
// through PlainTransport (plain_transport.hpp) unless builtin_plain_http is off. Each Send() runs one blocking
// transfer on the calling thread (callers are worker threads, never I/O threads).
//
// Connections: easy handles are pooled and each keeps its open connections, so consecutive calls to the same
// origin reuse one TCP (and TLS) connection. A handle is preferably handed to a call for the origin it last
// talked to. The DNS cache and TLS sessions are shared between handles through a curl_share; the connection
// cache is not (libcurl does not support sharing it between concurrent threads).
//
// Policy (see docs/http-client.md): http and https only; TLS peer and host verification always on against the
// system CA bundle; no proxy from the environment; gzip/deflate decoded; redirects followed by this class (not
// by libcurl) so that each hop is checked: never https -> http, credentials dropped when the origin changes,
// the SSRF policy applied to every socket (CURLOPT_OPENSOCKETFUNCTION sees the resolved address, so DNS
// rebinding cannot slip a private address past a check made on the name).
//
// Every call is logged at debug level (spdlog default logger) as a sanitised summary, with headers and bodies at
// trace level, and handed to the request's log_hook.
#include <cstddef>
#include <memory>
#include <string>

#include "http_client/http_client.hpp"

namespace switchboard::http_client {

struct CurlHttpClientOptions {
    // Lets requests reach loopback, private, link-local, CGNAT … addresses (the operator's
    // --allow-private-network). Off: such targets fail with kPermissionDenied before any byte is sent.
    bool allow_private_network = false;
    // Sent unless a request sets its own User-Agent header; empty = DefaultUserAgent().
    std::string user_agent;
    // Idle easy handles (with their open connections) kept for reuse.
    std::size_t max_idle_handles = 16;
    // http:// hops without a multipart body go through PlainTransport (plain_transport.hpp), a lighter
    // HTTP/1.1 client with the same policy; false sends them through libcurl like the rest.
    bool builtin_plain_http = true;
    // Idle plain-http connections kept for reuse, all origins together.
    std::size_t max_idle_plain_connections = 64;
};

class CurlHttpClient final : public HttpClient {
  public:
    // Throws std::runtime_error when libcurl cannot be initialised (out of memory): nothing can work then.
    explicit CurlHttpClient(CurlHttpClientOptions options = {});
    // No call may be in flight.
    ~CurlHttpClient() override;
    CurlHttpClient(const CurlHttpClient&) = delete;
    CurlHttpClient& operator=(const CurlHttpClient&) = delete;

    // See HttpClient::Send. The request's log_hook, if any, is called on this thread before returning; an
    // exception it throws reaches the caller.
    core::Result<Response> Send(const Request& request) override;

    // "Switchboard/<version>".
    static std::string DefaultUserAgent();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http_client

#pragma once
// The inbound HTTP/1.1 server: Boost.Beast on Asio with C++20 coroutines, a pool of I/O threads, and two
// worker pools on which (blocking) handlers run, one for the API and one for scenario runs (Pool). Beast/Asio stay
// inside server.cpp (pimpl).
//
// Limits: body size (413 with the error body), header read timeout, idle keep-alive timeout, max header size.
// Shutdown: Stop() stops accepting, lets in-flight requests finish (up to drain_timeout), then closes.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "http_server/message.hpp"
#include "http_server/router.hpp"

namespace switchboard::http_server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // 0 = pick a free port (tests)
    int io_threads = 2;
    // Handlers block (a write waits for its group commit to reach the disk, a webhook run for its API calls), so
    // these are how many requests are served at once: worker_threads for the API and the UI (Pool::kApi),
    // run_threads for scenario runs (Pool::kRun, the webhooks). Requests beyond them wait for a free thread. The
    // run pool's size is a throughput trade-off measured with `make bench` (docs/performance.md): more threads
    // wait for more third-party calls at once, but on two cores 32 cost more in context switches than they won.
    int worker_threads = 16;
    int run_threads = 16;
    std::size_t body_limit = 1 << 20;      // bytes
    std::size_t header_limit = 16 * 1024;  // bytes
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds drain_timeout{20'000};
};

// Builds the body for an error the server produces itself (404, 405, 413, 400 on a malformed request, 500 on
// an exception). Installed by the API layer so every error carries Make's error body.
using ErrorResponder = std::function<Response(const core::Error&)>;

// Called once per finished request (metrics, access log). route is the matched pattern or "".
struct RequestRecord {
    std::string method;
    std::string route;
    std::string path;
    int status = 0;
    std::size_t response_bytes = 0;
    double seconds = 0;
    std::string remote_address;
};
using RequestObserver = std::function<void(const RequestRecord&)>;

class Server {
  public:
    // on_error is required (std::invalid_argument otherwise); observer may be empty.
    Server(ServerOptions options, Router router, ErrorResponder on_error, RequestObserver observer);
    ~Server();

    // Binds and starts the threads. kUnavailable with the OS message when the address cannot be bound.
    core::Result<void> Start();
    // The bound port (useful with port 0).
    std::uint16_t port() const;
    // Graceful: stop accepting, finish in-flight requests, close idle connections. Idempotent.
    void Stop();
    // Blocks until SIGINT/SIGTERM arrives (then calls Stop()) or Stop() is called from elsewhere. Signals are
    // caught only once Start() has succeeded. Stop() called from a handler only begins the shutdown (a handler
    // cannot wait for itself); this call, or the owner's Stop(), completes it.
    void WaitForShutdownSignal();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http_server

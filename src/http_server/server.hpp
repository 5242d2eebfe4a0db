#pragma once
// The inbound HTTP/1.1 server: Boost.Beast on Asio with C++20 coroutines, I/O threads (each with its own event
// loop; a connection stays on one), and two worker pools on which (blocking) handlers run, one for the API and one
// for scenario runs (Pool), or scenario runs as fibers on the I/O threads (ServerOptions::cooperative_runs).
// Beast/Asio stay inside server.cpp (pimpl).
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
    // Pool::kRun handlers run as fibers on the I/O threads instead (core/cooperative.hpp): a wait for a socket, a
    // group commit or a sleep suspends the fiber and its thread serves other connections, with no hand-off to a
    // pool and back. Blocking work the handler offloads (core::RunBlocking: libcurl, name lookups, a lock held
    // across I/O) runs on the run_threads. Only for handlers whose other blocking calls are short (the webhook
    // runs on SQLite: a PostgreSQL round trip would stall every fiber of its thread).
    bool cooperative_runs = false;
    // Each fiber's stack, with a guard page below it. Memory is used only as deep as a fiber has gone (stacks are
    // reused): 1 MiB leaves room for recursion over data nested 1000 deep (what the store accepts).
    std::size_t fiber_stack_bytes = 1024 * 1024;
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

// The only translation unit that includes Beast/Asio: the rest of the module (and its users) stay cheap to build.
//
// Shape (after the Boost 1.81 Beast awaitable examples): one acceptor coroutine, one coroutine per connection
// taking its tcp_stream by value, a timeout before every read, a body and header limit on every parser. Each I/O
// thread runs its own io_context (a "loop"); the acceptor hands connections to the loops in turn, and a
// connection's coroutine never leaves its loop. Handlers block (database), so they run on a thread_pool (one per
// Pool) and the connection coroutine co_awaits their result; with cooperative_runs, Pool::kRun handlers run as
// fibers (Boost.Context) on the connection's loop instead, and their waits (core/cooperative.hpp) suspend the
// fiber: FiberTask below.
//
// Timeouts: header_timeout bounds the first request of a connection from accept until its header is read, and
// then the body read; idle_timeout bounds the wait for the next request on a kept-alive connection and every
// response write (a client that does not read its response is dropped).
//
// Query strings are decoded per RFC 3986 only: "%20" is a space, '+' stays '+' (no form-encoding), so a
// client must send "%2B" or "%20" explicitly; both decode unambiguously.
#include "http_server/server.hpp"

#include "core/cooperative.hpp"

#include <poll.h>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#if defined(BOOST_USE_UCONTEXT)
// Under AddressSanitizer the fibers switch with ucontext (CMakeLists.txt). Boost.Context's library defines the
// per-thread "current fiber" of its ucontext variant only when it is built for ucontext, and Debian builds it for
// fcontext: this is that definition (after Boost.Context's src/fiber.cpp, Boost Software License 1.0).
namespace boost::context::detail {
namespace {
struct ThreadContextRecord {
    fiber_activation_record* record = new fiber_activation_record();  // the thread's own context
    ~ThreadContextRecord() { delete record; }
};
}  // namespace

fiber_activation_record*& fiber_activation_record::current() noexcept {
    thread_local ThreadContextRecord thread_record;
    thread_local fiber_activation_record* current_record = thread_record.record;
    return current_record;
}
}  // namespace boost::context::detail
#endif

namespace switchboard::http_server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;

namespace {

// I/O completes as (error_code, …) tuples: expected network failures are values, not exceptions.
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 4096;
// After an error response that closes the connection, the unread rest of the request is drained (bounded) so
// that closing does not reset the connection before the client has read the response.
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr std::chrono::milliseconds kAcceptBackoff{50};

// Which server's I/O or worker thread this is: Stop() called from there must not wait for itself.
thread_local const void* tls_server = nullptr;

// What to do with the connection after a request.
enum class After {
    kKeepAlive,  // read the next request
    kClose,      // response sent with "Connection: close"
    kLinger,     // error response sent; the request was not fully read
    kDrop,       // the connection failed (closed by the peer, timed out, cancelled)
};

void LogException(std::string_view where, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("http server: exception in {}: {}", where, ex.what());
    } catch (...) {
        spdlog::error("http server: non-standard exception in {}", where);
    }
}

std::string ToLower(std::string_view in) {
    std::string out(in);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// ASCII only, whatever the locale.
bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool IsTokenChar(char c) { return IsAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos; }

// Handler-supplied headers must not be able to split the response or override its framing.
bool IsSafeExtraHeader(std::string_view name, std::string_view value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) return false;
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return false;
    const std::string lower = ToLower(name);
    return lower != "content-length" && lower != "transfer-encoding" && lower != "connection" && lower != "server";
}

bool IsHttpParseError(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::short_read;
}

std::string_view PathOfTarget(std::string_view target) { return target.substr(0, target.find('?')); }

// Clients send characters RFC 3986 does not allow unencoded ("ids[]=1", "a|b", raw UTF-8). Encoding them before
// parsing changes nothing once decoded, and keeps the strict parser for what matters (a '%' must start a valid
// escape, the target must be origin-form).
std::string EncodeStrayCharacters(std::string_view target) {
    static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/?%";
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(target.size());
    for (const char c : target) {
        const auto byte = static_cast<unsigned char>(c);
        if (IsAlnum(c) || kAllowed.find(c) != std::string_view::npos) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0xF]);
        }
    }
    return out;
}

struct SessionState {
    explicit SessionState(asio::any_io_executor ex) : executor(std::move(ex)) {}
    const asio::any_io_executor executor;  // the connection's loop; the fields below are only used on it
    beast::tcp_stream* stream = nullptr;   // null once the connection coroutine has ended
    bool idle = true;                      // no request in progress: Stop() closes it right away
};

// Fiber stacks, reused: one pool per loop, used on its thread only.
class StackPool {
  public:
    explicit StackPool(std::size_t bytes) : allocator_(bytes) {}
    ~StackPool() {
        for (auto& stack : free_) allocator_.deallocate(stack);
    }
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;

    boost::context::stack_context Take() {
        if (free_.empty()) return allocator_.allocate();
        const boost::context::stack_context stack = free_.back();
        free_.pop_back();
        return stack;
    }
    void Give(boost::context::stack_context& stack) {
        if (free_.size() < kMaxFree) {
            free_.push_back(stack);
        } else {
            allocator_.deallocate(stack);
        }
    }

  private:
    static constexpr std::size_t kMaxFree = 256;
    boost::context::protected_fixedsize_stack allocator_;
    std::vector<boost::context::stack_context> free_;
};

// Boost.Context's StackAllocator over a StackPool.
struct PooledStack {
    StackPool* pool;
    boost::context::stack_context allocate() { return pool->Take(); }
    void deallocate(boost::context::stack_context& stack) noexcept { pool->Give(stack); }
};

// One event loop: an io_context run by one I/O thread.
struct Loop {
    explicit Loop(std::size_t stack_bytes) : stacks(stack_bytes) {}
    StackPool stacks;  // declared first: outlives the io_context and the fibers its handlers may still hold
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
};

// The loop this I/O thread runs (a connection's coroutine runs on its loop's thread only).
thread_local Loop* tls_loop = nullptr;

// A handler running as a fiber on a loop: the core::Scheduler its waits use. Created and stepped on the loop's
// thread only; Resume (from any thread) posts a step there. It deletes itself once the handler has returned, after
// handing the response to `done` (also on the loop). A fiber still suspended when the server is torn down after
// its drain timeout is left as is: unlike a handler on a pool, which Stop() waits for, it cannot finish once its
// loop has stopped (its stack and what it holds are not freed; the process is normally exiting then).
class FiberTask final : public core::Scheduler {
  public:
    using Done = std::function<void(Response)>;

    FiberTask(Loop& loop, asio::thread_pool& blocking, std::function<Response()> body, Done done)
        : loop_(loop), blocking_(blocking), body_(std::move(body)), done_(std::move(done)) {
        fiber_ =
            boost::context::fiber(std::allocator_arg, PooledStack{&loop_.stacks}, [this](boost::context::fiber&& back) {
                back_ = std::move(back);
                response_ = body_();
                return std::move(back_);  // resuming the loop with this ends the fiber: fiber_ becomes empty
            });
    }

    // Runs the fiber until it waits or ends (on the loop's thread).
    void Step() {
        {
            core::SchedulerScope scope(this);
            fiber_ = std::move(fiber_).resume();
        }
        if (fiber_) return;  // suspended in a wait; an ended fiber leaves no continuation
        Done done = std::move(done_);
        Response response = std::move(response_);
        delete this;
        done(std::move(response));
    }

    int WaitFd(int fd, short events, std::chrono::milliseconds timeout) override {
        asio::posix::stream_descriptor descriptor(loop_.ioc, fd);
        asio::steady_timer timer(loop_.ioc, timeout);
        int result = -1;
        const auto type = (events & POLLOUT) != 0 ? asio::posix::descriptor_base::wait_write
                                                  : asio::posix::descriptor_base::wait_read;
        descriptor.async_wait(type, [this, &result](const beast::error_code& ec) {
            result = !ec ? 1 : (ec == asio::error::operation_aborted ? 0 : -1);
            Step();
        });
        // At the deadline the wait is cancelled. The timer's completion may already be queued when the descriptor
        // wakes the fiber (both ready in one pass), and then runs after this frame is gone: it finds `waiting` null.
        auto waiting = std::make_shared<asio::posix::stream_descriptor*>(&descriptor);
        timer.async_wait([waiting](const beast::error_code& ec) {
            if (!ec && *waiting != nullptr) (*waiting)->cancel();
        });
        Yield();
        *waiting = nullptr;
        timer.cancel();
        descriptor.release();  // the descriptor is the caller's: deregistered, not closed
        return result;
    }

    void Sleep(std::chrono::steady_clock::duration d) override {
        asio::steady_timer timer(loop_.ioc, d);
        timer.async_wait([this](const beast::error_code&) { Step(); });
        Yield();
    }

    void Offload(const std::function<void()>& fn) override {
        std::mutex mutex;
        bool finished = false;
        std::exception_ptr error;
        core::Wakeup wake;  // made in this fiber: Wait suspends it, Notify (from the pool) resumes it
        asio::post(blocking_, [&] {
            try {
                fn();
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard lock(mutex);
            finished = true;
            wake.Notify();
        });
        std::unique_lock lock(mutex);
        wake.Wait(lock, [&] { return finished; });
        lock.unlock();
        if (error) std::rethrow_exception(error);
    }

    void Suspend(std::unique_lock<std::mutex>& lock, void*& handle) override {
        handle = this;
        // A Resume from now on posts a step to this loop, which runs only once this fiber has switched away.
        lock.unlock();
        Yield();
        lock.lock();
    }

    void Resume(void* handle) override {
        auto* task = static_cast<FiberTask*>(handle);
        asio::post(task->loop_.ioc, [task] { task->Step(); });
    }

  private:
    // Back to the loop; returns when a completion steps this fiber again.
    void Yield() { back_ = std::move(back_).resume(); }

    Loop& loop_;
    asio::thread_pool& blocking_;
    std::function<Response()> body_;
    Done done_;
    Response response_;
    boost::context::fiber fiber_;  // the fiber, while it is suspended; empty once it has ended
    boost::context::fiber back_;   // the loop, while the fiber runs
};

}  // namespace

struct Server::Impl {
    Impl(ServerOptions opts, Router r, ErrorResponder error_responder, RequestObserver request_observer)
        : options(std::move(opts)),
          router(std::move(r)),
          on_error(std::move(error_responder)),
          observer(std::move(request_observer)) {
        options.io_threads = std::max(options.io_threads, 1);
        options.worker_threads = std::max(options.worker_threads, 1);
        options.run_threads = std::max(options.run_threads, 1);
    }

    // Everything that exists only between Start() and Stop(). Members are destroyed in reverse order: the
    // io_context last, which destroys the frames of connections still suspended after the drain timeout.
    struct Runtime {
        Runtime(int io_threads, int worker_threads, int run_threads, std::size_t stack_bytes)
            : loops(MakeLoops(io_threads, stack_bytes)),
              workers(static_cast<std::size_t>(worker_threads)),
              runners(static_cast<std::size_t>(run_threads)),
              acceptor(loops.front()->ioc) {}
        static std::vector<std::unique_ptr<Loop>> MakeLoops(int n, std::size_t stack_bytes) {
            std::vector<std::unique_ptr<Loop>> out;
            for (int i = 0; i < n; ++i) out.push_back(std::make_unique<Loop>(stack_bytes));
            return out;
        }
        std::vector<std::unique_ptr<Loop>> loops;  // one per I/O thread
        asio::thread_pool workers;                 // Pool::kApi
        asio::thread_pool runners;                 // Pool::kRun, and what fibers offload
        tcp::acceptor acceptor;                    // on the first loop
        std::optional<asio::signal_set> signals;
        std::vector<std::thread> threads;
        std::size_t next_loop = 0;  // the loop of the next connection (used by the acceptor only)
    };

    // Registers a connection for the lifetime of its coroutine (a parameter of it, so it is released even when
    // the coroutine is destroyed before it ever ran).
    class SessionTicket {
      public:
        SessionTicket(Impl& impl, std::shared_ptr<SessionState> state) : impl_(&impl), state_(std::move(state)) {
            std::lock_guard lock(impl_->mutex);
            impl_->sessions.insert(state_);
        }
        SessionTicket(SessionTicket&& other) noexcept
            : impl_(std::exchange(other.impl_, nullptr)), state_(std::move(other.state_)) {}
        SessionTicket& operator=(SessionTicket&&) = delete;
        ~SessionTicket() {
            if (!impl_) return;
            state_->stream = nullptr;
            {
                std::lock_guard lock(impl_->mutex);
                impl_->sessions.erase(state_);
            }
            impl_->changed.notify_all();
        }
        SessionState& state() const { return *state_; }

      private:
        Impl* impl_;
        std::shared_ptr<SessionState> state_;
    };

    core::Result<void> Start();
    void RequestStop();
    void Stop();
    void WaitForShutdownSignal();

    void RunIoThread(Loop& loop);
    asio::awaitable<void> Listen();
    asio::awaitable<void> Session(beast::tcp_stream stream, SessionTicket ticket);
    asio::awaitable<After> ServeOne(beast::tcp_stream& stream, beast::flat_buffer& buffer, const std::string& remote);
    asio::awaitable<Response> RunHandler(const Handler& handler, Pool pool, Request& request);
    asio::awaitable<Response> RunFiber(const Handler& handler, Request& request);
    Response InvokeHandler(const Handler& handler, Request& request);
    asio::awaitable<std::optional<std::size_t>> Write(beast::tcp_stream& stream, unsigned version, bool keep_alive,
                                                      Response response);
    asio::awaitable<void> LingeringClose(beast::tcp_stream& stream);
    Response ErrorResponse(const core::Error& error);
    void Observe(const RequestRecord& record);

    ServerOptions options;
    const Router router;
    const ErrorResponder on_error;
    const RequestObserver observer;

    std::atomic<bool> shutting_down{false};
    std::atomic<std::uint16_t> bound_port{0};

    std::mutex lifecycle_mutex;  // serialises Start / Stop / signal setup; held while Stop() drains
    std::unique_ptr<Runtime> runtime;

    std::mutex mutex;  // guards the fields below
    std::condition_variable changed;
    enum class Phase { kNew, kRunning, kStopped } phase = Phase::kNew;
    bool stop_requested = false;
    std::set<std::shared_ptr<SessionState>> sessions;
};

core::Result<void> Server::Impl::Start() {
    std::lock_guard lifecycle(lifecycle_mutex);
    {
        std::lock_guard lock(mutex);
        if (phase != Phase::kNew) return core::Unavailable("the server was already started (it cannot be restarted)");
    }
    const std::string where = options.host + ":" + std::to_string(options.port);
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(options.host, ec);
    if (ec) {
        return core::Error::Make(core::Errc::kUnavailable, "Cannot listen",
                                 "invalid listen address " + options.host + ": " + ec.message());
    }
    auto rt = std::make_unique<Runtime>(options.io_threads, options.worker_threads, options.run_threads,
                                        options.fiber_stack_bytes);
    const tcp::endpoint endpoint(address, options.port);
    rt->acceptor.open(endpoint.protocol(), ec);
    if (!ec) rt->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) rt->acceptor.bind(endpoint, ec);
    if (!ec) rt->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return core::Error::Make(core::Errc::kUnavailable, "Cannot listen", where + ": " + ec.message());
    const tcp::endpoint local = rt->acceptor.local_endpoint(ec);
    if (ec) return core::Error::Make(core::Errc::kUnavailable, "Cannot listen", where + ": " + ec.message());
    bound_port = local.port();

    runtime = std::move(rt);
    asio::co_spawn(runtime->acceptor.get_executor(), Listen(),
                   [](std::exception_ptr e) { LogException("the acceptor", e); });
    for (auto& loop : runtime->loops) runtime->threads.emplace_back([this, &loop] { RunIoThread(*loop); });
    {
        std::lock_guard lock(mutex);
        phase = Phase::kRunning;
    }
    spdlog::info("http server listening on {} port {}", options.host, bound_port.load());
    return {};
}

void Server::Impl::RunIoThread(Loop& loop) {
    tls_server = this;
    tls_loop = &loop;
    for (;;) {
        try {
            loop.ioc.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("http server: exception escaped to an I/O thread: {}", e.what());
        }
    }
}

// The non-blocking half of Stop(): safe from any thread, including the server's own.
void Server::Impl::RequestStop() {
    shutting_down = true;
    {
        std::lock_guard lock(mutex);
        stop_requested = true;
    }
    changed.notify_all();
    if (runtime) {
        asio::post(runtime->acceptor.get_executor(), [this] {
            beast::error_code ec;
            runtime->acceptor.close(ec);
        });
    }
}

void Server::Impl::Stop() {
    if (tls_server == this) {
        // From a handler or an I/O thread, waiting for the drain would wait for ourselves: only begin the shutdown.
        // The owner's Stop() (or WaitForShutdownSignal(), which wakes up now) completes it.
        RequestStop();
        return;
    }
    std::lock_guard lifecycle(lifecycle_mutex);
    RequestStop();
    if (!runtime) {
        std::lock_guard lock(mutex);
        phase = Phase::kStopped;
        changed.notify_all();
        return;
    }

    // 1. No new connections: once this returns, connects are refused.
    std::promise<void> acceptor_closed;
    asio::post(runtime->acceptor.get_executor(), [this, &acceptor_closed] {
        beast::error_code ec;
        runtime->acceptor.close(ec);
        acceptor_closed.set_value();
    });
    acceptor_closed.get_future().wait();

    // 2. Close the connections that wait for a request; busy ones close after their response (shutting_down).
    {
        std::vector<std::shared_ptr<SessionState>> open;  // holds strands: must be gone before the io_context
        {
            std::lock_guard lock(mutex);
            open.assign(sessions.begin(), sessions.end());
        }
        for (auto& state : open) {
            asio::post(state->executor, [state] {
                if (state->stream && state->idle) state->stream->cancel();
            });
        }
    }

    // 3. Drain.
    {
        std::unique_lock lock(mutex);
        if (!changed.wait_for(lock, options.drain_timeout, [this] { return sessions.empty(); })) {
            spdlog::warn("http server: {} connection(s) still busy after the drain timeout; closing them",
                         sessions.size());
        }
    }

    // 4. Stop the threads. Handlers still running (drain timeout) are waited for: they cannot be interrupted.
    for (auto& loop : runtime->loops) {
        loop->work.reset();
        loop->ioc.stop();
    }
    for (auto& thread : runtime->threads) thread.join();
    runtime->workers.join();
    runtime->runners.join();
    {
        // Connections cut off by the drain timeout are still listed; their states hold strands of the io_context.
        // Their frames (destroyed with the io_context below) deregister harmlessly.
        std::lock_guard lock(mutex);
        sessions.clear();
    }
    runtime.reset();
    {
        std::lock_guard lock(mutex);
        phase = Phase::kStopped;
    }
    changed.notify_all();
    spdlog::info("http server stopped");
}

void Server::Impl::WaitForShutdownSignal() {
    {
        std::lock_guard lifecycle(lifecycle_mutex);
        if (runtime && !runtime->signals) {
            runtime->signals.emplace(runtime->loops.front()->ioc, SIGINT, SIGTERM);
            runtime->signals->async_wait([this](const beast::error_code& ec, int signal_number) {
                if (ec) return;
                spdlog::info("http server: signal {} received, shutting down", signal_number);
                RequestStop();
            });
        }
    }
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [this] { return stop_requested || phase == Phase::kStopped; });
    }
    Stop();
}

asio::awaitable<void> Server::Impl::Listen() {
    tcp::acceptor& acceptor = runtime->acceptor;
    for (;;) {
        // One thread runs each loop: the connection's executor needs no strand.
        Loop& loop = *runtime->loops[runtime->next_loop++ % runtime->loops.size()];
        asio::any_io_executor executor = loop.ioc.get_executor();
        auto [ec, socket] = co_await acceptor.async_accept(executor, kAwait);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            // Out of descriptors or an aborted handshake: keep serving, without spinning on a persistent error.
            spdlog::warn("http server: accept failed: {}", ec.message());
            asio::steady_timer pause(co_await asio::this_coro::executor, kAcceptBackoff);
            co_await pause.async_wait(kAwait);
            continue;
        }
        SessionTicket ticket(*this, std::make_shared<SessionState>(executor));
        asio::co_spawn(executor, Session(beast::tcp_stream(std::move(socket)), std::move(ticket)),
                       [](std::exception_ptr e) { LogException("a connection", e); });
    }
}

asio::awaitable<void> Server::Impl::Session(beast::tcp_stream stream, SessionTicket ticket) {
    SessionState& state = ticket.state();
    state.stream = &stream;
    beast::error_code ec;
    stream.socket().set_option(tcp::no_delay(true), ec);
    const tcp::endpoint peer = stream.socket().remote_endpoint(ec);
    const std::string remote = ec ? std::string() : peer.address().to_string();

    beast::flat_buffer buffer;
    bool first = true;
    After after = After::kDrop;
    for (;;) {
        state.idle = true;
        // Checked on the strand right before the read starts: a Stop() that set the flag later finds this
        // connection idle and cancels the read.
        if (shutting_down) break;
        stream.expires_after(first ? options.header_timeout : options.idle_timeout);
        if (buffer.size() == 0) {
            auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kAwait);
            if (read_ec) break;  // closed by the peer, timed out, or cancelled by Stop()
            buffer.commit(n);
        }
        state.idle = false;  // a request has begun: it is answered even during shutdown
        if (!first) stream.expires_after(options.header_timeout);
        first = false;
        after = co_await ServeOne(stream, buffer, remote);
        if (after != After::kKeepAlive) break;
    }
    state.idle = true;
    if (after == After::kClose) {
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else if (after == After::kLinger) {
        co_await LingeringClose(stream);
    }
}

asio::awaitable<After> Server::Impl::ServeOne(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                              const std::string& remote) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(options.body_limit);

    auto [ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, kAwait);
    const auto started = std::chrono::steady_clock::now();
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> proceed{http::status::continue_, parser.get().version()};
        auto [write_ec, n] = co_await http::async_write(stream, proceed, kAwait);
        if (write_ec) co_return After::kDrop;
    }
    if (!ec) {
        stream.expires_after(options.header_timeout);
        auto [body_ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
        ec = body_ec;
    }

    RequestRecord record;
    record.remote_address = remote;
    if (ec) {
        if (!IsHttpParseError(ec)) co_return After::kDrop;  // nothing to answer: the connection is gone
        // A Content-Length over the limit fails while finishing the header, after the request line was parsed.
        if (parser.is_header_done() || ec == http::error::body_limit) {
            record.method = std::string(parser.get().method_string());
            record.path = std::string(PathOfTarget(parser.get().target()));
        }
        Response response;
        if (ec == http::error::body_limit) {
            response = ErrorResponse(
                core::Error::Make(core::Errc::kPayloadTooLarge, "Payload too large",
                                  "the request body exceeds " + std::to_string(options.body_limit) + " bytes"));
        } else if (ec == http::error::header_limit) {
            response = ErrorResponse(
                core::InvalidArgument("the request header exceeds " + std::to_string(options.header_limit) + " bytes"));
        } else {
            response = ErrorResponse(core::InvalidArgument("malformed HTTP request: " + ec.message()));
        }
        record.status = response.status;
        const auto bytes = co_await Write(stream, 11, false, std::move(response));
        if (!bytes) co_return After::kDrop;
        record.response_bytes = *bytes;
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        Observe(record);
        co_return After::kLinger;
    }

    auto& message = parser.get();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.remote_address = remote;
    record.method = request.method;
    record.path = std::string(PathOfTarget(request.target));

    Response response;
    bool target_ok = false;
    const std::string normalized_target = EncodeStrayCharacters(request.target);
    if (auto url = urls::parse_origin_form(normalized_target)) {
        target_ok = true;
        request.path = url->path();
        record.path = request.path;
        for (const urls::param& param : url->params(urls::encoding_opts(false, false, false))) {
            request.query.emplace_back(param.key, param.value);
        }
        for (const auto& field : message) {
            request.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
        }
        request.body = std::move(message.body());

        const Router::Match match = router.Find(request);
        record.route = request.route;
        if (match.handler) {
            response = co_await RunHandler(*match.handler, match.pool, request);
        } else if (match.path_exists) {
            std::string allow;
            for (const std::string& method : match.allowed) allow += (allow.empty() ? "" : ", ") + method;
            response = ErrorResponse(core::Error::Make(core::Errc::kMethodNotAllowed, "Method not allowed",
                                                       request.method + " is not allowed here; allowed: " + allow));
            response.status = 405;  // also when a responder maps the code differently
            response.headers.emplace_back("allow", allow);
        } else {
            response = ErrorResponse(core::NotFound("no route for " + request.method + " " + request.path));
        }
    } else {
        response = ErrorResponse(core::InvalidArgument("malformed request target"));
    }

    // A request with a bad target was read completely, so the connection is still in sync, but a client that
    // sends one is confused: close it like any other malformed request.
    const bool keep = keep_alive && target_ok && !shutting_down;
    record.status = response.status;
    const auto bytes = co_await Write(stream, version, keep, std::move(response));
    if (!bytes) co_return After::kDrop;
    record.response_bytes = *bytes;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Observe(record);
    co_return keep ? After::kKeepAlive : After::kClose;
}

asio::awaitable<Response> Server::Impl::RunHandler(const Handler& handler, Pool pool, Request& request) {
    if (pool == Pool::kRun && options.cooperative_runs) co_return co_await RunFiber(handler, request);
    // The connection coroutine is suspended until the worker is done, so the references stay valid.
    co_return co_await asio::co_spawn(
        (pool == Pool::kRun ? runtime->runners : runtime->workers).get_executor(),
        [this, &handler, &request]() -> asio::awaitable<Response> { co_return InvokeHandler(handler, request); },
        asio::use_awaitable);
}

asio::awaitable<Response> Server::Impl::RunFiber(const Handler& handler, Request& request) {
    // On the connection's loop (its coroutine's executor). The connection coroutine is suspended until the fiber
    // has ended, so the references stay valid.
    Loop* loop = tls_loop;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Response)>(
        [this, loop, &handler, &request](auto completion) {
            auto shared = std::make_shared<decltype(completion)>(std::move(completion));
            auto* task = new FiberTask(
                *loop, runtime->runners, [this, &handler, &request] { return InvokeHandler(handler, request); },
                [shared](Response response) { (*shared)(std::move(response)); });
            // Started from the loop's queue, not from inside the initiation.
            asio::post(loop->ioc, [task] { task->Step(); });
        },
        asio::use_awaitable);
}

Response Server::Impl::InvokeHandler(const Handler& handler, Request& request) {
    tls_server = this;
    try {
        return handler(request);
    } catch (const std::exception& e) {
        // The body (and header values) may hold secrets: log what identifies the request, never its content.
        spdlog::error("http server: handler for {} {} threw: {}", request.method, request.route, e.what());
    } catch (...) {
        spdlog::error("http server: handler for {} {} threw a non-standard exception", request.method, request.route);
    }
    return ErrorResponse(core::Internal("the request handler failed"));
}

asio::awaitable<std::optional<std::size_t>> Server::Impl::Write(beast::tcp_stream& stream, unsigned version,
                                                                bool keep_alive, Response response) {
    if (response.status < 200 || response.status > 599) {
        spdlog::error("http server: invalid response status {}; sending 500", response.status);
        response = ErrorResponse(core::Internal("invalid response status"));
        if (response.status < 200 || response.status > 599) response.status = 500;
    }
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(response.status));
    res.set(http::field::server, "switchboard");
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) {
        if (IsSafeExtraHeader(name, value)) {
            res.insert(name, value);
        } else {
            spdlog::error("http server: dropped unsafe response header '{}'", name);
        }
    }
    const bool bodiless = response.status == 204 || response.status == 304;
    if (bodiless && !response.body.empty()) {
        spdlog::warn("http server: dropped the body of a {} response", response.status);
    }
    if (!bodiless) res.body() = std::move(response.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();

    stream.expires_after(options.idle_timeout);
    auto [ec, bytes] = co_await http::async_write(stream, res, kAwait);
    if (ec) co_return std::nullopt;
    co_return bytes;
}

asio::awaitable<void> Server::Impl::LingeringClose(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::min<std::chrono::milliseconds>(options.header_timeout, kLingerTime));
    std::array<char, kReadChunk> sink;
    std::size_t drained = 0;
    while (drained < kLingerBytes) {
        auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), kAwait);
        if (read_ec) break;
        drained += n;
    }
}

Response Server::Impl::ErrorResponse(const core::Error& error) {
    try {
        return on_error(error);
    } catch (const std::exception& e) {
        spdlog::error("http server: the error responder threw: {}", e.what());
    } catch (...) {
        spdlog::error("http server: the error responder threw a non-standard exception");
    }
    return Response::Text(500, "Internal error");
}

void Server::Impl::Observe(const RequestRecord& record) {
    if (!observer) return;
    try {
        observer(record);
    } catch (const std::exception& e) {
        spdlog::error("http server: the request observer threw: {}", e.what());
    } catch (...) {
        spdlog::error("http server: the request observer threw a non-standard exception");
    }
}

Server::Server(ServerOptions options, Router router, ErrorResponder on_error, RequestObserver observer) {
    if (!on_error) throw std::invalid_argument("http_server::Server needs an ErrorResponder");
    impl_ = std::make_unique<Impl>(std::move(options), std::move(router), std::move(on_error), std::move(observer));
}

Server::~Server() { impl_->Stop(); }

core::Result<void> Server::Start() { return impl_->Start(); }

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::Stop() { impl_->Stop(); }

void Server::WaitForShutdownSignal() { impl_->WaitForShutdownSignal(); }

}  // namespace switchboard::http_server

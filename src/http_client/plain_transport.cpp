// Beast's HTTP/1.1 response parser over a non-blocking POSIX socket, with poll() for every wait. Beast is used
// for parsing only (no Asio I/O objects), so this translation unit stays cheap to build.
#include "http_client/plain_transport.hpp"

#include "core/cooperative.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "http_client/ssrf_policy.hpp"

namespace switchboard::http_client {

namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = 16 * 1024;

std::string ErrnoText(int error) { return std::strerror(error); }

class Socket {
  public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket& operator=(Socket&& other) noexcept {
        if (this != &other) {
            Close();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Socket() { Close(); }
    int fd() const { return fd_; }
    int Release() { return std::exchange(fd_, -1); }
    void Close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

// Milliseconds left until deadline, for poll(): 0 once it has passed.
int RemainingMs(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    return static_cast<int>(std::min<long long>(left, std::numeric_limits<int>::max()));
}

// 1 when fd is ready (or has an error the next call will report), 0 when the deadline passed, -1 on a poll error.
// In a fiber (core/cooperative.hpp) the fiber waits and its thread serves others.
int WaitFor(int fd, short events, Clock::time_point deadline) {
    const int ms = RemainingMs(deadline);
    if (ms == 0) return 0;
    return core::WaitFd(fd, events, milliseconds(ms));
}

// What to do after a send or recv returned -1: call again (interrupted, or the socket became ready), give up at
// the deadline, or fail (errno says why).
enum class IoWait { kAgain, kTimedOut, kFailed };
IoWait AfterShortCall(int fd, short events, Clock::time_point deadline) {
    if (errno == EINTR) return IoWait::kAgain;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoWait::kFailed;
    const int ready = WaitFor(fd, events, deadline);
    if (ready == 0) return IoWait::kTimedOut;
    return ready > 0 ? IoWait::kAgain : IoWait::kFailed;
}

struct Target {
    std::string origin;
    std::string host;         // for getaddrinfo: decoded name, or the address without brackets
    bool numeric = false;     // an IP literal: no DNS
    std::string port;         // decimal
    std::string host_header;  // as in the URL: host[:port]
    std::string request_target;
};

core::Result<Target> ParseTarget(const std::string& url) {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || parsed->scheme_id() != boost::urls::scheme::http || !parsed->has_authority()) {
        return core::InvalidArgument("the URL is not an absolute http URL");
    }
    const boost::urls::url_view& u = *parsed;
    Target target;
    target.host = u.host_address();
    if (target.host.empty()) return core::InvalidArgument("the URL has no host");
    target.numeric = u.host_type() == boost::urls::host_type::ipv4 || u.host_type() == boost::urls::host_type::ipv6;
    target.port = u.has_port() && !u.port().empty() ? std::to_string(u.port_number()) : std::string("80");
    target.origin = ToLower(target.host) + " " + target.port;  // the pool's key: one per address and port
    target.host_header = std::string(u.encoded_host_and_port());
    target.request_target = u.encoded_path().empty() ? std::string("/") : std::string(u.encoded_path());
    if (u.has_query()) {
        target.request_target += '?';
        target.request_target += std::string_view(u.encoded_query());
    }
    return target;
}

// Decodes a gzip or deflate body (zlib-wrapped, or raw deflate as some servers send it) up to cap bytes.
core::Result<std::string> Inflate(const std::string& in, bool gzip, std::size_t cap, const std::string& where) {
    const auto attempt = [&](int window_bits, bool& bad_start) -> core::Result<std::string> {
        z_stream stream{};
        if (inflateInit2(&stream, window_bits) != Z_OK) return core::Internal("could not initialise zlib");
        stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        stream.avail_in = static_cast<uInt>(in.size());
        std::string out;
        std::array<char, kReadChunk> buffer;
        int rc = Z_OK;
        while (rc != Z_STREAM_END) {
            stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
            stream.avail_out = static_cast<uInt>(buffer.size());
            rc = inflate(&stream, Z_NO_FLUSH);
            const std::size_t produced = buffer.size() - stream.avail_out;
            if (rc != Z_OK && rc != Z_STREAM_END) {
                bad_start = stream.total_out == 0 && produced == 0;
                inflateEnd(&stream);
                return UpstreamError("could not decode the response body", where + ": the compressed body is corrupt");
            }
            if (produced > cap - std::min(cap, out.size())) {
                inflateEnd(&stream);
                return UpstreamError(fmt::format("response larger than {} bytes", cap), where);
            }
            out.append(buffer.data(), produced);
            if (rc == Z_OK && stream.avail_in == 0 && produced == 0) {
                inflateEnd(&stream);
                return UpstreamError("could not decode the response body",
                                     where + ": the compressed body is truncated");
            }
        }
        inflateEnd(&stream);
        return out;
    };
    bool bad_start = false;
    auto decoded = attempt(gzip ? 15 + 32 : 15, bad_start);
    if (!decoded && !gzip && bad_start) {
        bool ignored = false;
        return attempt(-15, ignored);
    }
    return decoded;
}

// The outcome of one attempt on one connection.
struct Attempt {
    core::Result<PlainResult> result = core::Internal("no attempt");
    bool retryable = false;  // failed on a reused connection before any response byte: try a new one
    bool reusable = false;   // the connection can serve the next request
};

}  // namespace

struct PlainTransport::Impl {
    struct IdleConnection {
        std::string origin;
        int fd;
    };

    Impl(const SsrfPolicy& p, std::size_t max) : policy(p), max_idle(max) {}
    ~Impl() {
        for (const IdleConnection& connection : idle) ::close(connection.fd);
    }

    // A kept-alive connection to origin that the server has not closed meanwhile, or an invalid socket.
    Socket TakeIdle(const std::string& origin) {
        for (;;) {
            int fd = -1;
            {
                std::lock_guard lock(mutex);
                const auto it = std::find_if(idle.rbegin(), idle.rend(),
                                             [&](const IdleConnection& c) { return c.origin == origin; });
                if (it == idle.rend()) return Socket();
                fd = it->fd;
                idle.erase(std::next(it).base());
            }
            // Idle means nothing to read: readable is a close (or stray bytes), and the connection is unusable.
            pollfd entry{fd, POLLIN, 0};
            if (::poll(&entry, 1, 0) == 0) return Socket(fd);
            ::close(fd);
        }
    }

    void GiveBack(const std::string& origin, Socket socket) {
        int oldest = -1;
        {
            std::lock_guard lock(mutex);
            if (max_idle == 0) return;  // socket closes on return
            if (idle.size() >= max_idle) {
                oldest = idle.front().fd;
                idle.erase(idle.begin());
            }
            idle.push_back({origin, socket.Release()});
        }
        if (oldest >= 0) ::close(oldest);
    }

    core::Result<Socket> Connect(const Target& target, const PlainExchange& exchange);
    Attempt Once(int fd, bool reused, const Target& target, const PlainExchange& exchange);

    const SsrfPolicy& policy;
    const std::size_t max_idle;
    mutable std::mutex mutex;
    std::vector<IdleConnection> idle;  // oldest first
};

core::Result<Socket> PlainTransport::Impl::Connect(const Target& target, const PlainExchange& exchange) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (target.numeric ? AI_NUMERICHOST : 0);
    addrinfo* found = nullptr;
    int gai = 0;
    const auto resolve = [&] { gai = ::getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); };
    // A name lookup may take a while (DNS): in a fiber it runs on a thread that may block.
    if (target.numeric) {
        resolve();
    } else {
        core::RunBlocking(resolve);
    }
    if (gai != 0) {
        return UpstreamError("could not resolve host", fmt::format("{}: {}", exchange.where, ::gai_strerror(gai)));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);

    const auto connect_deadline = std::min(exchange.deadline, Clock::now() + exchange.connect_timeout);
    std::string refused;
    std::string failure;
    bool timed_out = false;
    for (const addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
        if (auto allowed = policy.CheckSocketAddress(ai->ai_addr, ai->ai_addrlen); !allowed) {
            refused = allowed.error().detail;
            continue;
        }
        Socket socket(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
        if (socket.fd() < 0) {
            failure = ErrnoText(errno);
            continue;
        }
        if (::connect(socket.fd(), ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                failure = ErrnoText(errno);
                continue;
            }
            const int ready = WaitFor(socket.fd(), POLLOUT, connect_deadline);
            if (ready == 0) {
                timed_out = true;
                break;  // the connect timeout covers all the addresses, as with libcurl
            }
            int error = 0;
            socklen_t length = sizeof error;
            if (ready < 0)
                error = errno;
            else if (::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
                error = errno;
            if (error != 0) {
                failure = ErrnoText(error);
                continue;
            }
        }
        const int one = 1;
        ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return socket;
    }
    if (timed_out) {
        return UpstreamError(
            std::string(kTimedOut),
            fmt::format("{}: no connection within {} ms", exchange.where,
                        std::chrono::duration_cast<milliseconds>(std::min(exchange.connect_timeout, exchange.timeout))
                            .count()));
    }
    if (!refused.empty() && failure.empty()) {
        return core::PermissionDenied(fmt::format("{} ({})", refused, exchange.where));
    }
    return UpstreamError("could not connect",
                         fmt::format("{}: {}", exchange.where, failure.empty() ? "no address" : failure));
}

Attempt PlainTransport::Impl::Once(int fd, bool reused, const Target& target, const PlainExchange& exchange) {
    Attempt attempt;
    const auto timed_out = [&] {
        return UpstreamError(std::string(kTimedOut),
                             fmt::format("{}: the {} ms deadline passed", exchange.where, exchange.timeout.count()));
    };

    // The request.
    const Headers& headers = *exchange.headers;
    std::string out;
    out.reserve(256 + (exchange.body != nullptr ? exchange.body->size() : 0));
    out += exchange.method;
    out += ' ';
    out += target.request_target;
    out += " HTTP/1.1\r\nHost: ";
    out += target.host_header;
    out += "\r\n";
    if (!HasHeader(headers, "user-agent")) out += "User-Agent: " + exchange.user_agent + "\r\n";
    if (!HasHeader(headers, "accept")) out += "Accept: */*\r\n";
    out += "Accept-Encoding: gzip, deflate\r\n";
    for (const auto& [name, value] : headers) {
        out += name;
        out += value.empty() ? ":" : ": ";
        out += value;
        out += "\r\n";
    }
    const bool sends_length =
        exchange.body != nullptr || exchange.method == "POST" || exchange.method == "PUT" || exchange.method == "PATCH";
    if (exchange.body != nullptr && !HasHeader(headers, "content-type")) {
        out += "Content-Type: " + exchange.content_type + "\r\n";
    }
    if (sends_length) {
        out += fmt::format("Content-Length: {}\r\n", exchange.body != nullptr ? exchange.body->size() : 0);
    }
    out += "\r\n";
    if (exchange.body != nullptr) out += *exchange.body;

    for (std::size_t sent = 0; sent < out.size();) {
        const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        const IoWait next = n < 0 ? AfterShortCall(fd, POLLOUT, exchange.deadline) : IoWait::kFailed;
        if (next == IoWait::kAgain) continue;
        if (next == IoWait::kTimedOut) {
            attempt.result = timed_out();
            return attempt;
        }
        const int error = n < 0 ? errno : EPIPE;
        attempt.retryable = reused;  // nothing came back: the server had closed the connection
        attempt.result = UpstreamError("connection failed", fmt::format("{}: {}", exchange.where, ErrnoText(error)));
        return attempt;
    }

    // The response (after any 1xx interim responses).
    std::optional<http::response_parser<http::string_body>> parser;
    const auto fresh_parser = [&] {
        parser.emplace();
        parser->eager(true);
        parser->header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(exchange.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
        parser->body_limit(exchange.max_response_bytes);
        if (exchange.method == "HEAD") parser->skip(true);
    };
    fresh_parser();
    const auto parse_error = [&](const boost::system::error_code& ec) {
        if (ec == http::error::body_limit) {
            return UpstreamError(fmt::format("response larger than {} bytes", exchange.max_response_bytes),
                                 exchange.where);
        }
        if (ec == http::error::header_limit) {
            return UpstreamError(fmt::format("response headers larger than {} bytes", exchange.max_header_bytes),
                                 exchange.where);
        }
        return UpstreamError("invalid response", fmt::format("{}: {}", exchange.where, ec.message()));
    };

    std::string pending;  // received, not yet consumed by the parser (Beast needs a whole header at once)
    std::array<char, kReadChunk> chunk;
    bool received = false;
    bool eof = false;
    bool complete = false;
    for (;;) {
        // Feed what is pending.
        while (!pending.empty() && !complete) {
            boost::system::error_code ec;
            const std::size_t used = parser->put(boost::asio::buffer(pending.data(), pending.size()), ec);
            pending.erase(0, used);
            if (ec == http::error::need_more) break;
            if (ec) {
                attempt.result = parse_error(ec);
                return attempt;
            }
            if (parser->is_done()) {
                const int status = parser->get().result_int();
                if (status >= 100 && status < 200 && status != 101) {
                    fresh_parser();  // an interim response: the real one follows
                } else {
                    complete = true;
                }
            } else if (used == 0) {
                break;
            }
        }
        if (complete) break;
        if (eof) {
            // put_eof ends a body delimited by the connection's close; it must not see a parser without a header.
            boost::system::error_code ec = http::error::partial_message;
            if (parser->is_header_done()) {
                ec = {};
                parser->put_eof(ec);
                if (!ec && !parser->is_done()) ec = http::error::partial_message;
            }
            if (ec) {
                if (!received) {
                    attempt.retryable = reused;
                    attempt.result = UpstreamError("connection failed",
                                                   fmt::format("{}: the server closed the connection", exchange.where));
                } else {
                    attempt.result =
                        UpstreamError("connection failed",
                                      fmt::format("{}: the response was cut short ({})", exchange.where, ec.message()));
                }
                return attempt;
            }
            break;
        }
        const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
        if (n > 0) {
            received = true;
            pending.append(chunk.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            eof = true;
            continue;
        }
        const IoWait next = AfterShortCall(fd, POLLIN, exchange.deadline);
        if (next == IoWait::kAgain) continue;
        if (next == IoWait::kTimedOut) {
            attempt.result = timed_out();
            return attempt;
        }
        const int error = errno;
        attempt.retryable = reused && !received;
        attempt.result = UpstreamError("connection failed", fmt::format("{}: {}", exchange.where, ErrnoText(error)));
        return attempt;
    }

    auto message = parser->release();
    PlainResult result;
    result.status = message.result_int();
    result.headers.reserve(static_cast<std::size_t>(std::distance(message.begin(), message.end())));
    std::string encoding;
    for (const auto& field : message) {
        result.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
        if (result.headers.back().first == "content-encoding") encoding = ToLower(field.value());
    }
    result.body = std::move(message.body());
    if (!result.body.empty() && (encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate")) {
        auto decoded = Inflate(result.body, encoding != "deflate", exchange.max_response_bytes, exchange.where);
        if (!decoded) {
            attempt.result = decoded.error();
            return attempt;
        }
        result.body = std::move(*decoded);
    }
    attempt.reusable = !eof && pending.empty() && message.keep_alive() && result.status != 101;
    attempt.result = std::move(result);
    return attempt;
}

PlainTransport::PlainTransport(const SsrfPolicy& policy, std::size_t max_idle)
    : impl_(std::make_unique<Impl>(policy, max_idle)) {}

PlainTransport::~PlainTransport() = default;

std::size_t PlainTransport::idle_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->idle.size();
}

core::Result<PlainResult> PlainTransport::Exchange(const PlainExchange& exchange) {
    if (exchange.headers == nullptr) return core::Internal("PlainTransport::Exchange without headers");
    core::Result<Target> target = ParseTarget(exchange.url);
    if (!target) return target.error();
    for (int round = 0;; ++round) {
        Socket socket = round == 0 ? impl_->TakeIdle(target->origin) : Socket();
        const bool reused = socket.fd() >= 0;
        if (!reused) {
            core::Result<Socket> connected = impl_->Connect(*target, exchange);
            if (!connected) return connected.error();
            socket = std::move(*connected);
        }
        Attempt attempt = impl_->Once(socket.fd(), reused, *target, exchange);
        if (!attempt.result && attempt.retryable && round == 0) continue;
        if (attempt.result && attempt.reusable) impl_->GiveBack(target->origin, std::move(socket));
        return std::move(attempt.result);
    }
}

}  // namespace switchboard::http_client

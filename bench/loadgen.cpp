// A small HTTP/1.1 load tool for the end-to-end workload (scripts/bench-e2e.sh), for what wrk cannot do:
//
//   loadgen ready URL [--timeout-ms N]
//       Polls URL (GET, 1 ms apart) until it answers 200; prints the CLOCK_REALTIME nanoseconds of that answer,
//       so the caller can subtract the time it exec'd the server. Exit 1 on timeout.
//
//   loadgen rate URL --rate R --duration S [--connections C] [--json FILE] [--get] [--header "Name: value"]
//       Open-loop fixed-rate load (what wrk2 does; wrk2 is not in Debian): request k is due at start + k/R and
//       its latency is measured from that due time, not from when a connection was free to send it, so a
//       stalled server is charged for the requests that queued behind the stall (no coordinated omission).
//       Each request is POST {"item":N} with N = 1…1000 in turn, like the workload's post.lua; with --get it is
//       GET URL + N instead (URL ending in /v1/items/, like direct.lua), and --header adds a header. C blocking
//       keep-alive connections, one thread each. Requests are issued until the duration ends; those in flight
//       then are awaited (at most 10 s), so every sent request is counted: the number of 2xx answers can be
//       compared exactly with the executions the server recorded.
//
// Loopback only: the host must be 127.0.0.1 (the workload never leaves the machine).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Url {
    std::uint16_t port = 0;
    std::string target;  // path and query
};

std::optional<Url> ParseUrl(std::string_view url) {
    constexpr std::string_view kPrefix = "http://127.0.0.1:";
    if (!url.starts_with(kPrefix)) return std::nullopt;
    url.remove_prefix(kPrefix.size());
    const auto slash = url.find('/');
    const std::string port(url.substr(0, slash));
    const long p = std::strtol(port.c_str(), nullptr, 10);
    if (p <= 0 || p > 65535) return std::nullopt;
    return Url{static_cast<std::uint16_t>(p), slash == std::string_view::npos ? "/" : std::string(url.substr(slash))};
}

class Connection {
  public:
    explicit Connection(std::uint16_t port) : port_(port) {}
    ~Connection() { Close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends the request and reads one response; its status, or nullopt on a transport error (the connection is
    // closed then and reopened by the next call).
    std::optional<int> RoundTrip(const std::string& request, Clock::time_point deadline) {
        if (fd_ < 0 && !Open()) return std::nullopt;
        if (!SendAll(request)) return Fail();
        buffer_.clear();
        std::size_t header_end = std::string::npos;
        while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!Read(deadline)) return Fail();
        }
        const std::string_view head(buffer_.data(), header_end);
        if (!head.starts_with("HTTP/1.1 ") || head.size() < 12) return Fail();
        const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
        const auto length = HeaderValue(head, "content-length");
        if (!length) return Fail();  // the server always sends Content-Length; anything else is not expected
        const std::size_t total = header_end + 4 + std::strtoul(length->c_str(), nullptr, 10);
        while (buffer_.size() < total) {
            if (!Read(deadline)) return Fail();
        }
        if (const auto c = HeaderValue(head, "connection"); c && *c == "close") Close();
        return status;
    }

  private:
    bool Open() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port_);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            Close();
            return false;
        }
        return true;
    }
    void Close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    std::nullopt_t Fail() {
        Close();
        return std::nullopt;
    }
    bool SendAll(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    bool Read(Clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
    // The value of a header (name in lower case), lower-cased and trimmed.
    static std::optional<std::string> HeaderValue(std::string_view head, std::string_view name) {
        std::size_t pos = head.find("\r\n");
        while (pos != std::string_view::npos && pos < head.size()) {
            const std::size_t start = pos + 2;
            const std::size_t end = std::min(head.find("\r\n", start), head.size());
            const std::string_view line = head.substr(start, end - start);
            const auto colon = line.find(':');
            if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
                    return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
                })) {
                std::string v(line.substr(colon + 1));
                v.erase(0, v.find_first_not_of(' '));
                while (!v.empty() && v.back() == ' ') v.pop_back();
                std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
                return v;
            }
            pos = end;
        }
        return std::nullopt;
    }

    std::uint16_t port_;
    int fd_ = -1;
    std::string buffer_;
};

std::int64_t RealtimeNanos() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int Ready(const Url& url, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    const std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    while (Clock::now() < deadline) {
        Connection c(url.port);
        if (c.RoundTrip(request, std::min(deadline, Clock::now() + std::chrono::seconds(1))) == 200) {
            std::printf("%lld\n", static_cast<long long>(RealtimeNanos()));
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::fprintf(stderr, "loadgen: %s did not answer 200 within %d ms\n", url.target.c_str(), timeout_ms);
    return 1;
}

struct Sample {
    std::int64_t latency_ns = 0;
    int status = 0;  // 0: transport error or timeout
};

double Percentile(const std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()))) - 1;
    return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]) / 1e6;  // ms
}

struct RateOptions {
    double rate = 0;
    double duration_s = 0;
    int connections = 32;
    std::string json_path;
    bool get = false;
    std::string extra_headers;  // "Name: value\r\n" lines
};

// Request k: POST {"item":N} to the URL, or GET URL + N.
std::string MakeRequest(const Url& url, const RateOptions& o, std::int64_t k) {
    const std::string item = std::to_string(k % 1000 + 1);
    if (o.get) return "GET " + url.target + item + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + o.extra_headers + "\r\n";
    const std::string body = "{\"item\":" + item + "}";
    return "POST " + url.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           o.extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int Rate(const Url& url, const RateOptions& o) {
    const double rate = o.rate, duration_s = o.duration_s;
    const int connections = o.connections;
    const std::string& json_path = o.json_path;
    const auto interval = std::chrono::duration<double>(1.0 / rate);
    const std::int64_t total = static_cast<std::int64_t>(rate * duration_s);
    std::atomic<std::int64_t> next{0};
    std::vector<std::vector<Sample>> samples(static_cast<std::size_t>(connections));
    const auto start = Clock::now() + std::chrono::milliseconds(50);
    const auto drain_deadline = start +
                                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s)) +
                                std::chrono::seconds(10);
    std::vector<std::thread> threads;
    for (int t = 0; t < connections; ++t) {
        threads.emplace_back([&, t] {
            Connection c(url.port);
            auto& mine = samples[static_cast<std::size_t>(t)];
            for (std::int64_t k = next++; k < total; k = next++) {
                const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * k);
                std::this_thread::sleep_until(due);
                const std::string request = MakeRequest(url, o, k);
                const auto status = c.RoundTrip(request, drain_deadline);
                const auto done = Clock::now();
                mine.push_back(
                    {std::chrono::duration_cast<std::chrono::nanoseconds>(done - due).count(), status.value_or(0)});
            }
        });
    }
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<std::int64_t> latencies_ns;
    std::int64_t ok = 0, non2xx = 0, errors = 0;
    for (const auto& per_thread : samples) {
        for (const Sample& s : per_thread) {
            latencies_ns.push_back(s.latency_ns);
            if (s.status == 0) {
                ++errors;
            } else if (s.status >= 200 && s.status < 300) {
                ++ok;
            } else {
                ++non2xx;
            }
        }
    }
    std::sort(latencies_ns.begin(), latencies_ns.end());
    const double achieved = static_cast<double>(latencies_ns.size()) / elapsed;
    const double p50 = Percentile(latencies_ns, 0.50), p90 = Percentile(latencies_ns, 0.90),
                 p99 = Percentile(latencies_ns, 0.99), p999 = Percentile(latencies_ns, 0.999),
                 max = latencies_ns.empty() ? 0 : static_cast<double>(latencies_ns.back()) / 1e6;
    std::printf(
        "  target %.0f req/s for %.0f s on %d connections: sent %zu, achieved %.1f req/s\n"
        "  latency from due time: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n"
        "  2xx %lld  non-2xx %lld  transport errors %lld\n",
        rate, duration_s, connections, latencies_ns.size(), achieved, p50, p90, p99, p999, max,
        static_cast<long long>(ok), static_cast<long long>(non2xx), static_cast<long long>(errors));
    if (!json_path.empty()) {
        std::ofstream out(json_path);
        out << "{\"target_rps\": " << rate << ", \"duration_s\": " << duration_s << ", \"connections\": " << connections
            << ", \"requests\": " << latencies_ns.size() << ", \"rps\": " << achieved << ", \"p50_ms\": " << p50
            << ", \"p90_ms\": " << p90 << ", \"p99_ms\": " << p99 << ", \"p999_ms\": " << p999
            << ", \"max_ms\": " << max << ", \"ok_2xx\": " << ok << ", \"non_2xx\": " << non2xx
            << ", \"errors\": " << errors << "}\n";
    }
    return 0;
}

int Usage() {
    std::fprintf(stderr,
                 "usage: loadgen ready http://127.0.0.1:PORT/PATH [--timeout-ms N]\n"
                 "       loadgen rate http://127.0.0.1:PORT/PATH --rate R --duration S [--connections C] "
                 "[--json FILE] [--get] [--header 'Name: value']\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return Usage();
    const std::string_view mode = argv[1];
    const auto url = ParseUrl(argv[2]);
    if (!url) {
        std::fprintf(stderr, "loadgen: only http://127.0.0.1:PORT/… URLs are accepted\n");
        return 2;
    }
    int timeout_ms = 10'000;
    RateOptions o;
    for (int i = 3; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--get") {
            o.get = true;
            continue;
        }
        if (i + 1 >= argc) return Usage();
        const char* value = argv[++i];
        if (flag == "--timeout-ms") {
            timeout_ms = std::atoi(value);
        } else if (flag == "--rate") {
            o.rate = std::atof(value);
        } else if (flag == "--duration") {
            o.duration_s = std::atof(value);
        } else if (flag == "--connections") {
            o.connections = std::atoi(value);
        } else if (flag == "--json") {
            o.json_path = value;
        } else if (flag == "--header") {
            o.extra_headers += std::string(value) + "\r\n";
        } else {
            return Usage();
        }
    }
    if (mode == "ready") return Ready(*url, timeout_ms);
    if (mode == "rate") {
        // Bounded: at most 10 minutes and 100,000 requests/s, 1…256 connections.
        if (o.rate <= 0 || o.rate > 100'000 || o.duration_s <= 0 || o.duration_s > 600 || o.connections < 1 ||
            o.connections > 256) {
            return Usage();
        }
        return Rate(*url, o);
    }
    return Usage();
}

#pragma once
// A small real HTTP/1.1 server for the http_client tests: POSIX sockets on 127.0.0.1, port 0, one thread per
// connection, keep-alive. It records every request it parses and counts accepted TCP connections.
//
// Routes (path before '?'):
//   /echo...                          200 application/json {"method","target","path","query",
//                                     "headers":[[name,value],...] (lower-case names),"body_base64"}
//   /status/<code>?body=<text>        <code>, text/plain body
//   /redirect/<n>                     302 to /redirect/<n-1>; /redirect/0 is 200 "done"
//   /redirect-to?url=<u>&status=<s>   <s> (default 302) with Location: <u>
//   /gzip, /deflate                   kCompressedText, Content-Encoding gzip / deflate (zlib)
//   /big?bytes=<n>                    n bytes of 'x', chunked (no Content-Length), 64 KiB per chunk
//   /sleep?ms=<n>                     200 "slept" after n ms (cut short when the server stops)
//   /headers                          200 with Set-Cookie twice and X-Custom: One
//   /not-json                         200 application/json whose body does not parse
//   /bad-gzip                         200 with Content-Encoding: gzip and a body that is not gzip
//   /huge-headers                     200 with 300 headers of 1000 bytes each
//   anything else                     404
// A request whose first byte is not an upper-case letter (a TLS ClientHello) closes the connection.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace switchboard::http_client::testing {

inline constexpr std::string_view kCompressedText =
    "Switchboard compressed body. Switchboard compressed body. Switchboard compressed body.";

struct RecordedRequest {
    std::string method;
    std::string target;  // as sent: path plus raw query
    std::string path;
    std::string query;                                         // raw, without '?'
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
    std::string body;                                          // de-chunked

    std::optional<std::string> Header(std::string_view name) const;
};

class TestServer {
  public:
    // Binds 127.0.0.1:0 and starts serving; throws std::runtime_error when the socket cannot be bound.
    TestServer();
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::uint16_t port() const { return port_; }
    // "http://127.0.0.1:<port>" + path_and_query.
    std::string Url(std::string_view path_and_query) const;
    int accepted_connections() const { return accepted_.load(); }
    std::vector<RecordedRequest> requests() const;
    // The most recent request; nullopt if none arrived.
    std::optional<RecordedRequest> LastRequest() const;

  private:
    void AcceptLoop();
    void Serve(int fd);
    bool HandleOne(int fd, std::string& buffer);
    bool ReadMore(int fd, std::string& buffer);
    bool Respond(int fd, const RecordedRequest& request);

    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    mutable std::mutex mutex_;
    std::condition_variable stop_cv_;
    std::vector<RecordedRequest> requests_;
    std::set<int> open_fds_;
    std::vector<std::thread> connection_threads_;
    std::thread accept_thread_;
};

}  // namespace switchboard::http_client::testing

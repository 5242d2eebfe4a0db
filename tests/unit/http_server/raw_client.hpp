#pragma once
// A deliberately small HTTP/1.1 client on plain POSIX sockets, so the server tests exercise the server through
// real TCP without sharing any of its HTTP code. Every read is bounded by a receive timeout.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::testing {

struct RawResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
    std::size_t wire_bytes = 0;  // status line + headers + body as received

    // The first value of a header, or nullopt.
    std::optional<std::string> Header(std::string_view lower_name) const;
};

class RawClient {
  public:
    // Connects to host:port (IPv4 or IPv6 literal). nullopt when the connection fails; errno is then set.
    static std::optional<RawClient> Connect(std::uint16_t port, const std::string& host = "127.0.0.1",
                                            std::chrono::milliseconds read_timeout = std::chrono::seconds(5));

    RawClient(RawClient&& other) noexcept;
    RawClient& operator=(RawClient&&) = delete;
    RawClient(const RawClient&) = delete;
    ~RawClient();

    bool Send(std::string_view bytes);
    // Reads one response (a "100 Continue" counts as one). nullopt on close, timeout or garbage.
    std::optional<RawResponse> ReadResponse();
    // True when the server closes the connection (EOF or reset) before the read timeout, with no bytes sent.
    bool ServerClosed();
    // Half-closes the sending side (the server then sees end of stream).
    void ShutdownWrite();

  private:
    explicit RawClient(int fd) : fd_(fd) {}
    // Appends what the socket has to buffer_; false on EOF, error or timeout.
    bool Fill();

    int fd_ = -1;
    std::string buffer_;
};

// errno of a failed connect (ECONNREFUSED, …), 0 when the connection succeeded.
int ConnectError(std::uint16_t port, const std::string& host = "127.0.0.1");

}  // namespace switchboard::testing

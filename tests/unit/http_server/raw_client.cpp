#include "raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace switchboard::testing {

namespace {

std::string Lower(std::string_view in) {
    std::string out(in);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

int OpenConnected(std::uint16_t port, const std::string& host) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    } else {
        errno = EINVAL;
        return -1;
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

}  // namespace

std::optional<std::string> RawResponse::Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) return value;
    }
    return std::nullopt;
}

std::optional<RawClient> RawClient::Connect(std::uint16_t port, const std::string& host,
                                            std::chrono::milliseconds read_timeout) {
    const int fd = OpenConnected(port, host);
    if (fd < 0) return std::nullopt;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(read_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((read_timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return RawClient(fd);
}

RawClient::RawClient(RawClient&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) { other.fd_ = -1; }

RawClient::~RawClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawClient::Send(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void RawClient::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

bool RawClient::Fill() {
    char chunk[4096];
    for (;;) {
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
}

bool RawClient::ServerClosed() {
    char byte;
    for (;;) {
        const ssize_t n = ::recv(fd_, &byte, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;  // EAGAIN: the read timeout passed while still open
        buffer_.push_back(byte);
        return false;
    }
}

std::optional<RawResponse> RawClient::ReadResponse() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
    }
    RawResponse response;
    const std::string_view head(buffer_.data(), header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (status_line.substr(0, 9) != "HTTP/1.1 " && status_line.substr(0, 9) != "HTTP/1.0 ") return std::nullopt;
    response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    while (line_end != std::string_view::npos) {
        const std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string_view line =
            head.substr(start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        response.headers.emplace_back(Lower(line.substr(0, colon)), std::string(value));
    }
    const std::size_t body_start = header_end + 4;
    std::size_t body_size = 0;
    const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
    if (auto length = response.Header("content-length")) {
        body_size = static_cast<std::size_t>(std::stoull(*length));
    } else if (!bodiless) {
        // No length: the body runs to the end of the connection.
        while (Fill()) {
        }
        body_size = buffer_.size() - body_start;
    }
    while (buffer_.size() < body_start + body_size) {
        if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(body_start, body_size);
    response.wire_bytes = body_start + body_size;
    buffer_.erase(0, body_start + body_size);
    return response;
}

int ConnectError(std::uint16_t port, const std::string& host) {
    const int fd = OpenConnected(port, host);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

}  // namespace switchboard::testing

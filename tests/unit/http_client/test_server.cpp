#include "unit/http_client/test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <chrono>
#include <stdexcept>

#include "core/encoding.hpp"

namespace switchboard::http_client::testing {

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Independent of the client's encoder on purpose: the tests compare what the client sent with this.
std::string Decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i] == '+' ? ' ' : text[i];
        }
    }
    return out;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (Decode(pair.substr(0, eq)) == name) {
            return eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::string Compress(std::string_view text, int window_bits) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
    }
    std::string out(deflateBound(&stream, static_cast<uLong>(text.size())) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&stream, Z_FINISH);
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
    out.resize(stream.total_out);
    return out;
}

bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t sent = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

std::string_view Reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 404:
            return "Not Found";
        default:
            return "Status";
    }
}

std::string Message(int status, const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                    bool head_request) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(Reason(status)) + "\r\n";
    for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!head_request) out.append(body);
    return out;
}

}  // namespace

std::optional<std::string> RecordedRequest::Header(std::string_view name) const {
    const std::string wanted = Lower(name);
    for (const auto& [key, value] : headers) {
        if (key == wanted) return value;
    }
    return std::nullopt;
}

TestServer::TestServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        close(listen_fd_);
        throw std::runtime_error("cannot bind 127.0.0.1:0");
    }
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    stop_cv_.notify_all();
    accept_thread_.join();
    {
        std::lock_guard lock(mutex_);
        for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& thread : connection_threads_) thread.join();
    close(listen_fd_);
}

std::string TestServer::Url(std::string_view path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
}

std::vector<RecordedRequest> TestServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::optional<RecordedRequest> TestServer::LastRequest() const {
    std::lock_guard lock(mutex_);
    if (requests_.empty()) return std::nullopt;
    return requests_.back();
}

void TestServer::AcceptLoop() {
    while (!stop_) {
        pollfd entry{listen_fd_, POLLIN, 0};
        if (poll(&entry, 1, 50) <= 0) continue;
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++accepted_;
        std::lock_guard lock(mutex_);
        open_fds_.insert(fd);
        connection_threads_.emplace_back([this, fd] { Serve(fd); });
    }
}

void TestServer::Serve(int fd) {
    std::string buffer;
    while (!stop_ && HandleOne(fd, buffer)) {
    }
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
    close(fd);
}

bool TestServer::ReadMore(int fd, std::string& buffer) {
    while (!stop_) {
        pollfd entry{fd, POLLIN, 0};
        const int ready = poll(&entry, 1, 50);
        if (ready < 0) return false;
        if (ready == 0) continue;
        char chunk[16384];
        const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(got));
        return true;
    }
    return false;
}

bool TestServer::HandleOne(int fd, std::string& buffer) {
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!buffer.empty() && !std::isupper(static_cast<unsigned char>(buffer[0]))) return false;
        if (buffer.size() > kMaxHead || !ReadMore(fd, buffer)) return false;
    }
    const std::string head = buffer.substr(0, head_end);
    buffer.erase(0, head_end + 4);

    RecordedRequest request;
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const std::size_t first_space = request_line.find(' ');
    const std::size_t second_space = request_line.find(' ', first_space + 1);
    if (first_space == std::string::npos || second_space == std::string::npos) return false;
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    const std::size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    request.query = question == std::string::npos ? std::string() : request.target.substr(question + 1);
    while (line_end != std::string::npos) {
        const std::size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string_view line = std::string_view(head).substr(start, line_end - start);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        request.headers.emplace_back(Lower(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
    }

    if (request.Header("transfer-encoding").value_or("") == "chunked") {
        while (true) {
            std::size_t size_end;
            while ((size_end = buffer.find("\r\n")) == std::string::npos) {
                if (!ReadMore(fd, buffer)) return false;
            }
            const std::size_t size = std::stoul(buffer.substr(0, size_end), nullptr, 16);
            buffer.erase(0, size_end + 2);
            if (size == 0) {
                std::size_t trailer_end;
                while ((trailer_end = buffer.find("\r\n")) != 0) {
                    if (trailer_end == std::string::npos) {
                        if (!ReadMore(fd, buffer)) return false;
                    } else {
                        buffer.erase(0, trailer_end + 2);
                    }
                }
                buffer.erase(0, 2);
                break;
            }
            while (buffer.size() < size + 2) {
                if (!ReadMore(fd, buffer)) return false;
            }
            request.body += buffer.substr(0, size);
            buffer.erase(0, size + 2);
        }
    } else if (const auto length = request.Header("content-length")) {
        const std::size_t size = std::stoul(*length);
        while (buffer.size() < size) {
            if (!ReadMore(fd, buffer)) return false;
        }
        request.body = buffer.substr(0, size);
        buffer.erase(0, size);
    }

    {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
    }
    if (!Respond(fd, request)) return false;
    return Lower(request.Header("connection").value_or("")) != "close";
}

bool TestServer::Respond(int fd, const RecordedRequest& request) {
    const bool head = request.method == "HEAD";
    const std::string& path = request.path;
    using HeaderList = std::vector<std::pair<std::string, std::string>>;

    if (path.starts_with("/echo")) {
        boost::json::array headers;
        for (const auto& [name, value] : request.headers)
            headers.push_back(boost::json::array{name.c_str(), value.c_str()});
        boost::json::object echo;
        echo["method"] = request.method;
        echo["target"] = request.target;
        echo["path"] = request.path;
        echo["query"] = request.query;
        echo["headers"] = std::move(headers);
        echo["body_base64"] = core::Base64Encode(request.body);
        return SendAll(fd, Message(200, {{"Content-Type", "application/json"}}, boost::json::serialize(echo), head));
    }
    if (path.starts_with("/status/")) {
        const int status = std::stoi(path.substr(8));
        return SendAll(fd, Message(status, {{"Content-Type", "text/plain"}},
                                   QueryParam(request.query, "body").value_or(""), head));
    }
    if (path.starts_with("/redirect/")) {
        const int remaining = std::stoi(path.substr(10));
        if (remaining == 0) return SendAll(fd, Message(200, {{"Content-Type", "text/plain"}}, "done", head));
        return SendAll(fd, Message(302, {{"Location", "/redirect/" + std::to_string(remaining - 1)}}, "", head));
    }
    if (path == "/redirect-to") {
        const int status = std::stoi(QueryParam(request.query, "status").value_or("302"));
        return SendAll(fd, Message(status, {{"Location", QueryParam(request.query, "url").value_or("/")}}, "", head));
    }
    if (path == "/gzip" || path == "/deflate") {
        const bool gzip = path == "/gzip";
        const std::string body = Compress(kCompressedText, gzip ? 15 + 16 : 15);
        return SendAll(
            fd, Message(200, {{"Content-Type", "text/plain"}, {"Content-Encoding", gzip ? "gzip" : "deflate"}}, body,
                        head));
    }
    if (path == "/big") {
        std::size_t remaining = std::stoul(QueryParam(request.query, "bytes").value_or("0"));
        if (!SendAll(
                fd,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")) {
            return false;
        }
        const std::string chunk(64 * 1024, 'x');
        while (remaining > 0) {
            const std::size_t size = std::min(remaining, chunk.size());
            char size_line[32];
            std::snprintf(size_line, sizeof size_line, "%zx\r\n", size);
            if (!SendAll(fd, size_line) || !SendAll(fd, std::string_view(chunk).substr(0, size)) ||
                !SendAll(fd, "\r\n")) {
                return false;
            }
            remaining -= size;
        }
        return SendAll(fd, "0\r\n\r\n");
    }
    if (path == "/sleep") {
        const auto wait = std::chrono::milliseconds(std::stoi(QueryParam(request.query, "ms").value_or("0")));
        {
            std::unique_lock lock(mutex_);
            stop_cv_.wait_for(lock, wait, [this] { return stop_.load(); });
        }
        return SendAll(fd, Message(200, {{"Content-Type", "text/plain"}}, "slept", head));
    }
    if (path == "/headers") {
        const HeaderList headers = {
            {"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X-Custom", "One"}};
        return SendAll(fd, Message(200, headers, "with headers", head));
    }
    if (path == "/bad-gzip") {
        return SendAll(fd, Message(200, {{"Content-Type", "text/plain"}, {"Content-Encoding", "gzip"}},
                                   "this is not gzip data at all", head));
    }
    if (path == "/huge-headers") {
        HeaderList headers;
        for (int i = 0; i < 300; ++i) headers.emplace_back("X-Filler-" + std::to_string(i), std::string(1000, 'h'));
        return SendAll(fd, Message(200, headers, "too many headers", head));
    }
    if (path == "/not-json") {
        return SendAll(fd, Message(200, {{"Content-Type", "application/json; charset=utf-8"}}, "{oops", head));
    }
    return SendAll(fd, Message(404, {{"Content-Type", "text/plain"}}, "no such route", head));
}

}  // namespace switchboard::http_client::testing

#pragma once
// A tiny blocking HTTP/1.1 client over POSIX sockets for integration tests (one request per connection).
#include <map>
#include <string>

namespace switchboard::testing {

struct HttpReply {
    int status = 0;                              // 0 when the connection failed
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

HttpReply HttpRequest(int port, const std::string& method, const std::string& target, const std::string& body = "",
                      const std::map<std::string, std::string>& headers = {}, const std::string& host = "127.0.0.1");
// Sends raw bytes and returns whatever comes back until the server closes (bounded by 5 s).
std::string RawExchange(int port, const std::string& bytes);

}  // namespace switchboard::testing

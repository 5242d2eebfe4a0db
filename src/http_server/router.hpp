#pragma once
// Method + path-pattern routing. Patterns are literal segments and "{name}" parameters
// ("/api/v2/teams/{teamId}/members/{userId}"); a literal segment beats a parameter at the same depth.
// Lookup outcomes: a handler, "no such path" (404), or "path exists but not for this method" (405 + Allow).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http_server/message.hpp"

namespace switchboard::http_server {

// Handlers block (they may touch the database); the server runs them on its worker pool.
using Handler = std::function<Response(Request&)>;

class Router {
public:
    Router();
    ~Router();
    Router(Router&&) noexcept;
    Router& operator=(Router&&) noexcept;

    void Add(std::string method, std::string pattern, Handler handler);

    struct Match {
        const Handler* handler = nullptr;   // null when nothing matched
        bool path_exists = false;           // true when another method matches this path
        std::vector<std::string> allowed;   // methods for the path, when path_exists
    };
    // Fills req.path_params and req.route on success.
    Match Find(Request& req) const;

private:
    struct Node;
    std::unique_ptr<Node> root_;
};

}  // namespace switchboard::http_server

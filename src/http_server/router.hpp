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

// Handlers block (they may touch the database); the server runs them on a worker pool.
using Handler = std::function<Response(Request&)>;

// Which of the server's worker pools runs a route's handler (ServerOptions::worker_threads / run_threads).
enum class Pool {
    kApi,  // API and UI requests: short, database-bound
    kRun,  // scenario runs (webhooks): they wait for third-party APIs, so they get their own threads and cannot
           // take every thread away from the API and the UI while those APIs are slow
};

class Router {
  public:
    Router();
    ~Router();
    Router(Router&&) noexcept;
    Router& operator=(Router&&) noexcept;

    // Throws std::invalid_argument on a malformed pattern or a duplicate method + pattern (a wiring bug, caught at
    // startup). A trailing slash is ignored, in patterns and in requests.
    void Add(std::string method, std::string pattern, Handler handler, Pool pool = Pool::kApi);

    struct Match {
        const Handler* handler = nullptr;  // null when nothing matched
        Pool pool = Pool::kApi;            // the pool of the matched route
        bool path_exists = false;          // true when another method matches this path
        std::vector<std::string> allowed;  // methods for the path, when path_exists
    };
    // Matches the path of req.target, split on '/' before each segment is percent-decoded (so "%2F" stays
    // inside a parameter); a request without a target is matched on req.path as is. Fills req.path_params and
    // req.route on success (clears them otherwise).
    Match Find(Request& req) const;

  private:
    struct Node;
    std::unique_ptr<Node> root_;
};

}  // namespace switchboard::http_server

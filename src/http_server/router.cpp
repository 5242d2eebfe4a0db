#include "http_server/router.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace switchboard::http_server {

namespace {

struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> param_names;  // in path order, one per "{name}" segment
    Handler handler;
    Pool pool = Pool::kApi;
};

bool IsParamSegment(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "/a/b/" into {"a", "b", ""}; the caller decides what an empty segment means.
std::vector<std::string_view> SplitOnSlash(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 1;  // skip the leading '/'
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        segments.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    // A single trailing slash is tolerated: "/api/v2/teams/" is "/api/v2/teams", and "/" has no segments.
    if (!segments.empty() && segments.back().empty()) segments.pop_back();
    return segments;
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decodes one path segment. '+' stays '+' (it only means space in form-encoded queries).
std::optional<std::string> PercentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;  // needs two hex digits
        const int hi = HexValue(in[i + 1]);
        const int lo = HexValue(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// The segments a request is matched on. The raw target is split before decoding so that "%2F" stays inside
// its segment; a hand-built request without a target is matched on its (already decoded) path.
std::optional<std::vector<std::string>> RequestSegments(const Request& req) {
    const bool from_target = !req.target.empty();
    std::string_view raw = from_target ? std::string_view(req.target) : std::string_view(req.path);
    if (from_target) raw = raw.substr(0, raw.find('?'));
    if (raw.empty() || raw.front() != '/') return std::nullopt;
    std::vector<std::string> segments;
    for (std::string_view piece : SplitOnSlash(raw)) {
        if (!from_target) {
            segments.emplace_back(piece);
            continue;
        }
        auto decoded = PercentDecode(piece);
        if (!decoded) return std::nullopt;
        segments.push_back(std::move(*decoded));
    }
    return segments;
}

}  // namespace

struct Router::Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
    std::unique_ptr<Node> param;  // one "{…}" child; names live on the routes, patterns may name it differently
    std::vector<Route> routes;    // the routes ending at this node, one per method
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string method, std::string pattern, Handler handler, Pool pool) {
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("route pattern must start with '/': " + pattern);
    }
    if (!handler) throw std::invalid_argument("route without a handler: " + method + " " + pattern);
    Route route{std::move(method), pattern, {}, std::move(handler), pool};
    Node* node = root_.get();
    for (std::string_view segment : SplitOnSlash(pattern)) {
        if (segment.empty()) throw std::invalid_argument("empty segment in route pattern: " + pattern);
        if (IsParamSegment(segment)) {
            std::string name(segment.substr(1, segment.size() - 2));
            if (name.find_first_of("{}/") != std::string::npos ||
                std::find(route.param_names.begin(), route.param_names.end(), name) != route.param_names.end()) {
                throw std::invalid_argument("bad parameter name in route pattern: " + pattern);
            }
            route.param_names.push_back(std::move(name));
            if (!node->param) node->param = std::make_unique<Node>();
            node = node->param.get();
            continue;
        }
        if (segment.find_first_of("{}") != std::string_view::npos) {
            throw std::invalid_argument("malformed segment in route pattern: " + pattern);
        }
        auto it = node->literals.find(segment);
        if (it == node->literals.end()) {
            it = node->literals.emplace(std::string(segment), std::make_unique<Node>()).first;
        }
        node = it->second.get();
    }
    for (const Route& existing : node->routes) {
        if (existing.method == route.method) {
            throw std::invalid_argument("duplicate route: " + route.method + " " + pattern + " (already " +
                                        existing.pattern + ")");
        }
    }
    node->routes.push_back(std::move(route));
}

Router::Match Router::Find(Request& req) const {
    req.path_params.clear();
    req.route.clear();
    Match match;
    const auto segments = RequestSegments(req);
    if (!segments) return match;

    // Depth-first, literal child before the parameter child, so the first leaf reached is the most specific.
    // A leaf without the request's method does not end the search: a less specific route may accept it
    // ("GET /teams/me" and "DELETE /teams/{id}"). Only when no leaf has the method is the answer 405.
    std::vector<std::string_view> values;
    const Route* found = nullptr;
    std::vector<std::string> allowed;
    auto visit = [&](auto& self, const Node& node, std::size_t depth) -> bool {
        if (depth == segments->size()) {
            for (const Route& route : node.routes) {
                if (route.method == req.method) {
                    found = &route;
                    return true;
                }
                allowed.push_back(route.method);
            }
            return false;
        }
        const std::string& segment = (*segments)[depth];
        if (auto it = node.literals.find(segment); it != node.literals.end()) {
            if (self(self, *it->second, depth + 1)) return true;
        }
        if (node.param && !segment.empty()) {
            values.push_back(segment);
            if (self(self, *node.param, depth + 1)) return true;
            values.pop_back();
        }
        return false;
    };

    if (visit(visit, *root_, 0)) {
        for (std::size_t i = 0; i < found->param_names.size(); ++i) {
            req.path_params.emplace(found->param_names[i], std::string(values[i]));
        }
        req.route = found->pattern;
        match.handler = &found->handler;
        match.pool = found->pool;
        return match;
    }
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    match.path_exists = !allowed.empty();
    match.allowed = std::move(allowed);
    return match;
}

}  // namespace switchboard::http_server

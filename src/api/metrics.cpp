#include "api/metrics.hpp"

#include <fmt/format.h>

namespace switchboard::api {

namespace {
// Prometheus label values: escape backslash, quote and newline.
std::string Label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}
}  // namespace

void Metrics::Record(const std::string& method, const std::string& route, int status, double seconds) {
    const std::string r = route.empty() ? "unmatched" : route;
    std::lock_guard lock(mutex_);
    ++requests_[{method, r, status}];
    auto& h = latency_[r];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) ++h.buckets[i];
    }
    ++h.count;
    h.sum += seconds;
}

std::string Metrics::Render(const std::function<store::Db::PoolStats()>& pool) const {
    std::string out;
    out += "# HELP switchboard_http_requests_total HTTP requests by method, route and status.\n";
    out += "# TYPE switchboard_http_requests_total counter\n";
    std::lock_guard lock(mutex_);
    for (const auto& [key, n] : requests_) {
        const auto& [method, route, status] = key;
        out += fmt::format("switchboard_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                           Label(method), Label(route), status, n);
    }
    out += "# HELP switchboard_http_request_duration_seconds HTTP request latency by route.\n";
    out += "# TYPE switchboard_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            out += fmt::format("switchboard_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                               Label(route), kBuckets[i], h.buckets[i]);
        }
        out += fmt::format("switchboard_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                           Label(route), h.count);
        out += fmt::format("switchboard_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", Label(route), h.sum);
        out +=
            fmt::format("switchboard_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", Label(route), h.count);
    }
    if (pool) {
        const auto s = pool();
        // One metric without labels: its HELP and TYPE lines, then its value.
        const auto single = [&out](std::string_view name, std::string_view type, std::string_view help,
                                   const auto& value) {
            out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
        };
        single("switchboard_db_pool_connections", "gauge", "Database connections in the pool.", s.size);
        single("switchboard_db_pool_in_use", "gauge", "Database connections in use.", s.in_use);
        single("switchboard_db_pool_waits_total", "counter", "Times a caller waited for a database connection.",
               s.waits);
        if (s.commits > 0) {
            single("switchboard_db_commits_total", "counter", "SQLite group commits (one COMMIT and fsync each).",
                   s.commits);
            single("switchboard_db_committed_transactions_total", "counter", "Transactions those commits carried.",
                   s.committed_transactions);
            single("switchboard_db_commit_seconds_total", "counter", "Time spent in COMMIT (WAL write and fsync).",
                   fmt::format("{:.6f}", s.commit_seconds));
        }
    }
    return out;
}

}  // namespace switchboard::api

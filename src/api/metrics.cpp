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
        out += "# HELP switchboard_db_pool_connections Database connections in the pool.\n";
        out += "# TYPE switchboard_db_pool_connections gauge\n";
        out += fmt::format("switchboard_db_pool_connections {}\n", s.size);
        out += "# HELP switchboard_db_pool_in_use Database connections in use.\n";
        out += "# TYPE switchboard_db_pool_in_use gauge\n";
        out += fmt::format("switchboard_db_pool_in_use {}\n", s.in_use);
        out += "# HELP switchboard_db_pool_waits_total Times a caller waited for a database connection.\n";
        out += "# TYPE switchboard_db_pool_waits_total counter\n";
        out += fmt::format("switchboard_db_pool_waits_total {}\n", s.waits);
        if (s.commits > 0) {
            out += "# HELP switchboard_db_commits_total SQLite group commits (one COMMIT and fsync each).\n";
            out += "# TYPE switchboard_db_commits_total counter\n";
            out += fmt::format("switchboard_db_commits_total {}\n", s.commits);
            out += "# HELP switchboard_db_committed_transactions_total Transactions those commits carried.\n";
            out += "# TYPE switchboard_db_committed_transactions_total counter\n";
            out += fmt::format("switchboard_db_committed_transactions_total {}\n", s.committed_transactions);
            out += "# HELP switchboard_db_commit_seconds_total Time spent in COMMIT (WAL write and fsync).\n";
            out += "# TYPE switchboard_db_commit_seconds_total counter\n";
            out += fmt::format("switchboard_db_commit_seconds_total {:.6f}\n", s.commit_seconds);
        }
    }
    return out;
}

}  // namespace switchboard::api

#pragma once
// Prometheus text metrics: requests by route and status, a latency histogram, and database pool figures.
// Record() is called once per request from the server's observer; it takes a mutex for a few map updates.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "store/db.hpp"

namespace switchboard::api {

class Metrics {
  public:
    static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

    void Record(const std::string& method, const std::string& route, int status, double seconds);
    // pool: called at render time for database pool figures (may be empty).
    std::string Render(const std::function<store::Db::PoolStats()>& pool) const;

  private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // method, route, status
    std::map<std::string, Histogram> latency_;                                     // by route
};

}  // namespace switchboard::api

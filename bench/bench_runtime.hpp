#pragma once
// Benchmark-only helper: a Switchboard runtime built exactly as `switchboard serve` builds it (app::OpenRuntime:
// SQLite with WAL and synchronous=FULL, the master key file, the built-in app catalog, every service), in a fresh
// temporary data directory on the same file system as /tmp (a real disk here, so commits pay their fsync).
//
// It holds a user, a team with one HTTP API-key connection (the workload's connection) and a scenario row, an
// API token, and on demand a second team with 10,000 connections for the listing benchmarks. Built on first use
// and shared by every benchmark of the binary; the directory is removed at exit.
#include <cstdint>
#include <memory>
#include <string>

#include "accounts/account_service.hpp"
#include "api/metrics.hpp"
#include "app/runtime.hpp"
#include "core/ids.hpp"
#include "http_server/router.hpp"

namespace switchboard::bench {

class BenchRuntime {
  public:
    // The shared instance; aborts the process with a message when it cannot be built (a benchmark without its
    // fixture measures nothing).
    static BenchRuntime& Get();
    ~BenchRuntime();
    BenchRuntime(const BenchRuntime&) = delete;
    BenchRuntime& operator=(const BenchRuntime&) = delete;

    app::Runtime& rt() { return *rt_; }
    const std::string& dir() const { return dir_; }

    core::TeamId team;              // the workload's team
    core::ConnectionId connection;  // http-apikey: apiKey test-key-123 in header X-Api-Key
    std::int64_t scenario_id = 0;   // a webhook scenario row of `team` (for the execution queue)
    std::string token;              // "sbt_…" API token of the team's admin
    accounts::Caller caller;

    // A team holding `kLargeTeamConnections` connections (created on the first call: one through the connection
    // service, the others copied from it in one SQL statement, since listing never opens the sealed data).
    static constexpr int kLargeTeamConnections = 10'000;
    core::TeamId LargeTeam();

    // The API router (api::BuildRouter) over this runtime, as `serve` wires it.
    const http_server::Router& router();

  private:
    BenchRuntime();

    std::string dir_;
    std::unique_ptr<app::Runtime> rt_;
    api::Metrics metrics_;
    std::unique_ptr<http_server::Router> router_;
    core::TeamId large_team_;
};

// Exits with the message (fixture set-up failures only).
[[noreturn]] void Die(const std::string& what);

}  // namespace switchboard::bench

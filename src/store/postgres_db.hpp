#pragma once
// PostgresDb: the scale-out backend on libpq. A pool of up to pool_size connections, opened lazily; a caller that
// finds every connection busy waits (counted in Stats().waits) up to acquire_timeout. An idle connection that the
// server closed (restart, pg_terminate_backend, idle timeout) is noticed before use and reconnected; a connection
// that fails during use is dropped and replaced on a later call.
//
// Parameters travel as text: integers typed int8, doubles float8, strings and NULL untyped (the server infers
// the type from the statement). Results convert by column type: int2/int4/int8 → int64, float4/float8/numeric →
// double, bool → 0/1, everything else text, NULL → nullptr.
//
// Errors (see db.hpp): SQLSTATE class 23 (unique, foreign key, check, not null) → kConflict with the
// constraint in the detail; connection failures and server shutdown/overload → kUnavailable; 40001/40P01 inside
// Transaction → retried, then kUnavailable; anything else kInternal.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/db.hpp"

namespace switchboard::store {

class PostgresDb final : public Db {
  public:
    struct Options {
        int pool_size = 8;
        int connect_timeout_seconds = 5;  // used unless the connection string sets connect_timeout
        std::chrono::milliseconds acquire_timeout{30'000};
        int max_attempts = 5;  // for a transaction that hits a serialization failure or deadlock
    };

    // Checks the connection string (libpq URI or key=value list) without connecting; connections open on use.
    // kInvalidArgument when it cannot be parsed.
    static core::Result<std::unique_ptr<PostgresDb>> Open(const std::string& conninfo, Options options);
    static core::Result<std::unique_ptr<PostgresDb>> Open(const std::string& conninfo) {
        return Open(conninfo, Options{});
    }
    ~PostgresDb() override;
    PostgresDb(const PostgresDb&) = delete;
    PostgresDb& operator=(const PostgresDb&) = delete;

    Backend backend() const override { return Backend::kPostgres; }
    core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params = {}) override;
    using Db::Transaction;
    core::Result<void> Transaction(const std::function<core::Result<void>(Tx&)>& fn, Durability durability) override;
    core::Result<void> ExecScript(std::string_view sql) override;
    core::Result<void> Ping() override;
    PoolStats Stats() const override;

    struct Conn;  // one PGconn (defined in the .cpp)
    class Lease;  // a connection checked out of the pool

  private:
    PostgresDb(std::vector<std::pair<std::string, std::string>> params, Options options);
    core::Result<std::unique_ptr<Conn>> Connect();
    core::Result<std::unique_ptr<Conn>> Acquire();
    void Release(std::unique_ptr<Conn> conn, bool broken);

    const std::vector<std::pair<std::string, std::string>> conn_params_;  // libpq keyword/value pairs
    const Options options_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Conn>> idle_;
    int open_ = 0;    // connections that exist (idle + in use + being opened)
    int in_use_ = 0;  // connections checked out
    std::atomic<std::int64_t> waits_{0};
};

}  // namespace switchboard::store

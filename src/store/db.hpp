#pragma once
// The SQL seam: one small interface, two technologies (SqliteDb, PostgresDb). Everything above it writes
// portable SQL once: parameters are $1, $2, … on both backends; ids come back with RETURNING; times are
// integer milliseconds since the epoch; booleans are integers 0/1; binary data is stored as base64 TEXT.
//
// All calls block: callers run them on a worker thread, never on an I/O thread.
// Errors: kUnavailable when the database cannot be reached or stays busy past the timeout,
// kConflict on a unique/foreign-key violation (detail names the constraint), kInternal otherwise.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace switchboard::store {

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

struct Row {
    std::vector<Value> values;

    bool IsNull(std::size_t i) const { return std::holds_alternative<std::nullptr_t>(values.at(i)); }
    // Int/Text convert as the other backend would have returned the value (PG text results parse as needed).
    std::int64_t Int(std::size_t i) const;
    std::string Text(std::size_t i) const;
    std::optional<std::int64_t> OptInt(std::size_t i) const {
        return IsNull(i) ? std::nullopt : std::optional<std::int64_t>(Int(i));
    }
    std::optional<std::string> OptText(std::size_t i) const {
        return IsNull(i) ? std::nullopt : std::optional<std::string>(Text(i));
    }
};

struct QueryResult {
    std::vector<std::string> columns;
    std::vector<Row> rows;
    std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

enum class Backend { kSqlite, kPostgres };

// When a transaction's commit must be on disk.
//   kDurable:  before Transaction returns (the default): it survives a crash or a power loss.
//   kDeferred: with the next durable commit (SQLite: synchronous=NORMAL for that commit; PostgreSQL:
//              synchronous_commit=off). A crash can lose it, but never reorders it: a later durable commit
//              makes it durable too. For rows whose loss nobody was told about (an execution row written
//              before its run, which the run's durable finish follows).
enum class Durability { kDurable, kDeferred };

// Executes statements inside one open transaction.
class Tx {
  public:
    virtual ~Tx() = default;
    virtual core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
};

class Db {
  public:
    virtual ~Db() = default;
    virtual Backend backend() const = 0;
    // One statement in its own transaction.
    virtual core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
    // Runs fn in a transaction: commit when it returns a value, roll back when it returns an error or throws.
    // A transaction that fails on a serialization conflict or SQLITE_BUSY is retried (fn must be repeatable).
    // SQLite commits concurrent callers' transactions together (group commit, sqlite_db.hpp): fn may then run on
    // another caller's thread, while its own caller waits; its effects and its outcome stay its own.
    virtual core::Result<void> Transaction(const std::function<core::Result<void>(Tx&)>& fn, Durability durability) = 0;
    core::Result<void> Transaction(const std::function<core::Result<void>(Tx&)>& fn) {
        return Transaction(fn, Durability::kDurable);
    }
    // Runs a script of several statements separated by ';' (migrations). No parameters.
    virtual core::Result<void> ExecScript(std::string_view sql) = 0;
    // Cheap liveness probe for /readyz.
    virtual core::Result<void> Ping() = 0;
    // Pool figures for /metrics (SQLite reports its single writer + readers).
    struct PoolStats {
        int size = 0;
        int in_use = 0;
        std::int64_t waits = 0;  // times a caller had to wait for a free connection
        // SQLite's group commit (0 on PostgreSQL): COMMITs of groups, the transactions they carried, and the time
        // spent in COMMIT (writing the WAL and waiting for its fsync).
        std::int64_t commits = 0;
        std::int64_t committed_transactions = 0;
        double commit_seconds = 0;
    };
    virtual PoolStats Stats() const = 0;
};

// "sqlite:/path/to/file.db" or "postgres://…" / "postgresql://…" (libpq URI or key=value string after "postgres:").
core::Result<std::unique_ptr<Db>> OpenDb(const std::string& url, int pool_size = 8);

}  // namespace switchboard::store

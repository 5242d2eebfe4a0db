#pragma once
// SqliteDb: the embedded backend. One writer connection (a mutex serialises writes and transactions, which
// begin with BEGIN IMMEDIATE so that concurrent processes queue on the database lock instead of failing late)
// and a small pool of read-only connections for single read statements, which WAL lets run beside the writer.
//
// Durability: journal_mode=WAL with synchronous=FULL, so a write is on disk before Exec/Transaction returns.
// Every connection has busy_timeout and foreign_keys=ON. Errors as documented in db.hpp; a file that cannot be
// opened (missing parent directory, permissions) is kUnavailable with the path in the detail.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/db.hpp"

namespace switchboard::store {

class SqliteDb final : public Db {
  public:
    struct Options {
        int readers = 4;  // read-only connections for Exec of read statements; 0 sends everything to the writer
        int busy_timeout_ms = 5000;
        int busy_retries = 3;  // whole-statement/transaction retries after the busy timeout expired
    };

    // Opens (creating if missing) the database file at `path`. The parent directory must exist.
    static core::Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, Options options);
    static core::Result<std::unique_ptr<SqliteDb>> Open(const std::string& path) { return Open(path, Options{}); }
    ~SqliteDb() override;
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    Backend backend() const override { return Backend::kSqlite; }
    core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params = {}) override;
    core::Result<void> Transaction(const std::function<core::Result<void>(Tx&)>& fn) override;
    core::Result<void> ExecScript(std::string_view sql) override;
    core::Result<void> Ping() override;
    PoolStats Stats() const override;

    struct Conn;  // one sqlite3 handle with its prepared-statement cache (defined in the .cpp)

  private:
    SqliteDb(std::string path, Options options);
    core::Result<Conn*> AcquireReader();
    void ReleaseReader(Conn* conn);
    std::unique_lock<std::mutex> LockWriter();

    // Counts the writer as in use for Stats() while alive.
    struct WriterInUse {
        explicit WriterInUse(std::atomic<int>& n) : count(n) { ++count; }
        ~WriterInUse() { --count; }
        WriterInUse(const WriterInUse&) = delete;
        WriterInUse& operator=(const WriterInUse&) = delete;
        std::atomic<int>& count;
    };

    const std::string path_;
    const Options options_;

    std::unique_ptr<Conn> writer_;
    std::mutex writer_mutex_;

    std::mutex readers_mutex_;
    std::condition_variable readers_cv_;
    std::vector<std::unique_ptr<Conn>> readers_;  // every reader opened so far (at most options_.readers)
    std::vector<Conn*> idle_readers_;

    std::atomic<int> writer_in_use_{0};
    std::atomic<int> readers_in_use_{0};
    std::atomic<std::int64_t> waits_{0};
};

}  // namespace switchboard::store

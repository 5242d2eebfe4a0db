#pragma once
// SqliteDb: the embedded backend. One writer connection (a mutex serialises writes and transactions, which
// begin with BEGIN IMMEDIATE so that concurrent processes queue on the database lock instead of failing late)
// and a small pool of read-only connections for single read statements, which WAL lets run beside the writer.
//
// Durability: journal_mode=WAL with synchronous=FULL, so a write is on disk before Exec/Transaction returns
// (unless the caller asked for Durability::kDeferred, db.hpp).
//
// Group commit: writes (Transaction, and Exec of a statement that writes) queue for the writer. The first caller
// to find the writer free leads: it takes every transaction waiting at that moment, runs each inside its own
// SAVEPOINT on its own behalf (one that fails or throws is rolled back alone, the others go on), commits them
// with ONE COMMIT and one fsync, and then wakes their callers, who return only now: an acknowledged write is on
// disk. Callers that arrive during that commit form the next group. A lone caller pays one savepoint-free
// transaction, as before; under load, N concurrent writers share one fsync instead of queueing for N.
//
// A caller running in a fiber (core/cooperative.hpp: the HTTP server's webhook runs) never leads, since the
// COMMIT's fsync would stall every other fiber of its thread: a committer thread leads in its place, and the fiber
// is suspended until its group has committed.
//
// Checkpoints run mostly off the write path: the writer's automatic checkpoint is replaced by a background thread
// with its own connection that runs a PASSIVE checkpoint when the WAL has grown past `checkpoint_pages`. Under
// steady writes that pass never reaches the WAL's end (commits keep coming), and the WAL can start over only once
// all of it was copied: past twice the threshold the writer copies the remainder itself after a commit.
//
// Every connection has busy_timeout and foreign_keys=ON. Errors as documented in db.hpp; a file that cannot be
// opened (missing parent directory, permissions) is kUnavailable with the path in the detail.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/db.hpp"

struct sqlite3;

namespace switchboard::store {

class SqliteDb final : public Db {
  public:
    struct Options {
        int readers = 4;  // read-only connections for Exec of read statements; 0 sends everything to the writer
        int busy_timeout_ms = 5000;
        int busy_retries = 3;         // whole-statement/transaction retries after the busy timeout expired
        int checkpoint_pages = 1000;  // WAL pages that start a background checkpoint (SQLite's default threshold)
        int max_group = 256;          // transactions committed together at most
    };

    // Opens (creating if missing) the database file at `path`. The parent directory must exist.
    static core::Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, Options options);
    static core::Result<std::unique_ptr<SqliteDb>> Open(const std::string& path) { return Open(path, Options{}); }
    ~SqliteDb() override;
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    Backend backend() const override { return Backend::kSqlite; }
    core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params = {}) override;
    using Db::Transaction;
    core::Result<void> Transaction(const std::function<core::Result<void>(Tx&)>& fn, Durability durability) override;
    core::Result<void> ExecScript(std::string_view sql) override;
    core::Result<void> Ping() override;
    PoolStats Stats() const override;

    // Group commit and checkpoint figures (tests, metrics): COMMITs of groups, transactions they carried, and
    // background checkpoints run.
    struct GroupStats {
        std::int64_t groups = 0;
        std::int64_t members = 0;
        std::int64_t checkpoints = 0;
    };
    GroupStats Groups() const { return {groups_.load(), members_.load(), checkpoints_.load()}; }

    struct Conn;  // one sqlite3 handle with its prepared-statement cache (defined in the .cpp)

    struct Member;  // one caller's transaction in a group commit (defined in the .cpp)

  private:
    SqliteDb(std::string path, Options options);
    // Queues m and returns once a group that contains it has committed (or failed); leads a group if none runs.
    void Submit(Member& m);
    // Runs one group on the writer: every member in its savepoint, one COMMIT. Sets each member's outcome.
    void RunGroup(const std::vector<Member*>& group);
    // Commits waiting groups (notifying their members) until until() holds; group_mutex_ held, released meanwhile.
    template <typename Until>
    void LeadLocked(std::unique_lock<std::mutex>& lock, Until until, const Member* self);
    // The committer thread (started on first use) takes the lead: for fibers, which must not lead.
    void HandLeadToCommitterLocked(std::unique_lock<std::mutex>& lock);
    void CommitterLoop();
    core::Result<void> SetWriterSync(bool full);
    void StartCheckpointer();
    void CheckpointLoop();
    static int OnWalCommit(void* self, ::sqlite3* db, const char* name, int pages);
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
    bool writer_full_sync_ = true;  // the writer's synchronous setting (guarded by writer_mutex_)

    std::mutex group_mutex_;
    std::vector<Member*> waiting_;  // queued for the next group
    bool leading_ = false;          // a caller leads (a group is running, or the lead is being handed over)
    std::thread committer_thread_;  // leads for fibers (core/cooperative.hpp); started on first use
    std::condition_variable committer_cv_;
    bool committer_due_ = false;  // the lead was handed to the committer
    bool committer_stopping_ = false;

    std::unique_ptr<Conn> checkpointer_;
    std::thread checkpoint_thread_;
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_due_ = false;
    bool stopping_ = false;
    std::atomic<std::int64_t> checkpoints_{0};
    std::atomic<std::int64_t> groups_{0};
    std::atomic<std::int64_t> members_{0};
    std::atomic<std::int64_t> commit_nanos_{0};

    std::mutex readers_mutex_;
    std::condition_variable readers_cv_;
    std::vector<std::unique_ptr<Conn>> readers_;  // every reader opened so far (at most options_.readers)
    std::vector<Conn*> idle_readers_;

    std::atomic<int> writer_in_use_{0};
    std::atomic<int> readers_in_use_{0};
    std::atomic<std::int64_t> waits_{0};
};

}  // namespace switchboard::store

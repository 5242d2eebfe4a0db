// The Db seam on both backends, plus what only one backend has (SQLite file settings and crash safety,
// PostgreSQL type mapping and reconnection).
#include "store/db.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <optional>
#include <thread>

#include "backend_fixture.hpp"
#include "core/cooperative.hpp"
#include "store/sqlite_db.hpp"

namespace switchboard::store::testing {
namespace {

using core::Errc;

class DbTest : public BackendTest {
  protected:
    void SetUp() override {
        BackendTest::SetUp();
        db_ = Open();
        Must(db_->ExecScript(
            "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty BIGINT, price DOUBLE PRECISION);"
            "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
            "INSERT INTO counter (id, n) VALUES (1, 0);"));
    }

    std::int64_t Count(const std::string& table) {
        return Must(db_->Exec("SELECT COUNT(*) FROM " + table)).rows.at(0).Int(0);
    }

    std::unique_ptr<Db> db_;
};

TEST_P(DbTest, ReportsItsBackend) { EXPECT_EQ(db_->backend(), GetParam()); }

TEST_P(DbTest, ParametersRoundTripWithTheirTypes) {
    const std::int64_t big = 9'007'199'254'740'993;  // not representable as a double
    const std::string text = "O'Brien — \"quoted\" ünïcødé; DROP TABLE items";
    auto r = Must(db_->Exec("SELECT $1, $2, $3, $4, $5", {big, 2.5, text, nullptr, std::int64_t{-7}}));
    ASSERT_EQ(r.rows.size(), 1u);
    ASSERT_EQ(r.rows[0].values.size(), 5u);
    EXPECT_EQ(r.rows[0].values[0], Value(big));
    EXPECT_EQ(r.rows[0].values[1], Value(2.5));
    EXPECT_EQ(r.rows[0].values[2], Value(text));
    EXPECT_TRUE(r.rows[0].IsNull(3));
    EXPECT_EQ(r.rows[0].Int(4), -7);
    EXPECT_EQ(r.affected, 0);

    // Through a table as well: stored and read back with the same types.
    auto ins = Must(
        db_->Exec("INSERT INTO items (id, name, qty, price) VALUES ($1, $2, $3, $4)", {big, text, nullptr, -0.125}));
    EXPECT_EQ(ins.affected, 1);
    auto row = Must(db_->Exec("SELECT id, name, qty, price FROM items WHERE id = $1", {big}));
    ASSERT_EQ(row.rows.size(), 1u);
    EXPECT_EQ(row.columns, (std::vector<std::string>{"id", "name", "qty", "price"}));
    EXPECT_EQ(row.rows[0].values[0], Value(big));
    EXPECT_EQ(row.rows[0].values[1], Value(text));
    EXPECT_TRUE(row.rows[0].IsNull(2));
    EXPECT_FALSE(row.rows[0].OptInt(2).has_value());
    EXPECT_EQ(row.rows[0].values[3], Value(-0.125));
    EXPECT_EQ(row.rows[0].Text(3), "-0.125");
}

TEST_P(DbTest, AffectedCountsChangedRows) {
    for (int i = 1; i <= 3; ++i) {
        Must(db_->Exec("INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)",
                       {std::int64_t{i}, "item" + std::to_string(i), std::int64_t{i * 10}}));
    }
    EXPECT_EQ(Must(db_->Exec("UPDATE items SET qty = qty + 1 WHERE qty >= $1", {std::int64_t{20}})).affected, 2);
    EXPECT_EQ(Must(db_->Exec("UPDATE items SET qty = 0 WHERE id = $1", {std::int64_t{99}})).affected, 0);
    auto returning = Must(db_->Exec("DELETE FROM items WHERE id = $1 RETURNING name", {std::int64_t{1}}));
    EXPECT_EQ(returning.affected, 1);
    ASSERT_EQ(returning.rows.size(), 1u);
    EXPECT_EQ(returning.rows[0].Text(0), "item1");
    auto select = Must(db_->Exec("SELECT qty FROM items ORDER BY id"));
    EXPECT_EQ(select.affected, 0);
    ASSERT_EQ(select.rows.size(), 2u);
    EXPECT_EQ(select.rows[0].Int(0), 21);
    EXPECT_EQ(select.rows[1].Int(0), 31);
}

TEST_P(DbTest, UniqueViolationIsAConflict) {
    Must(db_->Exec("INSERT INTO items (id, name) VALUES (1, 'a')"));
    auto dup = db_->Exec("INSERT INTO items (id, name) VALUES (2, 'a')");
    ASSERT_TRUE(IsError(dup, Errc::kConflict));
    EXPECT_FALSE(dup.error().detail.empty());
    EXPECT_EQ(Count("items"), 1);
}

TEST_P(DbTest, WrongParameterCountFails) {
    // A programming error, never the caller's: internal (500, details only in the log).
    EXPECT_TRUE(IsError(db_->Exec("SELECT $1, $2", {std::int64_t{1}}), Errc::kInternal));
    EXPECT_FALSE(db_->Exec("SELECT $1", {std::int64_t{1}, std::int64_t{2}}).has_value());
    EXPECT_FALSE(db_->Exec("SELECT 1; SELECT 2").has_value());
    EXPECT_FALSE(db_->Exec("SELECT * FROM no_such_table").has_value());
    // Placeholders inside literals and comments are not parameters.
    auto quoted = Must(db_->Exec("SELECT '$2', $1 -- $3\n", {std::int64_t{5}}));
    EXPECT_EQ(quoted.rows.at(0).Text(0), "$2");
    EXPECT_EQ(quoted.rows.at(0).Int(1), 5);
}

TEST_P(DbTest, TransactionCommits) {
    Must(db_->Transaction([](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES ($1, $2)", {std::int64_t{1}, std::string("a")}));
        auto seen = Must(tx.Exec("SELECT COUNT(*) FROM items"));
        EXPECT_EQ(seen.rows.at(0).Int(0), 1);  // own writes are visible inside
        Must(tx.Exec("INSERT INTO items (id, name) VALUES ($1, $2)", {std::int64_t{2}, std::string("b")}));
        return {};
    }));
    EXPECT_EQ(Count("items"), 2);
}

TEST_P(DbTest, TransactionRollsBackWhenFnReturnsAnError) {
    auto r = db_->Transaction([](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (1, 'a')"));
        Must(tx.Exec("UPDATE counter SET n = 100"));
        return core::InvalidArgument("changed my mind");
    });
    ASSERT_TRUE(IsError(r, Errc::kInvalidArgument));
    EXPECT_EQ(r.error().detail, "changed my mind");
    EXPECT_EQ(Count("items"), 0);
    EXPECT_EQ(Must(db_->Exec("SELECT n FROM counter")).rows.at(0).Int(0), 0);
}

TEST_P(DbTest, TransactionRollsBackWhenAStatementFails) {
    Must(db_->Exec("INSERT INTO items (id, name) VALUES (1, 'taken')"));
    auto r = db_->Transaction([](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (2, 'fresh')"));
        auto dup = tx.Exec("INSERT INTO items (id, name) VALUES (3, 'taken')");
        if (!dup) return dup.error();
        return {};
    });
    EXPECT_TRUE(IsError(r, Errc::kConflict));
    EXPECT_EQ(Count("items"), 1);
}

TEST_P(DbTest, TransactionCannotContinueOrCommitAfterAFailedStatement) {
    Must(db_->Exec("INSERT INTO items (id, name) VALUES (1, 'taken')"));
    bool later_statement_failed = false;
    auto r = db_->Transaction([&](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (2, 'fresh')"));
        auto dup = tx.Exec("INSERT INTO items (id, name) VALUES (3, 'taken')");
        EXPECT_FALSE(dup.has_value());
        // Same rule on both backends: after an error the transaction is dead.
        later_statement_failed = !tx.Exec("INSERT INTO items (id, name) VALUES (4, 'later')").has_value();
        return {};  // swallowing the error must not commit half the work
    });
    EXPECT_TRUE(later_statement_failed);
    EXPECT_TRUE(IsError(r, Errc::kConflict));
    EXPECT_EQ(Count("items"), 1);
}

TEST_P(DbTest, TransactionRollsBackAndRethrowsOnException) {
    EXPECT_THROW(db_->Transaction([](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (1, 'a')"));
        throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    EXPECT_EQ(Count("items"), 0);
    // The connection is usable afterwards.
    Must(db_->Transaction([](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (2, 'b')"));
        return {};
    }));
    EXPECT_EQ(Count("items"), 1);
}

TEST_P(DbTest, NestedUseInsideATransactionFailsInsteadOfDeadlocking) {
    core::Result<QueryResult> nested = core::Internal("not run");
    Must(db_->Transaction([&](Tx&) -> core::Result<void> {
        nested = db_->Exec("SELECT 1");
        return {};
    }));
    EXPECT_TRUE(IsError(nested, Errc::kInternal));
    EXPECT_TRUE(db_->Exec("SELECT 1").has_value());
}

TEST_P(DbTest, ExecRefusesTransactionControl) {
    EXPECT_FALSE(db_->Exec("BEGIN").has_value());
    // Nothing was left open: a failing transaction still rolls back, a plain write still commits.
    Must(db_->Exec("INSERT INTO items (id, name) VALUES (1, 'a')"));
    auto other = Open();
    EXPECT_EQ(Must(other->Exec("SELECT COUNT(*) FROM items")).rows.at(0).Int(0), 1);
}

TEST_P(DbTest, ExecScriptIsAllOrNothing) {
    Must(
        db_->ExecScript("INSERT INTO items (id, name) VALUES (1, 'a'); INSERT INTO items (id, name) VALUES (2, 'b');"));
    EXPECT_EQ(Count("items"), 2);
    auto r =
        db_->ExecScript("INSERT INTO items (id, name) VALUES (3, 'c'); INSERT INTO items (id, name) VALUES (4, 'a');");
    EXPECT_TRUE(IsError(r, Errc::kConflict));
    EXPECT_EQ(Count("items"), 2);
}

TEST_P(DbTest, Ping) {
    Must(db_->Ping());
    EXPECT_GE(db_->Stats().size, 1);
    EXPECT_EQ(db_->Stats().in_use, 0);
}

TEST_P(DbTest, ConcurrentTransactionsDoNotLoseUpdates) {
    constexpr int kThreads = 4;
    constexpr int kIncrements = 25;
    auto db = Open(/*pool_size=*/kThreads);
    std::latch start(kThreads);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < kIncrements; ++i) {
                // The UPDATE locks the row; the value read back is this transaction's own, so each one is unique.
                auto r = db->Transaction([](Tx& tx) -> core::Result<void> {
                    if (auto up = tx.Exec("UPDATE counter SET n = n + 1 WHERE id = 1"); !up) return up.error();
                    auto current = tx.Exec("SELECT n FROM counter WHERE id = 1");
                    if (!current) return current.error();
                    const std::int64_t n = current->rows.at(0).Int(0);
                    auto log = tx.Exec("INSERT INTO items (id, name) VALUES ($1, $2)", {n, "n" + std::to_string(n)});
                    if (!log) return log.error();
                    return {};
                });
                if (!r) ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(Must(db_->Exec("SELECT n FROM counter")).rows.at(0).Int(0), kThreads * kIncrements);
    auto log = Must(db_->Exec("SELECT COUNT(*), MIN(id), MAX(id) FROM items"));
    EXPECT_EQ(log.rows.at(0).Int(0), kThreads * kIncrements);
    EXPECT_EQ(log.rows.at(0).Int(1), 1);
    EXPECT_EQ(log.rows.at(0).Int(2), kThreads * kIncrements);
}

TEST_P(DbTest, StatsCountCallersThatWaitedForAConnection) {
    auto db = Open(/*pool_size=*/1);
    std::thread waiter;
    core::Result<QueryResult> waiter_result = core::Internal("not run");
    Must(db->Transaction([&](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO items (id, name) VALUES (1, 'held')"));
        EXPECT_GE(db->Stats().in_use, 1);
        waiter = std::thread([&] { waiter_result = db->Exec("INSERT INTO items (id, name) VALUES (2, 'queued')"); });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (db->Stats().waits == 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return {};
    }));
    waiter.join();
    EXPECT_EQ(db->Stats().waits, 1);
    ASSERT_TRUE(waiter_result.has_value()) << Describe(waiter_result.error());
    EXPECT_EQ(Count("items"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

// ---- OpenDb and Row ----

TEST(OpenDb, RejectsUnknownSchemesNamingTheSetting) {
    auto r = OpenDb("mysql://localhost/db");
    ASSERT_TRUE(IsError(r, Errc::kInvalidArgument));
    EXPECT_NE(r.error().detail.find("database URL"), std::string::npos);
    EXPECT_NE(r.error().detail.find("sqlite:"), std::string::npos);
    EXPECT_NE(r.error().detail.find("postgres://"), std::string::npos);
    EXPECT_TRUE(IsError(OpenDb(""), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(OpenDb("sqlite:"), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(OpenDb("postgres:this is not=a valid' conninfo"), Errc::kInvalidArgument));
}

TEST(OpenDb, SqliteFileInAMissingDirectoryIsAClearError) {
    switchboard::testing::TempDir dir;
    const std::string path = dir.file("missing/sub/switchboard.db");
    auto r = OpenDb("sqlite:" + path);
    ASSERT_TRUE(IsError(r, Errc::kUnavailable));
    EXPECT_NE(r.error().detail.find(path), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find("does not exist"), std::string::npos) << r.error().detail;
}

TEST(OpenDb, UnreachablePostgresIsUnavailable) {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const std::string url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2";
    auto db = Must(OpenDb(url));  // connections open lazily
    EXPECT_TRUE(IsError(db->Ping(), Errc::kUnavailable));
    auto r = db->Exec("SELECT 1");
    ASSERT_TRUE(IsError(r, Errc::kUnavailable));
    EXPECT_NE(r.error().detail.find("cannot connect to PostgreSQL"), std::string::npos) << r.error().detail;
    EXPECT_TRUE(IsError(db->Transaction([](Tx&) -> core::Result<void> { return {}; }), Errc::kUnavailable));
    EXPECT_EQ(db->Stats().in_use, 0);
}

TEST(Row, ConvertsLikeTheOtherBackend) {
    Row row{{std::string("42"), std::int64_t{7}, 1.5, nullptr, std::string("x1")}};
    EXPECT_EQ(row.Int(0), 42);
    EXPECT_EQ(row.Text(0), "42");
    EXPECT_EQ(row.Int(1), 7);
    EXPECT_EQ(row.Text(1), "7");
    EXPECT_EQ(row.Text(2), "1.5");
    EXPECT_EQ(row.Int(2), 1);
    EXPECT_TRUE(row.IsNull(3));
    EXPECT_EQ(row.Int(3), 0);
    EXPECT_EQ(row.Text(3), "");
    EXPECT_FALSE(row.OptText(3).has_value());
    EXPECT_EQ(row.OptText(4), "x1");
    EXPECT_THROW(row.Int(4), core::ErrorException);
    EXPECT_THROW(row.Int(9), std::out_of_range);
}

// ---- SQLite only ----

TEST(SqliteDb, OpensInWalModeWithForeignKeysAndFullSync) {
    switchboard::testing::TempDir dir;
    const std::string path = dir.file("switchboard.db");
    auto db = Must(OpenDb("sqlite:" + path));
    EXPECT_EQ(Must(db->Exec("PRAGMA journal_mode")).rows.at(0).Text(0), "wal");
    EXPECT_EQ(Must(db->Exec("PRAGMA foreign_keys")).rows.at(0).Int(0), 1);
    // The writer, which every write goes through.
    Must(db->Transaction([](Tx& tx) -> core::Result<void> {
        EXPECT_EQ(Must(tx.Exec("PRAGMA foreign_keys")).rows.at(0).Int(0), 1);
        EXPECT_EQ(Must(tx.Exec("PRAGMA synchronous")).rows.at(0).Int(0), 2);  // FULL
        EXPECT_EQ(Must(tx.Exec("PRAGMA busy_timeout")).rows.at(0).Int(0), 5000);
        return {};
    }));
    Must(db->Exec("CREATE TABLE t (x INTEGER)"));
    Must(db->Exec("INSERT INTO t VALUES (1)"));

    // WAL is a property of the file: an independent connection sees it too.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close_v2(raw);
    EXPECT_TRUE(std::filesystem::exists(path + "-wal"));
}

TEST(SqliteDb, AcknowledgedWritesSurviveSigkillAndOpenTransactionsDoNot) {
    switchboard::testing::TempDir dir;
    const std::string url = "sqlite:" + dir.file("crash.db");
    {
        auto db = Must(OpenDb(url));
        Must(db->Exec("CREATE TABLE t (x INTEGER NOT NULL)"));
    }
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Child: commit one row, then die by SIGKILL in the middle of a second transaction.
        // _exit only: the child must not run the parent's atexit handlers.
        close(ready[0]);
        auto db = OpenDb(url);
        if (!db) _exit(1);
        if (!(*db)->Exec("INSERT INTO t (x) VALUES (1)")) _exit(2);
        auto r = (*db)->Transaction([&](Tx& tx) -> core::Result<void> {
            if (!tx.Exec("INSERT INTO t (x) VALUES (2)")) _exit(3);
            if (write(ready[1], "r", 1) != 1) _exit(4);
            for (;;) pause();
        });
        _exit(r ? 5 : 6);
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1) << "child failed before its second transaction";
    close(ready[0]);
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));

    auto db = Must(OpenDb(url));
    auto rows = Must(db->Exec("SELECT x FROM t ORDER BY x"));
    ASSERT_EQ(rows.rows.size(), 1u);
    EXPECT_EQ(rows.rows[0].Int(0), 1);
    // The killed writer's lock is gone: writes work again.
    Must(db->Exec("INSERT INTO t (x) VALUES (3)"));
}

TEST(SqliteDb, ReadersSeeCommittedWritesImmediately) {
    switchboard::testing::TempDir dir;
    auto db = Must(OpenDb("sqlite:" + dir.file("rw.db")));
    Must(db->Exec("CREATE TABLE t (x INTEGER NOT NULL)"));
    for (int i = 1; i <= 20; ++i) {
        Must(db->Exec("INSERT INTO t (x) VALUES ($1)", {std::int64_t{i}}));
        EXPECT_EQ(Must(db->Exec("SELECT COUNT(*) FROM t")).rows.at(0).Int(0), i);
    }
}

// Group commit: transactions that queue while another one runs commit together, each keeping its own outcome.
TEST(SqliteDb, QueuedTransactionsCommitAsOneGroupEachWithItsOwnOutcome) {
    switchboard::testing::TempDir dir;
    auto db = Must(SqliteDb::Open(dir.file("group.db")));
    Must(db->ExecScript("CREATE TABLE t (x INTEGER PRIMARY KEY)"));
    constexpr int kWriters = 6;  // 0..3 insert, 4 returns an error after inserting, 5 throws after inserting
    std::vector<std::thread> writers;
    std::vector<core::Result<void>> results(kWriters, core::Internal("not run"));
    std::vector<bool> threw(kWriters, false);
    const auto before = db->Groups();
    Must(db->Transaction([&](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO t (x) VALUES (100)"));
        // While this one holds the writer, the others queue: they form the next group.
        for (int i = 0; i < kWriters; ++i) {
            writers.emplace_back([&, i] {
                try {
                    results[i] = db->Transaction([i](Tx& inner) -> core::Result<void> {
                        Must(inner.Exec("INSERT INTO t (x) VALUES ($1)", {std::int64_t{i}}));
                        if (i == 4) return core::InvalidArgument("member 4 gives up");
                        if (i == 5) throw std::runtime_error("member 5 throws");
                        return {};
                    });
                } catch (const std::runtime_error&) {
                    threw[i] = true;
                }
            });
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (db->Stats().waits < kWriters && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        EXPECT_EQ(db->Stats().waits, kWriters);
        return {};
    }));
    for (auto& w : writers) w.join();
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(results[i].has_value()) << i << ": " << Describe(results[i].error());
    EXPECT_TRUE(IsError(results[4], Errc::kInvalidArgument));
    EXPECT_TRUE(threw[5]);
    EXPECT_FALSE(threw[4]);
    auto rows = Must(db->Exec("SELECT x FROM t ORDER BY x"));
    std::vector<std::int64_t> xs;
    for (const auto& row : rows.rows) xs.push_back(row.Int(0));
    EXPECT_EQ(xs, (std::vector<std::int64_t>{0, 1, 2, 3, 100}));
    // Two commits: the holder's, then the six queued ones together.
    const auto after = db->Groups();
    EXPECT_EQ(after.groups - before.groups, 2);
    EXPECT_EQ(after.members - before.members, 1 + kWriters);
}

// Stands in for the HTTP server's fibers (core/cooperative.hpp): suspending is waiting on a condition variable, so
// the store's cooperative path runs without a server. Suspend and Resume are called under the same mutex.
class ThreadAsFiber final : public core::Scheduler {
  public:
    int WaitFd(int, short, std::chrono::milliseconds) override { return -1; }
    void Sleep(std::chrono::steady_clock::duration) override {}
    void Offload(const std::function<void()>& fn) override { fn(); }
    void Suspend(std::unique_lock<std::mutex>& lock, void*& handle) override {
        handle = this;
        resumed_ = false;
        ++suspensions;
        cv_.wait(lock, [this] { return resumed_; });
    }
    void Resume(void*) override {
        resumed_ = true;
        cv_.notify_one();
    }
    std::atomic<int> suspensions{0};

  private:
    bool resumed_ = false;
    std::condition_variable cv_;
};

// A fiber never leads a group commit (its thread would stall on the fsync): the committer thread runs its
// transaction, in the same group as the threads that queued with it, and the fiber returns once it is committed.
TEST(SqliteDb, FibersAreCommittedByTheCommitterThreadNotTheirOwn) {
    switchboard::testing::TempDir dir;
    auto db = Must(SqliteDb::Open(dir.file("fibers.db")));
    Must(db->ExecScript("CREATE TABLE t (x INTEGER PRIMARY KEY, thread TEXT)"));
    constexpr int kFibers = 3;
    constexpr int kThreads = 2;
    std::vector<ThreadAsFiber> schedulers(kFibers);
    std::vector<std::thread> callers;
    std::vector<std::thread::id> caller_ids(kFibers + kThreads);
    std::vector<std::thread::id> ran_on(kFibers + kThreads);
    std::vector<core::Result<void>> results(kFibers + kThreads, core::Internal("not run"));
    const auto before = db->Groups();
    Must(db->Transaction([&](Tx& tx) -> core::Result<void> {
        Must(tx.Exec("INSERT INTO t (x) VALUES (100)"));
        // While this thread holds the writer, fibers and threads queue; a fiber is first in line.
        for (int i = 0; i < kFibers + kThreads; ++i) {
            callers.emplace_back([&, i] {
                caller_ids[i] = std::this_thread::get_id();
                std::optional<core::SchedulerScope> fiber;
                if (i < kFibers) fiber.emplace(&schedulers[i]);
                results[i] = db->Transaction([&, i](Tx& inner) -> core::Result<void> {
                    ran_on[i] = std::this_thread::get_id();
                    if (auto r = inner.Exec("INSERT INTO t (x) VALUES ($1)", {std::int64_t{i}}); !r) return r.error();
                    return {};
                });
            });
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (db->Stats().waits < i + 1 && std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
        EXPECT_EQ(db->Stats().waits, kFibers + kThreads);
        return {};
    }));
    for (auto& c : callers) c.join();
    for (int i = 0; i < kFibers + kThreads; ++i) {
        ASSERT_TRUE(results[i].has_value()) << i << ": " << Describe(results[i].error());
        EXPECT_NE(ran_on[i], caller_ids[i]) << i;  // run by the committer, for fibers and threads alike
        EXPECT_EQ(ran_on[i], ran_on[0]) << i;      // one thread, one group
    }
    for (auto& s : schedulers) EXPECT_GE(s.suspensions.load(), 1);
    EXPECT_EQ(Must(db->Exec("SELECT count(*) FROM t")).rows.at(0).Int(0), 1 + kFibers + kThreads);
    const auto after = db->Groups();
    EXPECT_EQ(after.groups - before.groups, 2);
    EXPECT_EQ(after.members - before.members, 1 + kFibers + kThreads);

    // A lone fiber, with nobody leading: the committer leads for it.
    ThreadAsFiber lone;
    std::thread::id lone_caller, lone_ran;
    std::thread([&] {
        lone_caller = std::this_thread::get_id();
        core::SchedulerScope fiber(&lone);
        Must(db->Transaction([&](Tx& inner) -> core::Result<void> {
            lone_ran = std::this_thread::get_id();
            if (auto r = inner.Exec("INSERT INTO t (x) VALUES (200)"); !r) return r.error();
            return {};
        }));
    }).join();
    EXPECT_NE(lone_ran, lone_caller);
    EXPECT_EQ(lone_ran, ran_on[0]);
    EXPECT_EQ(Must(db->Exec("SELECT count(*) FROM t WHERE x = 200")).rows.at(0).Int(0), 1);
}

TEST(SqliteDb, TransactionControlInsideATransactionIsRefusedAndRolledBack) {
    switchboard::testing::TempDir dir;
    auto db = Must(OpenDb("sqlite:" + dir.file("control.db")));
    Must(db->Exec("CREATE TABLE t (x INTEGER)"));
    for (const char* control : {"COMMIT", "  rollback", "END", "SAVEPOINT a", "RELEASE a", "BEGIN"}) {
        auto r = db->Transaction([&](Tx& tx) -> core::Result<void> {
            Must(tx.Exec("INSERT INTO t (x) VALUES (1)"));
            auto c = tx.Exec(control);
            if (!c) return c.error();
            return {};
        });
        EXPECT_TRUE(IsError(r, Errc::kInvalidArgument)) << control;
    }
    EXPECT_EQ(Must(db->Exec("SELECT COUNT(*) FROM t")).rows.at(0).Int(0), 0);
}

TEST(SqliteDb, DeferredTransactionsCommitWithoutSyncAndDurableOnesWithFullSync) {
    switchboard::testing::TempDir dir;
    auto db = Must(OpenDb("sqlite:" + dir.file("deferred.db")));
    auto sync_in = [&](Durability d) {
        std::int64_t level = -1;
        Must(db->Transaction(
            [&](Tx& tx) -> core::Result<void> {
                level = Must(tx.Exec("PRAGMA synchronous")).rows.at(0).Int(0);
                return {};
            },
            d));
        return level;
    };
    EXPECT_EQ(sync_in(Durability::kDeferred), 1);  // NORMAL: no fsync at this commit
    EXPECT_EQ(sync_in(Durability::kDurable), 2);   // FULL again
    EXPECT_EQ(sync_in(Durability::kDeferred), 1);
    Must(db->Exec("CREATE TABLE t (x INTEGER)"));  // a plain write is durable
    EXPECT_EQ(sync_in(Durability::kDurable), 2);
}

TEST(SqliteDb, CheckpointsRunInTheBackgroundOnceTheWalGrows) {
    switchboard::testing::TempDir dir;
    SqliteDb::Options options;
    options.checkpoint_pages = 4;
    auto db = Must(SqliteDb::Open(dir.file("ckpt.db"), options));
    Must(db->Exec("CREATE TABLE t (x INTEGER, pad TEXT)"));
    const std::string pad(3000, 'p');  // about a page per row
    for (int i = 0; i < 40; ++i) Must(db->Exec("INSERT INTO t (x, pad) VALUES ($1, $2)", {std::int64_t{i}, pad}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (db->Groups().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(db->Groups().checkpoints, 0);
    // The pages reached the database file while the database is open (closing it would checkpoint anyway).
    const auto db_file = dir.file("ckpt.db");
    while (std::filesystem::file_size(db_file) < 40 * 3000 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(std::filesystem::file_size(db_file), 40u * 3000u);
    db.reset();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(dir.file("ckpt.db").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT COUNT(*) FROM t", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), 40);
    sqlite3_finalize(stmt);
    sqlite3_close_v2(raw);
}

TEST(SqliteDb, TheWalStaysBoundedUnderSteadyWritesAndReads) {
    switchboard::testing::TempDir dir;
    SqliteDb::Options options;
    options.checkpoint_pages = 8;
    auto db = Must(SqliteDb::Open(dir.file("bounded.db"), options));
    Must(db->Exec("CREATE TABLE t (x INTEGER, pad TEXT)"));
    std::atomic<bool> done{false};
    std::thread reader([&] {
        // Short reads with gaps, as a server's: a reader that never lets go would starve any checkpoint
        // (SQLite's "checkpoint starvation").
        while (!done) {
            Must(db->Exec("SELECT COUNT(*) FROM t"));
            std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
    });
    const std::string pad(3000, 'p');  // about a page per row
    constexpr int kRows = 300;
    for (int i = 0; i < kRows; ++i) Must(db->Exec("INSERT INTO t (x, pad) VALUES ($1, $2)", {std::int64_t{i}, pad}));
    done = true;
    reader.join();
    // Unbounded, the WAL would hold every row (≈ 1.2 MB); it starts over every ≈ 2 × 8 pages instead.
    EXPECT_LT(std::filesystem::file_size(dir.file("bounded.db-wal")), 400u * 1024u);
    EXPECT_GE(std::filesystem::file_size(dir.file("bounded.db")), static_cast<std::uintmax_t>(kRows) * 3000u / 2);
    EXPECT_EQ(Must(db->Exec("SELECT COUNT(*) FROM t")).rows.at(0).Int(0), kRows);
}

// ---- PostgreSQL only ----

TEST(PostgresDb, ConvertsResultsByColumnType) {
    auto db = Must(OpenDb(switchboard::testing::PostgresServer::Shared().CreateDatabase("types")));
    auto r = Must(
        db->Exec("SELECT 1::int2, 2::int4, 3::int8, 1.5::float4, 2.25::float8, 3.5::numeric, true, false, 'x'::text,"
                 " NULL::int8, '{\"a\":1}'::jsonb"));
    ASSERT_EQ(r.rows.size(), 1u);
    const auto& v = r.rows[0].values;
    EXPECT_EQ(v[0], Value(std::int64_t{1}));
    EXPECT_EQ(v[1], Value(std::int64_t{2}));
    EXPECT_EQ(v[2], Value(std::int64_t{3}));
    EXPECT_EQ(v[3], Value(1.5));
    EXPECT_EQ(v[4], Value(2.25));
    EXPECT_EQ(v[5], Value(3.5));
    EXPECT_EQ(v[6], Value(std::int64_t{1}));
    EXPECT_EQ(v[7], Value(std::int64_t{0}));
    EXPECT_EQ(v[8], Value(std::string("x")));
    EXPECT_TRUE(r.rows[0].IsNull(9));
    EXPECT_EQ(v[10], Value(std::string("{\"a\": 1}")));
}

TEST(PostgresDb, DeferredTransactionsTurnSynchronousCommitOffForThemselvesOnly) {
    auto db = Must(OpenDb(switchboard::testing::PostgresServer::Shared().CreateDatabase("deferred"), 1));
    auto setting_in = [&](Durability d) {
        std::string value;
        Must(db->Transaction(
            [&](Tx& tx) -> core::Result<void> {
                value = Must(tx.Exec("SHOW synchronous_commit")).rows.at(0).Text(0);
                return {};
            },
            d));
        return value;
    };
    EXPECT_EQ(setting_in(Durability::kDeferred), "off");
    EXPECT_EQ(setting_in(Durability::kDurable), "on");  // SET LOCAL ended with its transaction (one pooled conn)
}

TEST(PostgresDb, ReplacesAConnectionTheServerClosed) {
    const std::string url = switchboard::testing::PostgresServer::Shared().CreateDatabase("reconnect");
    auto db = Must(OpenDb(url, /*pool_size=*/1));
    auto admin = Must(OpenDb(url, 1));
    const std::int64_t pid = Must(db->Exec("SELECT pg_backend_pid()")).rows.at(0).Int(0);
    auto killed = Must(admin->Exec("SELECT pg_terminate_backend($1::int)", {pid}));
    ASSERT_EQ(killed.rows.at(0).Int(0), 1);
    // Wait until the backend is gone so the pooled socket has seen the server's goodbye.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (Must(admin->Exec("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1::int", {pid})).rows.at(0).Int(0) >
               0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto after = db->Exec("SELECT pg_backend_pid()");
    ASSERT_TRUE(after.has_value()) << Describe(after.error());
    EXPECT_NE(after->rows.at(0).Int(0), pid);
    // And transactions work on the new connection.
    Must(db->Transaction([](Tx& tx) -> core::Result<void> {
        return tx.Exec("SELECT 1").has_value() ? core::Result<void>() : core::Internal("x");
    }));
}

}  // namespace
}  // namespace switchboard::store::testing

#include "store/sqlite_db.hpp"

#include "core/cooperative.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <utility>

#include "store/db_internal.hpp"

namespace switchboard::store {

namespace {
// A prepared statement with what every execution of it needs: the index of each $N parameter (SQLite numbers
// named parameters by first appearance) and the result's column names.
struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> parameter_index;  // [N - 1] = SQLite's index of $N (0: the statement has no $N)
    std::vector<std::string> columns;
};
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace

struct SqliteDb::Conn {
    sqlite3* db = nullptr;
    std::unordered_map<std::string, Prepared, StringHash, std::equal_to<>> cache;

    Conn() = default;
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn() {
        for (auto& entry : cache) sqlite3_finalize(entry.second.stmt);
        sqlite3_close_v2(db);
    }
};

namespace {

constexpr std::size_t kMaxCachedStatements = 256;
constexpr std::size_t kMaxSqlInDetail = 300;

std::string Abbreviate(std::string_view sql) {
    if (sql.size() <= kMaxSqlInDetail) return std::string(sql);
    return std::string(sql.substr(0, kMaxSqlInDetail)) + "…";
}

bool IsBusy(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Maps an SQLite result code to the canonical error. `message` is sqlite3_errmsg() taken right after the failure.
core::Error ErrorFrom(int rc, const std::string& message, std::string_view sql) {
    switch (rc & 0xff) {
        case SQLITE_CONSTRAINT:
            return core::Conflict(message);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return core::Unavailable("SQLite database is busy: " + message);
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_READONLY:
        case SQLITE_NOMEM:
            return core::Unavailable("SQLite: " + message);
        default:
            return core::Internal("SQLite: " + message + " in: " + Abbreviate(sql));
    }
}

// Resets a statement for reuse when the current execution ends, whatever the outcome.
class StatementReset {
  public:
    explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
    ~StatementReset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    StatementReset(const StatementReset&) = delete;
    StatementReset& operator=(const StatementReset&) = delete;

  private:
    sqlite3_stmt* stmt_;
};

// Returns the cached prepared statement for `sql` on `conn`, preparing it on first use. Exactly one statement
// is accepted (portable with PostgreSQL's extended protocol); *rc receives the SQLite code on failure.
core::Result<const Prepared*> Prepare(SqliteDb::Conn& conn, std::string_view sql, int* rc) {
    if (auto it = conn.cache.find(sql); it != conn.cache.end()) return &it->second;
    std::string key(sql);

    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    *rc = sqlite3_prepare_v3(conn.db, key.c_str(), static_cast<int>(key.size()) + 1, SQLITE_PREPARE_PERSISTENT, &stmt,
                             &tail);
    if (*rc != SQLITE_OK) return ErrorFrom(*rc, sqlite3_errmsg(conn.db), sql);
    if (stmt == nullptr) return core::InvalidArgument("empty SQL statement");
    if (tail != nullptr && *tail != '\0') {
        sqlite3_stmt* next = nullptr;
        const int tail_rc = sqlite3_prepare_v2(conn.db, tail, -1, &next, nullptr);
        const bool more = tail_rc != SQLITE_OK || next != nullptr;
        sqlite3_finalize(next);
        if (more) {
            sqlite3_finalize(stmt);
            return core::InvalidArgument("Exec runs one statement; use ExecScript for several: " + Abbreviate(sql));
        }
    }
    Prepared prepared;
    prepared.stmt = stmt;
    const int count = sqlite3_bind_parameter_count(stmt);
    for (int n = 1; n <= count; ++n) {
        const std::string name = "$" + std::to_string(n);
        prepared.parameter_index.push_back(sqlite3_bind_parameter_index(stmt, name.c_str()));
    }
    const int ncols = sqlite3_column_count(stmt);
    for (int i = 0; i < ncols; ++i) prepared.columns.emplace_back(sqlite3_column_name(stmt, i));
    if (conn.cache.size() >= kMaxCachedStatements) {
        for (auto& entry : conn.cache) sqlite3_finalize(entry.second.stmt);
        conn.cache.clear();
    }
    return &conn.cache.emplace(std::move(key), std::move(prepared)).first->second;
}

core::Result<void> Bind(const Prepared& prepared, const std::vector<Value>& params, std::string_view sql) {
    sqlite3_stmt* stmt = prepared.stmt;
    const int expected = static_cast<int>(prepared.parameter_index.size());
    if (expected != static_cast<int>(params.size())) {
        return core::Internal("statement takes " + std::to_string(expected) + " parameters, " +
                              std::to_string(params.size()) + " given: " + Abbreviate(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int index = prepared.parameter_index[i];
        if (index == 0) {
            return core::InvalidArgument("statement has no parameter $" + std::to_string(i + 1) +
                                         " (write parameters as $1, $2, …): " + Abbreviate(sql));
        }
        int rc = SQLITE_OK;
        const Value& v = params[i];
        if (std::holds_alternative<std::nullptr_t>(v)) {
            rc = sqlite3_bind_null(stmt, index);
        } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
            rc = sqlite3_bind_int64(stmt, index, *n);
        } else if (const auto* d = std::get_if<double>(&v)) {
            rc = sqlite3_bind_double(stmt, index, *d);
        } else {
            const std::string& s = std::get<std::string>(v);
            rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        }
        if (rc != SQLITE_OK) return core::Internal("SQLite: cannot bind parameter $" + std::to_string(i + 1));
    }
    return {};
}

Value ColumnValue(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
            return static_cast<std::int64_t>(sqlite3_column_int64(stmt, i));
        case SQLITE_FLOAT:
            return sqlite3_column_double(stmt, i);
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, i));
            const int size = sqlite3_column_bytes(stmt, i);
            return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
        }
        default:
            return nullptr;
    }
}

// Prepares (or reuses), binds and steps one statement to completion. *rc receives the SQLite code on failure.
core::Result<QueryResult> ExecOn(SqliteDb::Conn& conn, std::string_view sql, const std::vector<Value>& params,
                                 int* rc) {
    *rc = SQLITE_OK;
    auto prepared = Prepare(conn, sql, rc);
    if (!prepared) return prepared.error();
    sqlite3_stmt* const stmt = (*prepared)->stmt;
    StatementReset reset(stmt);
    if (auto bound = Bind(**prepared, params, sql); !bound) return bound.error();

    QueryResult out;
    const int ncols = sqlite3_column_count(stmt);
    if (ncols == static_cast<int>((*prepared)->columns.size())) {
        out.columns = (*prepared)->columns;
    } else {  // re-prepared by SQLite after a schema change (SELECT *)
        for (int i = 0; i < ncols; ++i) out.columns.emplace_back(sqlite3_column_name(stmt, i));
    }
    for (;;) {
        const int step = sqlite3_step(stmt);
        if (step == SQLITE_DONE) break;
        if (step != SQLITE_ROW) {
            *rc = step;
            return ErrorFrom(step, sqlite3_errmsg(conn.db), sql);
        }
        Row row;
        row.values.reserve(static_cast<std::size_t>(ncols));
        for (int i = 0; i < ncols; ++i) row.values.push_back(ColumnValue(stmt, i));
        out.rows.push_back(std::move(row));
    }
    if (!sqlite3_stmt_readonly(stmt)) out.affected = sqlite3_changes64(conn.db);
    return out;
}

void RollbackIfOpen(SqliteDb::Conn& conn) {
    if (sqlite3_get_autocommit(conn.db) == 0) sqlite3_exec(conn.db, "ROLLBACK", nullptr, nullptr, nullptr);
}

// A statement run outside Transaction must not leave a transaction open on a shared connection.
core::Result<void> CheckNoOpenTransaction(SqliteDb::Conn& conn) {
    if (sqlite3_get_autocommit(conn.db) != 0) return {};
    RollbackIfOpen(conn);
    return core::InvalidArgument("transaction control statements are not allowed in Exec; use Db::Transaction");
}

core::Result<std::unique_ptr<SqliteDb::Conn>> OpenConn(const std::string& path, int flags, int busy_timeout_ms) {
    auto conn = std::make_unique<SqliteDb::Conn>();
    const int rc = sqlite3_open_v2(path.c_str(), &conn->db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = conn->db != nullptr ? sqlite3_errmsg(conn->db) : "out of memory";
        const auto parent = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
            message += " (directory \"" + parent.string() + "\" does not exist)";
        }
        return core::Unavailable("cannot open SQLite database \"" + path + "\": " + message);
    }
    sqlite3_extended_result_codes(conn->db, 1);
    sqlite3_busy_timeout(conn->db, busy_timeout_ms);
    char* error = nullptr;
    if (sqlite3_exec(conn->db, "PRAGMA foreign_keys = ON", nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error != nullptr ? error : "unknown error";
        sqlite3_free(error);
        return core::Unavailable("cannot use SQLite database \"" + path + "\": " + message);
    }
    return conn;
}

bool IsMemoryPath(const std::string& path) {
    return path == ":memory:" || path.rfind("file::memory:", 0) == 0 || path.find("mode=memory") != std::string::npos;
}

// BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE: they would end or split a transaction that other callers'
// work shares (group commit), so statements run through a Tx may not be one of them.
bool IsTransactionControl(std::string_view sql) {
    std::size_t i = 0;
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
    std::size_t j = i;
    while (j < sql.size() && std::isalpha(static_cast<unsigned char>(sql[j]))) ++j;
    std::string word(sql.substr(i, j - i));
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return word == "BEGIN" || word == "COMMIT" || word == "END" || word == "ROLLBACK" || word == "SAVEPOINT" ||
           word == "RELEASE";
}

class SqliteTx final : public Tx {
  public:
    explicit SqliteTx(SqliteDb::Conn& conn) : conn_(conn) {}

    core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params) override {
        // PostgreSQL aborts a transaction at its first failed statement; behave the same so that code written
        // against one backend cannot rely on continuing after an error on the other.
        if (failed_) return core::Internal("statement in a transaction that already failed: " + first_error_.detail);
        if (IsTransactionControl(sql)) {
            failed_ = true;
            first_error_ =
                core::InvalidArgument("transaction control statements are not allowed in Exec; use Db::Transaction");
            return first_error_;
        }
        int rc = SQLITE_OK;
        auto result = ExecOn(conn_, sql, params, &rc);
        if (!result) {
            failed_ = true;
            busy_ = IsBusy(rc);
            first_error_ = result.error();
        }
        return result;
    }

    bool failed() const { return failed_; }
    bool busy() const { return busy_; }
    const core::Error& first_error() const { return first_error_; }

  private:
    SqliteDb::Conn& conn_;
    bool failed_ = false;
    bool busy_ = false;
    core::Error first_error_;
};

}  // namespace

struct SqliteDb::Member {
    const std::function<core::Result<void>(Tx&)>* fn = nullptr;
    Durability durability = Durability::kDurable;
    core::Result<void> result;
    std::exception_ptr exception;
    bool busy = false;  // failed on SQLITE_BUSY: nothing of it was kept, it may run again
    bool done = false;  // its group has committed (or failed)
    bool lead = false;  // handed the lead of the next group
    core::Wakeup wake;  // each caller is woken alone: no thundering herd on every commit
};

SqliteDb::SqliteDb(std::string path, Options options) : path_(std::move(path)), options_(options) {}

SqliteDb::~SqliteDb() {
    {
        std::lock_guard lock(checkpoint_mutex_);
        stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
    {
        std::lock_guard lock(group_mutex_);
        committer_stopping_ = true;
    }
    committer_cv_.notify_all();
    if (committer_thread_.joinable()) committer_thread_.join();
}

core::Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, Options options) {
    if (path.empty()) return core::InvalidArgument("SQLite database path is empty");
    if (IsMemoryPath(path)) options.readers = 0;  // every connection would see its own empty database
    options.readers = std::max(0, options.readers);
    options.busy_retries = std::max(0, options.busy_retries);
    std::unique_ptr<SqliteDb> db(new SqliteDb(path, options));

    auto writer =
        OpenConn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, options.busy_timeout_ms);
    if (!writer) return writer.error();
    int rc = SQLITE_OK;
    auto mode = ExecOn(**writer, "PRAGMA journal_mode = WAL", {}, &rc);
    if (!mode) {
        return core::Unavailable("cannot use SQLite database \"" + path + "\": " + mode.error().detail);
    }
    const std::string journal = mode->rows.empty() ? std::string() : mode->rows[0].Text(0);
    if (journal != "wal" && !IsMemoryPath(path)) {
        return core::Unavailable("SQLite database \"" + path + "\" cannot use WAL journal mode (got \"" + journal +
                                 "\")");
    }
    // FULL: a commit is synced before it is acknowledged, so it survives a crash or power loss.
    if (auto sync = ExecOn(**writer, "PRAGMA synchronous = FULL", {}, &rc); !sync) return sync.error();
    db->writer_ = std::move(*writer);
    if (!IsMemoryPath(path)) db->StartCheckpointer();
    return db;
}

void SqliteDb::StartCheckpointer() {
    auto conn = OpenConn(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, options_.busy_timeout_ms);
    if (!conn) return;  // SQLite's automatic checkpoint inside the commits stays on
    checkpointer_ = std::move(*conn);
    // The hook replaces the writer's automatic checkpoint (sqlite3_wal_autocheckpoint is itself a WAL hook).
    sqlite3_wal_hook(writer_->db, &SqliteDb::OnWalCommit, this);
    sqlite3_wal_autocheckpoint(checkpointer_->db, 0);
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
}

int SqliteDb::OnWalCommit(void* self, sqlite3* writer, const char* name, int pages) {
    auto* db = static_cast<SqliteDb*>(self);
    // The background checkpoint copies the bulk, but under steady writes it never catches the WAL's end, and a WAL
    // starts over only once all of it was copied. Past twice the threshold the writer finishes the job itself, in
    // this hook as SQLite's own automatic checkpoint does: only the frames written since the background pass are
    // left to copy, and the next write transaction starts the WAL over, so it stays about this size.
    // Readers that keep arriving can still hold on to the last frames (SQLite's "checkpoint starvation"): past
    // four times the threshold, RESTART waits (busy_timeout) for the readers on old frames, which are single
    // statements, so that the WAL starts over at the next write whatever the read load.
    if (pages >= 2 * db->options_.checkpoint_pages) {
        const int mode =
            pages >= 4 * db->options_.checkpoint_pages ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
        sqlite3_wal_checkpoint_v2(writer, name, mode, nullptr, nullptr);
        ++db->checkpoints_;
        return SQLITE_OK;
    }
    if (pages >= db->options_.checkpoint_pages) {
        {
            std::lock_guard lock(db->checkpoint_mutex_);
            db->checkpoint_due_ = true;
        }
        db->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
}

void SqliteDb::CheckpointLoop() {
    std::unique_lock lock(checkpoint_mutex_);
    for (;;) {
        checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || stopping_; });
        if (stopping_) return;
        checkpoint_due_ = false;
        lock.unlock();
        // PASSIVE: copies what no reader still needs, never waits for the writer or blocks it. The WAL starts
        // over at the next commit once everything in it was copied.
        int log = 0;
        int copied = 0;
        // A connection knows the file is in WAL mode only once it has read it: without this read, the checkpoint
        // does nothing (and reports -1 frames).
        sqlite3_exec(checkpointer_->db, "SELECT 1 FROM sqlite_schema LIMIT 1", nullptr, nullptr, nullptr);
        sqlite3_wal_checkpoint_v2(checkpointer_->db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        ++checkpoints_;
        lock.lock();
        // At most one checkpoint per 20 ms: a WAL that cannot be reset yet (a reader on old frames) would
        // otherwise ask again at every commit.
        checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_; });
    }
}

core::Result<void> SqliteDb::SetWriterSync(bool full) {
    if (writer_full_sync_ == full) return {};
    int rc = SQLITE_OK;
    auto set = ExecOn(*writer_, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", {}, &rc);
    if (!set) return set.error();
    writer_full_sync_ = full;
    return {};
}

std::unique_lock<std::mutex> SqliteDb::LockWriter() {
    std::unique_lock<std::mutex> lock(writer_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
        ++waits_;
        lock.lock();
    }
    return lock;
}

core::Result<SqliteDb::Conn*> SqliteDb::AcquireReader() {
    std::unique_lock<std::mutex> lock(readers_mutex_);
    if (idle_readers_.empty() && static_cast<int>(readers_.size()) < options_.readers) {
        auto conn = OpenConn(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, options_.busy_timeout_ms);
        if (!conn) return conn.error();
        readers_.push_back(std::move(*conn));
        ++readers_in_use_;
        return readers_.back().get();
    }
    if (idle_readers_.empty()) {
        ++waits_;
        readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
    }
    Conn* conn = idle_readers_.back();
    idle_readers_.pop_back();
    ++readers_in_use_;
    return conn;
}

void SqliteDb::ReleaseReader(Conn* conn) {
    {
        std::lock_guard<std::mutex> lock(readers_mutex_);
        idle_readers_.push_back(conn);
        --readers_in_use_;
    }
    readers_cv_.notify_one();
}

core::Result<QueryResult> SqliteDb::Exec(std::string_view sql, const std::vector<Value>& params) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    int rc = SQLITE_OK;
    if (options_.readers > 0) {
        auto reader = AcquireReader();
        if (!reader) return reader.error();
        struct Release {
            SqliteDb* db;
            Conn* conn;
            ~Release() { db->ReleaseReader(conn); }
        } release{this, *reader};

        auto stmt = Prepare(**reader, sql, &rc);
        if (!stmt) return stmt.error();
        // Statements that write go to the writer below; everything read-only runs here, beside it.
        if (sqlite3_stmt_readonly((*stmt)->stmt)) {
            for (int attempt = 0;; ++attempt) {
                auto result = ExecOn(**reader, sql, params, &rc);
                if (auto open = CheckNoOpenTransaction(**reader); !open) return open.error();
                if (result || !IsBusy(rc) || attempt >= options_.busy_retries) return result;
            }
        }
    }
    // A write (or any statement without readers): a transaction of its own in the next group commit.
    QueryResult out;
    const std::function<core::Result<void>(Tx&)> fn = [&](Tx& tx) -> core::Result<void> {
        auto result = tx.Exec(sql, params);
        if (!result) return result.error();
        out = std::move(*result);
        return {};
    };
    if (auto done = Transaction(fn, Durability::kDurable); !done) return done.error();
    return out;
}

core::Result<void> SqliteDb::Transaction(const std::function<core::Result<void>(Tx&)>& fn, Durability durability) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    Member me;
    me.fn = &fn;
    me.durability = durability;
    for (int attempt = 0;; ++attempt) {
        Submit(me);
        if (me.exception) std::rethrow_exception(me.exception);
        // Failed on SQLITE_BUSY (another process held the database): its work was rolled back, so run it again.
        if (me.busy && attempt < options_.busy_retries) continue;
        return me.result;
    }
}

void SqliteDb::Submit(Member& me) {
    std::unique_lock lock(group_mutex_);
    me.done = false;
    me.lead = false;
    waiting_.push_back(&me);
    if (me.wake.cooperative()) {
        // A fiber never leads: the commit's fsync would stall every other fiber of its thread. The committer
        // thread leads in its place when nobody does.
        if (!leading_) HandLeadToCommitterLocked(lock);
        ++waits_;
        me.wake.Wait(lock, [&] { return me.done; });
        return;
    }
    if (leading_) {
        ++waits_;
        me.wake.Wait(lock, [&] { return me.done || me.lead; });
        if (me.done) return;
    }
    // Lead (the writer was free, or the previous leader handed over): commit the waiting callers, oldest first,
    // up to max_group at a time, until this caller's own transaction is among them.
    leading_ = true;
    LeadLocked(
        lock, [&] { return me.done; }, &me);
    // Callers that queued meanwhile: the oldest leads the next group (the committer, for a fiber).
    if (waiting_.empty()) {
        leading_ = false;
    } else if (waiting_.front()->wake.cooperative()) {
        HandLeadToCommitterLocked(lock);
    } else {
        waiting_.front()->lead = true;
        waiting_.front()->wake.Notify();
    }
}

template <typename Until>
void SqliteDb::LeadLocked(std::unique_lock<std::mutex>& lock, Until until, const Member* self) {
    while (!until()) {
        const std::size_t n = std::min(waiting_.size(), static_cast<std::size_t>(std::max(1, options_.max_group)));
        std::vector<Member*> group(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
        waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
        lock.unlock();
        RunGroup(group);
        lock.lock();
        // Notified under the lock: a member may return (and its Member go away) as soon as it sees done.
        for (Member* m : group) {
            m->done = true;
            if (m != self) m->wake.Notify();
        }
    }
}

void SqliteDb::HandLeadToCommitterLocked(std::unique_lock<std::mutex>& /*held*/) {
    leading_ = true;
    committer_due_ = true;
    if (!committer_thread_.joinable()) {
        committer_thread_ = std::thread([this] { CommitterLoop(); });
    }
    committer_cv_.notify_one();
}

void SqliteDb::CommitterLoop() {
    std::unique_lock lock(group_mutex_);
    for (;;) {
        committer_cv_.wait(lock, [this] { return committer_due_ || committer_stopping_; });
        if (!committer_due_) return;  // stopping, with no lead handed over
        committer_due_ = false;
        // Leads as a caller would, until nobody waits; threads that queued meanwhile were committed with the rest.
        LeadLocked(
            lock, [this] { return waiting_.empty(); }, nullptr);
        leading_ = false;
    }
}

void SqliteDb::RunGroup(const std::vector<Member*>& group) {
    std::lock_guard<std::mutex> lock(writer_mutex_);
    WriterInUse in_use(writer_in_use_);
    auto fail_all = [&](const core::Error& error) {
        for (Member* m : group) {
            m->result = error;
            m->exception = nullptr;
        }
    };
    const bool durable =
        std::any_of(group.begin(), group.end(), [](const Member* m) { return m->durability == Durability::kDurable; });
    if (auto sync = SetWriterSync(durable); !sync) return fail_all(sync.error());
    // One member runs as a plain transaction; several each get a savepoint, so that one that fails is undone alone.
    const bool savepoints = group.size() > 1;
    for (int attempt = 0;; ++attempt) {
        const bool may_retry = attempt < options_.busy_retries;
        int rc = SQLITE_OK;
        // IMMEDIATE takes the write lock now, so another process's writer makes us wait here (busy_timeout)
        // rather than fail at the first write after reading a snapshot.
        if (auto begin = ExecOn(*writer_, "BEGIN IMMEDIATE", {}, &rc); !begin) {
            RollbackIfOpen(*writer_);
            if (IsBusy(rc) && may_retry) continue;
            return fail_all(begin.error());
        }
        std::optional<core::Error> broken;  // a savepoint statement failed: the group cannot commit
        for (Member* m : group) {
            m->result = {};
            m->exception = nullptr;
            m->busy = false;
            if (savepoints) {
                if (auto sp = ExecOn(*writer_, "SAVEPOINT sb_member", {}, &rc); !sp) {
                    broken = sp.error();
                    break;
                }
            }
            SqliteTx tx(*writer_);
            core::Result<void> result;
            try {
                TransactionScope scope(this);
                result = (*m->fn)(tx);
            } catch (...) {
                m->exception = std::current_exception();
            }
            const bool ok = !m->exception && result && !tx.failed();
            if (!ok && !m->exception) {
                // fn may have carried on after a failed statement and returned success: it still cannot commit.
                m->result = !result ? result.error() : tx.first_error();
                m->busy = tx.busy();
            }
            if (!savepoints) {
                if (!ok) {
                    RollbackIfOpen(*writer_);
                    return;
                }
                continue;
            }
            if (!ok) {
                if (auto undo = ExecOn(*writer_, "ROLLBACK TO sb_member", {}, &rc); !undo) {
                    broken = undo.error();
                    break;
                }
            }
            if (auto release = ExecOn(*writer_, "RELEASE sb_member", {}, &rc); !release) {
                broken = release.error();
                break;
            }
        }
        if (broken) {
            RollbackIfOpen(*writer_);
            return fail_all(core::Internal("group commit: " + broken->detail));
        }
        const auto commit_start = std::chrono::steady_clock::now();
        auto commit = ExecOn(*writer_, "COMMIT", {}, &rc);
        commit_nanos_ +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - commit_start)
                .count();
        if (commit) {
            ++groups_;
            members_ += static_cast<std::int64_t>(group.size());
            return;
        }
        const core::Error error = commit.error();
        RollbackIfOpen(*writer_);
        // Nothing was committed: every member runs again (fn must be repeatable, db.hpp), or all fail.
        if (IsBusy(rc) && may_retry) continue;
        return fail_all(error);
    }
}

core::Result<void> SqliteDb::ExecScript(std::string_view sql) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    const std::string script(sql);
    auto lock = LockWriter();
    WriterInUse in_use(writer_in_use_);
    if (auto sync = SetWriterSync(true); !sync) return sync.error();
    for (int attempt = 0;; ++attempt) {
        int rc = SQLITE_OK;
        // One transaction for the whole script, as PostgreSQL runs a multi-statement query string.
        if (auto begin = ExecOn(*writer_, "BEGIN IMMEDIATE", {}, &rc); !begin) {
            RollbackIfOpen(*writer_);
            if (IsBusy(rc) && attempt < options_.busy_retries) continue;
            return begin.error();
        }
        char* error = nullptr;
        rc = sqlite3_exec(writer_->db, script.c_str(), nullptr, nullptr, &error);
        if (rc == SQLITE_OK) {
            if (auto commit = ExecOn(*writer_, "COMMIT", {}, &rc); commit) return {};
        }
        const std::string message = error != nullptr ? error : sqlite3_errmsg(writer_->db);
        sqlite3_free(error);
        RollbackIfOpen(*writer_);
        if (IsBusy(rc) && attempt < options_.busy_retries) continue;
        return ErrorFrom(rc, message, sql);
    }
}

core::Result<void> SqliteDb::Ping() {
    auto result = Exec("SELECT 1");
    if (!result) return result.error();
    return {};
}

Db::PoolStats SqliteDb::Stats() const {
    PoolStats stats;
    stats.size = 1 + options_.readers;
    stats.in_use = writer_in_use_.load() + readers_in_use_.load();
    stats.waits = waits_.load();
    stats.commits = groups_.load();
    stats.committed_transactions = members_.load();
    stats.commit_seconds = static_cast<double>(commit_nanos_.load()) / 1e9;
    return stats;
}

}  // namespace switchboard::store

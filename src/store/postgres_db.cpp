#include "store/postgres_db.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>
#include <utility>

#include "store/db_internal.hpp"

namespace switchboard::store {

struct PostgresDb::Conn {
    PGconn* pg = nullptr;

    Conn() = default;
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn() { PQfinish(pg); }
};

// Returns the connection to the pool when it goes out of scope; `broken` drops it instead.
class PostgresDb::Lease {
  public:
    Lease(PostgresDb& db, std::unique_ptr<Conn> conn) : db_(db), conn_(std::move(conn)) {}
    ~Lease() { db_.Release(std::move(conn_), broken_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    PGconn* pg() const { return conn_->pg; }
    void MarkBroken() { broken_ = true; }

  private:
    PostgresDb& db_;
    std::unique_ptr<Conn> conn_;
    bool broken_ = false;
};

namespace {

// Type OIDs from catalog/pg_type.h (stable across PostgreSQL versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr std::size_t kMaxSqlInDetail = 300;

std::string Abbreviate(std::string_view sql) {
    if (sql.size() <= kMaxSqlInDetail) return std::string(sql);
    return std::string(sql.substr(0, kMaxSqlInDetail)) + "…";
}

std::string TrimMessage(const char* message) {
    std::string s = message != nullptr ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.empty() ? "unknown error" : s;
}

void NoticeProcessor(void*, const char* message) { spdlog::debug("postgres: {}", TrimMessage(message)); }

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// What the caller may do about a failed statement.
struct Outcome {
    bool retryable = false;        // serialization failure or deadlock: the transaction may run again
    bool connection_lost = false;  // the connection is unusable and must be dropped
};

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

core::Error ErrorFrom(PGconn* pg, const PGresult* res, std::string_view sql, Outcome* outcome) {
    const char* sqlstate_field = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = sqlstate_field != nullptr ? sqlstate_field : "";
    const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const std::string message = TrimMessage(primary != nullptr ? primary : PQerrorMessage(pg));

    if (PQstatus(pg) == CONNECTION_BAD) {
        outcome->connection_lost = true;
        return core::Unavailable("PostgreSQL connection lost: " + message);
    }
    if (sqlstate == "40001" || sqlstate == "40P01") {
        outcome->retryable = true;
        return core::Unavailable("PostgreSQL: " + message + " (SQLSTATE " + sqlstate + ")");
    }
    if (StartsWith(sqlstate, "23")) {
        // The primary message names the constraint; PostgreSQL's DETAIL (which echoes the key values) is left out.
        return core::Conflict(message);
    }
    if (StartsWith(sqlstate, "08") || StartsWith(sqlstate, "53") || StartsWith(sqlstate, "57P") ||
        sqlstate == "57014" || sqlstate == "55P03") {
        if (StartsWith(sqlstate, "08") || StartsWith(sqlstate, "57P")) outcome->connection_lost = true;
        return core::Unavailable("PostgreSQL: " + message + " (SQLSTATE " + sqlstate + ")");
    }
    return core::Internal("PostgreSQL: " + message + (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")") +
                          " in: " + Abbreviate(sql));
}

Value ConvertField(const PGresult* res, int row, int col) {
    if (PQgetisnull(res, row, col)) return nullptr;
    const char* text = PQgetvalue(res, row, col);
    const std::size_t size = static_cast<std::size_t>(PQgetlength(res, row, col));
    switch (PQftype(res, col)) {
        case kInt2Oid:
        case kInt4Oid:
        case kInt8Oid: {
            std::int64_t n = 0;
            auto r = std::from_chars(text, text + size, n);
            if (r.ec == std::errc() && r.ptr == text + size) return n;
            break;
        }
        case kFloat4Oid:
        case kFloat8Oid:
        case kNumericOid: {
            double d = 0;
            auto r = std::from_chars(text, text + size, d);
            if (r.ec == std::errc() && r.ptr == text + size) return d;
            break;
        }
        case kBoolOid:
            return static_cast<std::int64_t>(size > 0 && text[0] == 't' ? 1 : 0);
        default:
            break;
    }
    return std::string(text, size);
}

core::Result<QueryResult> Convert(const PGresult* res) {
    QueryResult out;
    const int ncols = PQnfields(res);
    const int nrows = PQntuples(res);
    out.columns.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res, c));
    out.rows.reserve(static_cast<std::size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
        Row row;
        row.values.reserve(static_cast<std::size_t>(ncols));
        for (int c = 0; c < ncols; ++c) row.values.push_back(ConvertField(res, r, c));
        out.rows.push_back(std::move(row));
    }
    // Like SQLite's sqlite3_changes(): rows written, not rows read.
    const std::string_view tag = PQcmdStatus(const_cast<PGresult*>(res));
    const char* tuples = PQcmdTuples(const_cast<PGresult*>(res));
    if (!StartsWith(tag, "SELECT") && tuples != nullptr && *tuples != '\0') {
        std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), out.affected);
    }
    return out;
}

core::Result<QueryResult> ExecOn(PGconn* pg, std::string_view sql, const std::vector<Value>& params, Outcome* outcome) {
    *outcome = Outcome{};
    // PostgreSQL accepts (and ignores) parameters a statement does not use when their types are given; refuse
    // them as SQLite does, since they always mean a mistake in the caller.
    if (const int expected = HighestPlaceholder(sql); expected != static_cast<int>(params.size())) {
        return core::Internal("statement takes " + std::to_string(expected) + " parameters, " +
                              std::to_string(params.size()) + " given: " + Abbreviate(sql));
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<Oid> types(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Value& v = params[i];
        if (std::holds_alternative<std::nullptr_t>(v)) continue;
        if (const auto* n = std::get_if<std::int64_t>(&v)) {
            texts[i] = std::to_string(*n);
            types[i] = kInt8Oid;
        } else if (const auto* d = std::get_if<double>(&v)) {
            texts[i] = FormatDouble(*d);
            types[i] = kFloat8Oid;
        } else {
            texts[i] = std::get<std::string>(v);
        }
        values[i] = texts[i].c_str();
    }
    const std::string query(sql);
    ResultPtr res(PQexecParams(pg, query.c_str(), static_cast<int>(params.size()), types.data(), values.data(), nullptr,
                               nullptr, 0));
    const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    switch (status) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            return Convert(res.get());
        case PGRES_EMPTY_QUERY:
            return core::InvalidArgument("empty SQL statement");
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            return ErrorFrom(pg, res.get(), sql, outcome);
        default:
            return core::Internal("PostgreSQL: unsupported result status " + std::string(PQresStatus(status)) +
                                  " in: " + Abbreviate(sql));
    }
}

// An idle pooled connection should have nothing to read: data there means the server closed it (a FATAL
// message before the socket closes), so it is replaced rather than used.
bool IdleConnectionHealthy(PGconn* pg) {
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE) return false;
    pollfd fd{};
    fd.fd = PQsocket(pg);
    fd.events = POLLIN;
    if (fd.fd < 0) return false;
    return poll(&fd, 1, 0) == 0;
}

void Backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int base_ms = 5 << std::min(attempt, 5);
    std::uniform_int_distribution<int> jitter(0, base_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(rng)));
}

class PgTx final : public Tx {
  public:
    explicit PgTx(PGconn* pg) : pg_(pg) {}

    core::Result<QueryResult> Exec(std::string_view sql, const std::vector<Value>& params) override {
        if (failed_) return core::Internal("statement in a transaction that already failed: " + first_error_.detail);
        Outcome outcome;
        auto result = ExecOn(pg_, sql, params, &outcome);
        if (!result) {
            failed_ = true;
            outcome_ = outcome;
            first_error_ = result.error();
        }
        return result;
    }

    bool failed() const { return failed_; }
    const Outcome& outcome() const { return outcome_; }
    const core::Error& first_error() const { return first_error_; }

  private:
    PGconn* pg_;
    bool failed_ = false;
    Outcome outcome_;
    core::Error first_error_;
};

// Ends whatever transaction is open on the leased connection; a connection that cannot be brought back to idle
// is dropped.
template <class LeaseT>
void RollbackOrDrop(LeaseT& lease) {
    if (PQstatus(lease.pg()) != CONNECTION_OK) {
        lease.MarkBroken();
        return;
    }
    if (PQtransactionStatus(lease.pg()) == PQTRANS_IDLE) return;
    Outcome outcome;
    auto rollback = ExecOn(lease.pg(), "ROLLBACK", {}, &outcome);
    if (!rollback || PQtransactionStatus(lease.pg()) != PQTRANS_IDLE) lease.MarkBroken();
}

}  // namespace

PostgresDb::PostgresDb(std::vector<std::pair<std::string, std::string>> params, Options options)
    : conn_params_(std::move(params)), options_(options) {}

PostgresDb::~PostgresDb() = default;

std::optional<std::string> PostgresConninfo(std::string_view url) {
    if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return std::string(url);
    for (std::string_view prefix : {std::string_view("postgresql:"), std::string_view("postgres:")}) {
        if (url.starts_with(prefix)) return std::string(url.substr(prefix.size()));
    }
    return std::nullopt;
}

core::Result<ConnParams> ParseConninfo(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    if (parsed == nullptr) {
        std::string message = TrimMessage(error);
        PQfreemem(error);
        return core::InvalidArgument("invalid PostgreSQL connection string: " + message);
    }
    ConnParams params;
    for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) params.emplace_back(o->keyword, o->val);
    }
    PQconninfoFree(parsed);
    return params;
}

LibpqParams::LibpqParams(const ConnParams& params) {
    for (const auto& [keyword, value] : params) {
        keywords.push_back(keyword.c_str());
        values.push_back(value.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
}

core::Result<std::unique_ptr<PostgresDb>> PostgresDb::Open(const std::string& conninfo, Options options) {
    auto parsed = ParseConninfo(conninfo);
    if (!parsed) return parsed.error();
    ConnParams params = std::move(*parsed);
    const auto has = [&](std::string_view keyword) {
        return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == keyword; });
    };
    const bool has_timeout = has("connect_timeout");
    const bool has_application = has("application_name");
    if (!has_timeout) params.emplace_back("connect_timeout", std::to_string(options.connect_timeout_seconds));
    if (!has_application) params.emplace_back("application_name", "switchboard");
    options.pool_size = std::max(1, options.pool_size);
    options.max_attempts = std::max(1, options.max_attempts);
    return std::unique_ptr<PostgresDb>(new PostgresDb(std::move(params), options));
}

core::Result<std::unique_ptr<PostgresDb::Conn>> PostgresDb::Connect() {
    const LibpqParams params(conn_params_);
    auto conn = std::make_unique<Conn>();
    conn->pg = PQconnectdbParams(params.keywords.data(), params.values.data(), 0);
    if (conn->pg == nullptr) return core::Unavailable("cannot connect to PostgreSQL: out of memory");
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        return core::Unavailable("cannot connect to PostgreSQL: " + TrimMessage(PQerrorMessage(conn->pg)));
    }
    PQsetNoticeProcessor(conn->pg, NoticeProcessor, nullptr);
    return conn;
}

core::Result<std::unique_ptr<PostgresDb::Conn>> PostgresDb::Acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
    bool waited = false;
    for (;;) {
        if (!idle_.empty()) {
            std::unique_ptr<Conn> conn = std::move(idle_.back());
            idle_.pop_back();
            ++in_use_;
            lock.unlock();
            if (IdleConnectionHealthy(conn->pg)) return conn;
            PQreset(conn->pg);
            if (PQstatus(conn->pg) == CONNECTION_OK) return conn;
            const std::string message = TrimMessage(PQerrorMessage(conn->pg));
            Release(std::move(conn), /*broken=*/true);
            return core::Unavailable("cannot reconnect to PostgreSQL: " + message);
        }
        if (open_ < options_.pool_size) {
            ++open_;
            ++in_use_;
            lock.unlock();
            auto conn = Connect();
            if (!conn) {
                lock.lock();
                --open_;
                --in_use_;
                lock.unlock();
                cv_.notify_one();
            }
            return conn;
        }
        if (!waited) {
            waited = true;
            ++waits_;
        }
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.pool_size) {
            return core::Unavailable("no free PostgreSQL connection within " +
                                     std::to_string(options_.acquire_timeout.count()) + " ms (pool size " +
                                     std::to_string(options_.pool_size) + ")");
        }
    }
}

void PostgresDb::Release(std::unique_ptr<Conn> conn, bool broken) {
    if (!broken && (PQstatus(conn->pg) != CONNECTION_OK || PQtransactionStatus(conn->pg) != PQTRANS_IDLE)) {
        broken = true;
    }
    std::unique_ptr<Conn> drop;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        --in_use_;
        if (broken) {
            --open_;
            drop = std::move(conn);
        } else {
            idle_.push_back(std::move(conn));
        }
    }
    cv_.notify_one();
    // `drop` closes the broken connection here, outside the lock.
}

core::Result<QueryResult> PostgresDb::Exec(std::string_view sql, const std::vector<Value>& params) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    for (int attempt = 0;; ++attempt) {
        auto conn = Acquire();
        if (!conn) return conn.error();
        Lease lease(*this, std::move(*conn));
        Outcome outcome;
        auto result = ExecOn(lease.pg(), sql, params, &outcome);
        if (outcome.connection_lost) lease.MarkBroken();
        if (PQstatus(lease.pg()) == CONNECTION_OK && PQtransactionStatus(lease.pg()) != PQTRANS_IDLE) {
            RollbackOrDrop(lease);
            return core::InvalidArgument("transaction control statements are not allowed in Exec; use Db::Transaction");
        }
        // A single statement that lost a deadlock was rolled back as a whole: safe to run again.
        if (!result && outcome.retryable && attempt + 1 < options_.max_attempts) {
            Backoff(attempt);
            continue;
        }
        return result;
    }
}

core::Result<void> PostgresDb::Transaction(const std::function<core::Result<void>(Tx&)>& fn, Durability durability) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    bool reconnected = false;
    for (int attempt = 0;; ++attempt) {
        const bool may_retry = attempt + 1 < options_.max_attempts;
        auto conn = Acquire();
        if (!conn) return conn.error();
        Lease lease(*this, std::move(*conn));
        Outcome outcome;
        if (auto begin = ExecOn(lease.pg(), "BEGIN", {}, &outcome); !begin) {
            lease.MarkBroken();
            // Nothing ran yet: one more try on a fresh connection is always safe.
            if (outcome.connection_lost && !reconnected) {
                reconnected = true;
                continue;
            }
            return begin.error();
        }
        // A deferred commit returns before its WAL record is flushed (the server still writes it in order).
        if (durability == Durability::kDeferred) {
            if (auto off = ExecOn(lease.pg(), "SET LOCAL synchronous_commit TO OFF", {}, &outcome); !off) {
                RollbackOrDrop(lease);
                return off.error();
            }
        }
        PgTx tx(lease.pg());
        core::Result<void> result;
        try {
            TransactionScope scope(this);
            result = fn(tx);
        } catch (...) {
            RollbackOrDrop(lease);
            throw;
        }
        if (result && !tx.failed()) {
            auto commit = ExecOn(lease.pg(), "COMMIT", {}, &outcome);
            if (commit) return {};
            if (outcome.connection_lost) {
                lease.MarkBroken();
                return core::Unavailable("PostgreSQL connection lost during COMMIT; the outcome is unknown: " +
                                         commit.error().detail);
            }
            RollbackOrDrop(lease);
            if (outcome.retryable && may_retry) {
                Backoff(attempt);
                continue;
            }
            return commit.error();
        }
        RollbackOrDrop(lease);
        if (tx.failed() && tx.outcome().retryable && may_retry) {
            Backoff(attempt);
            continue;
        }
        // The server dropped the connection before COMMIT, so nothing was committed: retry once.
        if (tx.failed() && tx.outcome().connection_lost && !reconnected) {
            lease.MarkBroken();
            reconnected = true;
            continue;
        }
        if (!result) return result.error();
        // fn carried on after a failed statement and returned success: the transaction cannot commit.
        return tx.first_error();
    }
}

core::Result<void> PostgresDb::ExecScript(std::string_view sql) {
    if (TransactionScope::Active(this)) return core::Internal(std::string(kNestedUseMessage));
    auto conn = Acquire();
    if (!conn) return conn.error();
    Lease lease(*this, std::move(*conn));
    const std::string script(sql);
    // A multi-statement query string runs as one implicit transaction.
    ResultPtr res(PQexec(lease.pg(), script.c_str()));
    const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    core::Result<void> out;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        Outcome outcome;
        out = ErrorFrom(lease.pg(), res.get(), sql, &outcome);
        if (outcome.connection_lost) lease.MarkBroken();
    }
    if (PQstatus(lease.pg()) == CONNECTION_OK && PQtransactionStatus(lease.pg()) != PQTRANS_IDLE) {
        RollbackOrDrop(lease);
        if (out) out = core::InvalidArgument("script left a transaction open; it was rolled back");
    }
    return out;
}

core::Result<void> PostgresDb::Ping() {
    auto result = Exec("SELECT 1");
    if (!result) return result.error();
    return {};
}

Db::PoolStats PostgresDb::Stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    PoolStats stats;
    stats.size = options_.pool_size;
    stats.in_use = in_use_;
    stats.waits = waits_.load();
    return stats;
}

}  // namespace switchboard::store

#pragma once
// A PostgreSQL client connection on libpq for the PostgreSQL app: one connection per module run, opened with the
// app connection's fields, the SSRF policy applied before libpq connects (the host is resolved here and libpq is
// given the checked address, so DNS cannot point it elsewhere afterwards), statements sent only with
// PQexecParams (values always as parameters, text format). Blocking: callers run it on a worker thread.
//
// Errors (PgError): the server's or libpq's own words, never the password (libpq does not print it; callers
// still pass every text through the run's sanitizer).
#include <libpq-fe.h>

#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"

namespace switchboard::nativeapps {

struct PgSettings {
    std::string host;
    int port = 5432;
    std::string database;
    std::string username;
    core::Secret password;
    std::string ssl_mode = "prefer";  // disable | prefer | require | verify-full
    bool allow_private_network = false;
    std::chrono::milliseconds connect_timeout{15'000};
    std::chrono::milliseconds statement_timeout{60'000};
};

enum class PgErrorKind {
    kLogin,           // the server refused the login (password, pg_hba.conf, unknown role or database)
    kUnreachable,     // DNS, connect, TLS, the connection dropped
    kRefusedAddress,  // the SSRF policy refused the address
    kInvalidInput,    // settings or arguments that cannot work (a host list, an empty table name)
    kStatement,       // the server refused a statement: sqlstate says why
};

struct PgError {
    PgErrorKind kind = PgErrorKind::kStatement;
    std::string sqlstate;  // five characters for kStatement (and for a failed login when known), else ""
    std::string message;
};
[[noreturn]] void throw_exception_from_error(const PgError& e, const boost::source_location& loc);

template <class T>
using PgResult = boost::system::result<T, PgError>;

// A statement's answer in text format.
struct PgRows {
    struct Column {
        std::string name;
        unsigned int type_oid = 0;
    };
    std::vector<Column> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt = SQL NULL
    std::string command;                                        // "INSERT 0 1", "SELECT 3", …
    std::int64_t affected = 0;                                  // PQcmdTuples: rows inserted/updated/deleted/selected
};

class PgConnection {
  public:
    // Resolves and checks the host, connects, authenticates. Sets statement_timeout, DateStyle ISO and TimeZone
    // UTC for the session (values read back from the database are stable text).
    static PgResult<std::unique_ptr<PgConnection>> Open(const PgSettings& settings);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // One statement; params are $1…$n (nullopt = NULL), sent separately from the text, their types inferred by
    // the server. PQexecParams refuses several statements in one text.
    PgResult<PgRows> Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});

    // PQescapeIdentifier: "name" with inner quotes doubled, for table and column names.
    std::string QuoteIdentifier(std::string_view name);

  private:
    explicit PgConnection(PGconn* conn) : conn_(conn) {}
    PGconn* conn_ = nullptr;
};

}  // namespace switchboard::nativeapps

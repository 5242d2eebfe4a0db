#include "nativeapps/postgres_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <filesystem>

#include "core/error.hpp"
#include "http_client/ssrf_policy.hpp"

namespace switchboard::nativeapps {

namespace {

std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

bool Contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// libpq reports a failed connection as text only; these are the server's refusals of the login itself.
bool IsLoginRefusal(std::string_view message) {
    return Contains(message, "authentication failed") || Contains(message, "pg_hba.conf") ||
           Contains(message, "no password supplied") || Contains(message, "does not exist") ||
           Contains(message, "permission denied for database") || Contains(message, "not permitted to log in");
}

// The address libpq is to connect to: the first of the host's addresses that the SSRF policy allows.
PgResult<std::string> CheckedAddress(const PgSettings& s) {
    // A host list ("a,b") or a socket directory would bypass the single checked address.
    if (s.host.empty()) return PgError{PgErrorKind::kInvalidInput, "", "host is required"};
    if (s.host.find_first_of(",/ \t\r\n") != std::string::npos) {
        return PgError{PgErrorKind::kInvalidInput, "", "host must be one host name or IP address"};
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(s.host.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
        return PgError{PgErrorKind::kUnreachable, "", "cannot resolve " + s.host + ": " + gai_strerror(rc)};
    }
    const http_client::SsrfPolicy policy(s.allow_private_network);
    std::string refused;
    std::string chosen;
    for (addrinfo* a = found; a != nullptr && chosen.empty(); a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* addr = a->ai_family == AF_INET
                               ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        if (inet_ntop(a->ai_family, addr, text, sizeof text) == nullptr) continue;
        if (auto ok = policy.CheckAddress(text); ok) {
            chosen = text;
        } else if (refused.empty()) {
            refused = ok.error().detail.empty() ? ok.error().message : ok.error().detail;
        }
    }
    freeaddrinfo(found);
    if (!chosen.empty()) return chosen;
    if (!refused.empty()) return PgError{PgErrorKind::kRefusedAddress, "", s.host + ": " + refused};
    return PgError{PgErrorKind::kUnreachable, "", "no usable address for " + s.host};
}

// verify-full needs trusted CA certificates; libpq 15 reads ~/.postgresql/root.crt only, so point it at the
// system bundle.
std::string SystemCaBundle() {
    for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) return path;
    }
    return "";
}

}  // namespace

void throw_exception_from_error(const PgError& e, const boost::source_location&) {
    throw core::ErrorException(core::Error::Make(core::Errc::kInternal, "PostgreSQL error", e.message));
}

PgResult<std::unique_ptr<PgConnection>> PgConnection::Open(const PgSettings& s) {
    if (s.ssl_mode != "disable" && s.ssl_mode != "prefer" && s.ssl_mode != "require" && s.ssl_mode != "verify-full") {
        return PgError{PgErrorKind::kInvalidInput, "", "sslMode must be disable, prefer, require or verify-full"};
    }
    if (s.database.empty()) return PgError{PgErrorKind::kInvalidInput, "", "database is required"};
    if (s.port < 1 || s.port > 65535) return PgError{PgErrorKind::kInvalidInput, "", "port must be 1 to 65535"};
    auto address = CheckedAddress(s);
    if (!address) return address.error();

    const std::string port = std::to_string(s.port);
    const std::string connect_timeout =
        std::to_string(std::max<long long>(2, std::chrono::ceil<std::chrono::seconds>(s.connect_timeout).count()));
    const std::string options =
        "-c statement_timeout=" + std::to_string(s.statement_timeout.count()) + " -c DateStyle=ISO -c TimeZone=UTC";
    const std::string ca = s.ssl_mode == "verify-full" ? SystemCaBundle() : "";
    // Keywords and values apart (expand_dbname = 0): no field is ever parsed as a connection string. The password
    // goes to libpq straight from the Secret (its bytes are a NUL-terminated std::string), without a copy.
    std::vector<const char*> keys = {"host",           "hostaddr",         "port",       "dbname",
                                     "user",           "password",         "sslmode",    "connect_timeout",
                                     "options",        "application_name", "keepalives", "keepalives_idle",
                                     "client_encoding"};
    std::vector<const char*> values = {s.host.c_str(),
                                       address->c_str(),
                                       port.c_str(),
                                       s.database.c_str(),
                                       s.username.c_str(),
                                       s.password.Reveal().data(),
                                       s.ssl_mode.c_str(),
                                       connect_timeout.c_str(),
                                       options.c_str(),
                                       "switchboard",
                                       "1",
                                       "30",
                                       "UTF8"};
    if (!ca.empty()) {
        keys.push_back("sslrootcert");
        values.push_back(ca.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn == nullptr) return PgError{PgErrorKind::kUnreachable, "", "out of memory"};
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = Trim(PQerrorMessage(conn));
        PQfinish(conn);
        const auto kind = IsLoginRefusal(message) ? PgErrorKind::kLogin : PgErrorKind::kUnreachable;
        return PgError{kind, "", std::move(message)};
    }
    return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() {
    if (conn_) PQfinish(conn_);
}

PgResult<PgRows> PgConnection::Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* res =
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        PgError e;
        const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
        e.sqlstate = state ? state : "";
        const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
        const char* detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : nullptr;
        e.message = primary ? std::string(primary) : Trim(PQerrorMessage(conn_));
        if (detail) e.message += " (" + std::string(detail) + ")";
        if (status == PGRES_EMPTY_QUERY) e.message = "the query is empty";
        // No SQLSTATE and a broken connection: the server went away.
        e.kind = PQstatus(conn_) == CONNECTION_BAD && e.sqlstate.empty() ? PgErrorKind::kUnreachable
                                                                         : PgErrorKind::kStatement;
        if (res) PQclear(res);
        return e;
    }
    PgRows out;
    const int n_fields = PQnfields(res);
    for (int c = 0; c < n_fields; ++c) out.columns.push_back({PQfname(res, c), PQftype(res, c)});
    const int n_rows = PQntuples(res);
    out.rows.reserve(static_cast<std::size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
        std::vector<std::optional<std::string>> row;
        row.reserve(static_cast<std::size_t>(n_fields));
        for (int c = 0; c < n_fields; ++c) {
            if (PQgetisnull(res, r, c)) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
            }
        }
        out.rows.push_back(std::move(row));
    }
    out.command = PQcmdStatus(res);
    const std::string affected = PQcmdTuples(res);
    if (!affected.empty()) out.affected = std::stoll(affected);
    PQclear(res);
    return out;
}

std::string PgConnection::QuoteIdentifier(std::string_view name) {
    char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
    if (quoted == nullptr) return "";
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

}  // namespace switchboard::nativeapps

#include "store/db.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

#include "store/db_internal.hpp"
#include "store/postgres_db.hpp"
#include "store/sqlite_db.hpp"

namespace switchboard::store {

namespace {

[[noreturn]] void ThrowConversion(std::string_view what, std::size_t column) {
    throw core::ErrorException(core::Internal("column " + std::to_string(column) + ": " + std::string(what)));
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

std::string FormatDouble(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, res.ptr);
}

std::int64_t Row::Int(std::size_t i) const {
    const Value& v = values.at(i);
    if (std::holds_alternative<std::nullptr_t>(v)) return 0;
    if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
    if (const auto* d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) ThrowConversion("non-finite number where an integer was expected", i);
        return static_cast<std::int64_t>(*d);
    }
    const std::string& s = std::get<std::string>(v);
    std::int64_t out = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) ThrowConversion("text value is not an integer", i);
    return out;
}

std::string Row::Text(std::size_t i) const {
    const Value& v = values.at(i);
    if (std::holds_alternative<std::nullptr_t>(v)) return {};
    if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
    if (const auto* d = std::get_if<double>(&v)) return FormatDouble(*d);
    return std::get<std::string>(v);
}

core::Result<std::unique_ptr<Db>> OpenDb(const std::string& url, int pool_size) {
    std::string_view u = url;
    if (StartsWith(u, "sqlite:")) {
        std::string path(u.substr(std::string_view("sqlite:").size()));
        // Accept the URL form "sqlite:///abs/path" as well as "sqlite:/abs/path" and "sqlite:relative".
        if (StartsWith(path, "///")) path.erase(0, 2);
        if (path.empty()) return core::InvalidArgument("database URL \"sqlite:\" names no file");
        SqliteDb::Options options;
        options.readers = std::max(1, std::min(pool_size, 8));
        auto db = SqliteDb::Open(path, options);
        if (!db) return db.error();
        return std::unique_ptr<Db>(std::move(*db));
    }
    const auto conninfo = PostgresConninfo(u);
    if (!conninfo) return core::InvalidArgument("database URL must start with sqlite: or postgres://");
    PostgresDb::Options options;
    options.pool_size = pool_size;
    auto db = PostgresDb::Open(*conninfo, options);
    if (!db) return db.error();
    return std::unique_ptr<Db>(std::move(*db));
}

}  // namespace switchboard::store

namespace switchboard::store {

namespace {
thread_local const Db* tls_transaction_db = nullptr;
}  // namespace

int HighestPlaceholder(std::string_view sql) {
    int highest = 0;
    std::size_t i = 0;
    const std::size_t n = sql.size();
    auto skip_until = [&](std::string_view end) {
        const std::size_t pos = sql.find(end, i);
        i = pos == std::string_view::npos ? n : pos + end.size();
    };
    while (i < n) {
        const char c = sql[i];
        if (c == '\'' || c == '"') {
            // A doubled quote ('it''s') reads as two adjacent literals, which is just as good for this scan.
            ++i;
            skip_until(std::string_view(&c, 1));
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            skip_until("\n");
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            i += 2;
            skip_until("*/");
        } else if (c == '$' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
            int value = 0;
            ++i;
            while (i < n && std::isdigit(static_cast<unsigned char>(sql[i]))) {
                value = std::min(value * 10 + (sql[i] - '0'), 1'000'000);
                ++i;
            }
            highest = std::max(highest, value);
        } else {
            ++i;
        }
    }
    return highest;
}

TransactionScope::TransactionScope(const Db* db) : previous_(tls_transaction_db) { tls_transaction_db = db; }
TransactionScope::~TransactionScope() { tls_transaction_db = previous_; }
bool TransactionScope::Active(const Db* db) { return tls_transaction_db == db; }

}  // namespace switchboard::store

#pragma once
// The SQL of the PostgreSQL app's modules, built from the user's table, column and condition fields: identifiers
// go through the quote function (PQescapeIdentifier on a live connection; any function in tests), values only
// ever become $n parameters. Pure functions: no I/O.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "nativeapps/postgres_client.hpp"

namespace switchboard::nativeapps {

// Returns the quoted identifier, or "" when it cannot be quoted (invalid encoding).
using QuoteFn = std::function<std::string(std::string_view)>;

struct Sql {
    std::string text;
    std::vector<std::optional<std::string>> params;
};

struct ColumnValue {
    std::string column;
    boost::json::value value;
};

struct Condition {
    std::string column;
    std::string op;  // = != < > <= >= like ilike "is null" "is not null" (case-insensitive)
    boost::json::value value;
};

struct OrderBy {
    std::string column;
    bool descending = false;
};

// [{column, value}] (or an object {column: value}); kInvalidArgument naming the entry.
core::Result<std::vector<ColumnValue>> ColumnValues(const boost::json::value& v, std::string_view field);
// [{column, operator, value}]; the operator defaults to "=".
core::Result<std::vector<Condition>> Conditions(const boost::json::value& v);
// [{column, direction asc|desc}] or ["column", …].
core::Result<std::vector<OrderBy>> OrderByList(const boost::json::value& v);
// ["a", "b"] or "a, b".
core::Result<std::vector<std::string>> ColumnList(const boost::json::value& v);

// A JSON value as a text parameter: text as it is, numbers and booleans as JSON prints them, null as SQL NULL,
// arrays and objects as JSON text (for json/jsonb columns).
std::optional<std::string> ParameterText(const boost::json::value& v);

// INSERT INTO t (c…) VALUES ($1…) RETURNING *
core::Result<Sql> BuildInsert(const QuoteFn& quote, std::string_view schema, std::string_view table,
                              const std::vector<ColumnValue>& values);
// UPDATE t SET c = $1 … WHERE … RETURNING *; without conditions only when all_rows.
core::Result<Sql> BuildUpdate(const QuoteFn& quote, std::string_view schema, std::string_view table,
                              const std::vector<ColumnValue>& values, const std::vector<Condition>& conditions,
                              bool all_rows);
// SELECT c… | * FROM t WHERE … ORDER BY … LIMIT n
core::Result<Sql> BuildSelect(const QuoteFn& quote, std::string_view schema, std::string_view table,
                              const std::vector<std::string>& columns, const std::vector<Condition>& conditions,
                              const std::vector<OrderBy>& order, std::int64_t limit);
// Rows after the cursor by an increasing column: SELECT * FROM t WHERE c > $1 ORDER BY c LIMIT n (no cursor:
// WHERE c IS NOT NULL). With equal_to, the rows whose column equals that value instead (the rest of a group of
// equal values that LIMIT cut).
core::Result<Sql> BuildWatch(const QuoteFn& quote, std::string_view schema, std::string_view table,
                             std::string_view column, const std::optional<std::string>& after, std::int64_t limit);
core::Result<Sql> BuildWatchEqual(const QuoteFn& quote, std::string_view schema, std::string_view table,
                                  std::string_view column, const std::string& value);

// A result row as a bundle: integers, floats and numerics as numbers, booleans as booleans, json/jsonb parsed,
// NULL as null, everything else (text, dates, timestamps in ISO style, uuids, …) as text.
boost::json::object RowJson(const PgRows& rows, std::size_t index);

}  // namespace switchboard::nativeapps

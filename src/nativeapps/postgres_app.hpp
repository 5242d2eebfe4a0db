#pragma once
// The PostgreSQL app (apps/postgres.json, docs/apps/postgres.md): connection type postgres, modules insertRow,
// updateRows, selectRows, executeQuery and watchRows on postgres_client/postgres_sql. Every statement is
// parameterised: identifiers quoted with PQescapeIdentifier, values sent as $n parameters.
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "engine/module.hpp"
#include "http_client/sanitizer.hpp"
#include "nativeapps/native_apps.hpp"
#include "nativeapps/postgres_client.hpp"

namespace switchboard::nativeapps {

inline constexpr std::string_view kPostgresType = "postgres";

// A connection's stored fields (host, port, database, username, password, sslMode) with the options' SSRF
// policy and timeouts. kInvalidArgument naming the field.
core::Result<PgSettings> PostgresSettings(const boost::json::object& parameters, const NativeAppsOptions& options);

// watchRows' cursor, stored with the run: {"table": "schema.table", "column": "id", "last": "42"} (the last
// value emitted, as PostgreSQL prints it).
struct RowCursor {
    std::string table;  // schema-qualified as the user wrote it ("public.orders" or "orders")
    std::string column;
    std::string last;
};
std::string EncodeRowCursor(const RowCursor& cursor);
std::optional<RowCursor> DecodeRowCursor(std::string_view text);

// Make's error type of a PostgreSQL failure: login refused (and SQLSTATE class 28, 3D000) →
// AccountValidationError; unreachable, class 08, 53, 57P, 40001/40P01 → ConnectionError; 57014 (statement
// timeout) → ModuleTimeoutError; 23505 → DuplicateDataError; classes 22, 23, 42, 0A, 2F → DataError; refused
// address → InvalidConfigurationError; bad input → BundleValidationError; anything else → RuntimeError.
engine::Failure PostgresFailure(const PgError& error, const http_client::Sanitizer* sanitizer);

void RegisterPostgresModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options);

}  // namespace switchboard::nativeapps

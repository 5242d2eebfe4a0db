#include "nativeapps/postgres_app.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "iml/values.hpp"
#include "nativeapps/module_input.hpp"
#include "nativeapps/postgres_sql.hpp"

namespace switchboard::nativeapps {

namespace json = boost::json;
using core::Result;
using engine::Failure;
using engine::ModuleCall;
using engine::ModuleOutcome;

namespace {

ModuleOutcome Failed(Failure f) {
    ModuleOutcome out;
    out.failure = std::move(f);
    return out;
}

const http_client::Sanitizer* SanitizerOf(const ModuleCall& call) {
    return call.env ? call.env->sanitizer.get() : nullptr;
}

// Opens the module's connection; on failure fills `failure`.
std::unique_ptr<PgConnection> Connect(const ModuleCall& call, const NativeAppsOptions& options,
                                      std::optional<Failure>& failure) {
    const json::object* params = ConnectionParameters(call);
    if (params == nullptr) {
        failure = Failure(engine::errors::kAccountValidation, "the module has no connection");
        return nullptr;
    }
    auto settings = PostgresSettings(*params, options);
    if (!settings) {
        failure = Failure(engine::errors::kInvalidConfiguration,
                          Clean(call, "the connection's settings: " + settings.error().detail));
        return nullptr;
    }
    auto conn = PgConnection::Open(*settings);
    if (!conn) {
        PgError e = conn.error();
        // Input that cannot work here is the connection's, not the bundle's.
        if (e.kind == PgErrorKind::kInvalidInput) {
            failure =
                Failure(engine::errors::kInvalidConfiguration, Clean(call, "the connection's settings: " + e.message));
        } else {
            failure = PostgresFailure(e, SanitizerOf(call));
        }
        return nullptr;
    }
    return std::move(*conn);
}

QuoteFn QuoteWith(PgConnection& conn) {
    return [&conn](std::string_view name) { return conn.QuoteIdentifier(name); };
}

// Runs a built statement; rows → bundles via `emit`.
ModuleOutcome Run(const ModuleCall& call, PgConnection& conn, const Result<Sql>& sql,
                  const std::function<void(const PgRows&, ModuleOutcome&)>& emit) {
    if (!sql) return Failed(BadInput(sql.error().detail));
    auto rows = conn.Exec(sql->text, sql->params);
    if (!rows) return Failed(PostgresFailure(rows.error(), SanitizerOf(call)));
    ModuleOutcome out;
    emit(*rows, out);
    return out;
}

void EachRow(const PgRows& rows, ModuleOutcome& out) {
    for (std::size_t i = 0; i < rows.rows.size(); ++i) out.bundles.emplace_back(RowJson(rows, i));
}

ModuleOutcome InsertRow(ModuleCall& call, const NativeAppsOptions& options) {
    const json::value* v = Field(call, "values");
    if (v == nullptr) return Failed(BadInput("values is required: [{column, value}]"));
    auto values = ColumnValues(*v, "values");
    if (!values) return Failed(BadInput(values.error().detail));
    std::optional<Failure> failure;
    auto conn = Connect(call, options, failure);
    if (!conn) return Failed(*failure);
    auto sql = BuildInsert(QuoteWith(*conn), TextField(call, "schema"), TextField(call, "table"), *values);
    return Run(call, *conn, sql, EachRow);
}

ModuleOutcome UpdateRows(ModuleCall& call, const NativeAppsOptions& options) {
    const json::value* v = Field(call, "values");
    if (v == nullptr) return Failed(BadInput("values is required: [{column, value}]"));
    auto values = ColumnValues(*v, "values");
    if (!values) return Failed(BadInput(values.error().detail));
    const json::value* c = Field(call, "conditions");
    auto conditions = Conditions(c ? *c : json::value(nullptr));
    if (!conditions) return Failed(BadInput(conditions.error().detail));
    std::optional<Failure> failure;
    auto conn = Connect(call, options, failure);
    if (!conn) return Failed(*failure);
    auto sql = BuildUpdate(QuoteWith(*conn), TextField(call, "schema"), TextField(call, "table"), *values, *conditions,
                           BoolField(call, "allRows", false));
    return Run(call, *conn, sql, [](const PgRows& rows, ModuleOutcome& out) {
        json::array list;
        for (std::size_t i = 0; i < rows.rows.size(); ++i) list.push_back(RowJson(rows, i));
        out.bundles.emplace_back(json::object{{"rowCount", rows.affected}, {"rows", std::move(list)}});
    });
}

ModuleOutcome SelectRows(ModuleCall& call, const NativeAppsOptions& options) {
    const json::value* cols = Field(call, "columns");
    auto columns = ColumnList(cols ? *cols : json::value(nullptr));
    if (!columns) return Failed(BadInput(columns.error().detail));
    const json::value* c = Field(call, "conditions");
    auto conditions = Conditions(c ? *c : json::value(nullptr));
    if (!conditions) return Failed(BadInput(conditions.error().detail));
    const json::value* o = Field(call, "orderBy");
    auto order = OrderByList(o ? *o : json::value(nullptr));
    if (!order) return Failed(BadInput(order.error().detail));
    auto limit = IntegerField(call, "limit", 1, 10'000);
    if (!limit) return Failed(BadInput(limit.error().detail));
    std::optional<Failure> failure;
    auto conn = Connect(call, options, failure);
    if (!conn) return Failed(*failure);
    auto sql = BuildSelect(QuoteWith(*conn), TextField(call, "schema"), TextField(call, "table"), *columns, *conditions,
                           *order, limit->value_or(100));
    return Run(call, *conn, sql, EachRow);
}

// True when the blueprint maps a {{…}} template into the query text itself: values must go through params.
// (Static parameters are not templates: there "{{" is literal text.)
bool QueryIsMapped(const ModuleCall& call) {
    if (call.node == nullptr || !call.node->mapper.is_object()) return false;
    const auto* q = call.node->mapper.as_object().if_contains("query");
    return q && (!q->is_string() || q->as_string().find("{{") != json::string::npos);
}

ModuleOutcome ExecuteQuery(ModuleCall& call, const NativeAppsOptions& options) {
    const std::string query = TextField(call, "query");
    if (query.empty()) return Failed(BadInput("query is required"));
    if (QueryIsMapped(call)) {
        return Failed(
            BadInput("the query must not contain {{…}} mappings: write $1, $2, … in the query and map the "
                     "values into params"));
    }
    Sql sql;
    sql.text = query;
    if (const json::value* p = Field(call, "params")) {
        if (p->is_array()) {
            for (const auto& item : p->as_array()) {
                // [{"value": …}] from a form with a spec, or plain values.
                if (item.is_object() && item.as_object().contains("value") && item.as_object().size() == 1) {
                    sql.params.push_back(ParameterText(item.as_object().at("value")));
                } else {
                    sql.params.push_back(ParameterText(item));
                }
            }
        } else {
            return Failed(BadInput("params must be a list of values ($1, $2, … in order)"));
        }
    }
    std::optional<Failure> failure;
    auto conn = Connect(call, options, failure);
    if (!conn) return Failed(*failure);
    auto rows = conn->Exec(sql.text, sql.params);
    if (!rows) return Failed(PostgresFailure(rows.error(), SanitizerOf(call)));
    ModuleOutcome out;
    if (!rows->columns.empty()) {
        EachRow(*rows, out);
    } else {
        out.bundles.emplace_back(json::object{{"rowCount", rows->affected}, {"command", rows->command}});
    }
    return out;
}

ModuleOutcome WatchRows(ModuleCall& call, const NativeAppsOptions& options) {
    const std::string schema = TextField(call, "schema");
    const std::string table = TextField(call, "table");
    const std::string column = TextField(call, "column");
    if (table.empty()) return Failed(BadInput("table is required"));
    if (column.empty()) return Failed(BadInput("column is required: a column whose value grows with every row"));
    auto limit = IntegerField(call, "limit", 1, 1000);
    if (!limit) return Failed(BadInput(limit.error().detail));
    const std::string qualified = schema.empty() ? table : schema + "." + table;
    // A cursor of another table or column (the fields were edited) means nothing here: start from the beginning.
    std::optional<RowCursor> stored = call.cursor ? DecodeRowCursor(*call.cursor) : std::nullopt;
    if (stored && (stored->table != qualified || stored->column != column)) stored.reset();

    std::optional<Failure> failure;
    auto conn = Connect(call, options, failure);
    if (!conn) return Failed(*failure);
    const QuoteFn quote = QuoteWith(*conn);
    const std::int64_t n = limit->value_or(10);
    auto sql =
        BuildWatch(quote, schema, table, column, stored ? std::optional<std::string>(stored->last) : std::nullopt, n);
    if (!sql) return Failed(BadInput(sql.error().detail));
    auto rows = conn->Exec(sql->text, sql->params);
    if (!rows) return Failed(PostgresFailure(rows.error(), SanitizerOf(call)));
    std::size_t key = rows->columns.size();
    for (std::size_t c = 0; c < rows->columns.size(); ++c) {
        if (rows->columns[c].name == column) key = c;
    }
    ModuleOutcome out;
    if (rows->rows.empty()) {
        if (stored) out.cursor = EncodeRowCursor(*stored);
        return out;
    }
    if (key == rows->columns.size())
        return Failed(BadInput("column \"" + column + "\" is not a column of " + qualified));
    const std::string last = *rows->rows.back()[key];
    if (static_cast<std::int64_t>(rows->rows.size()) == n) {
        // LIMIT may have cut a group of rows with the same value; the cursor moves past the whole group, so take
        // all of it now (a run may then emit a few more than the limit).
        auto group = BuildWatchEqual(quote, schema, table, column, last);
        if (!group) return Failed(BadInput(group.error().detail));
        auto same = conn->Exec(group->text, group->params);
        if (!same) return Failed(PostgresFailure(same.error(), SanitizerOf(call)));
        std::erase_if(rows->rows, [&](const auto& r) { return r[key] && *r[key] == last; });
        for (auto& r : same->rows) rows->rows.push_back(std::move(r));
    }
    EachRow(*rows, out);
    out.cursor = EncodeRowCursor({qualified, column, last});
    return out;
}

}  // namespace

Result<PgSettings> PostgresSettings(const json::object& parameters, const NativeAppsOptions& options) {
    PgSettings s;
    s.host = TextOf(parameters, "host");
    if (s.host.empty()) return core::InvalidArgument("host is required");
    const std::string port = TextOf(parameters, "port");
    if (!port.empty()) {
        int n = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535) {
            return core::InvalidArgument("port must be a number from 1 to 65535, not " + port);
        }
        s.port = n;
    }
    s.database = TextOf(parameters, "database");
    if (s.database.empty()) return core::InvalidArgument("database is required");
    s.username = TextOf(parameters, "username");
    if (s.username.empty()) return core::InvalidArgument("username is required");
    s.password = core::Secret(TextOf(parameters, "password"));
    s.ssl_mode = TextOf(parameters, "sslMode").empty() ? "prefer" : TextOf(parameters, "sslMode");
    if (s.ssl_mode != "disable" && s.ssl_mode != "prefer" && s.ssl_mode != "require" && s.ssl_mode != "verify-full") {
        return core::InvalidArgument("sslMode must be disable, prefer, require or verify-full, not \"" + s.ssl_mode +
                                     "\"");
    }
    s.allow_private_network = options.allow_private_network;
    s.connect_timeout = options.connect_timeout;
    s.statement_timeout = options.timeout;
    return s;
}

std::string EncodeRowCursor(const RowCursor& cursor) {
    return json::serialize(json::object{{"table", cursor.table}, {"column", cursor.column}, {"last", cursor.last}});
}

std::optional<RowCursor> DecodeRowCursor(std::string_view text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    for (const char* key : {"table", "column", "last"}) {
        const auto* f = o.if_contains(key);
        if (!f || !f->is_string()) return std::nullopt;
    }
    return RowCursor{std::string(o.at("table").as_string()), std::string(o.at("column").as_string()),
                     std::string(o.at("last").as_string())};
}

Failure PostgresFailure(const PgError& error, const http_client::Sanitizer* sanitizer) {
    namespace errors = engine::errors;
    std::string message = sanitizer ? sanitizer->Text(error.message, 2000) : error.message;
    if (!error.sqlstate.empty()) message += " [SQLSTATE " + error.sqlstate + "]";
    switch (error.kind) {
        case PgErrorKind::kLogin:
            return Failure(errors::kAccountValidation, std::move(message));
        case PgErrorKind::kUnreachable:
            return Failure(errors::kConnection, std::move(message));
        case PgErrorKind::kRefusedAddress:
            return Failure(errors::kInvalidConfiguration, std::move(message));
        case PgErrorKind::kInvalidInput:
            return Failure(errors::kBundleValidation, std::move(message));
        case PgErrorKind::kStatement:
            break;
    }
    const std::string& s = error.sqlstate;
    const std::string cls = s.substr(0, 2);
    if (cls == "28" || s == "3D000") return Failure(errors::kAccountValidation, std::move(message));
    if (s == "57014") return Failure(errors::kModuleTimeout, std::move(message));
    if (cls == "08" || cls == "53" || s.starts_with("57P") || s == "40001" || s == "40P01") {
        return Failure(errors::kConnection, std::move(message));
    }
    if (s == "23505") return Failure(errors::kDuplicateData, std::move(message));
    if (cls == "22" || cls == "23" || cls == "42" || cls == "0A" || cls == "2F" || cls == "21") {
        return Failure(errors::kData, std::move(message));
    }
    return Failure(errors::kRuntime, std::move(message));
}

void RegisterPostgresModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options) {
    using catalog::ModuleType;
    // type, connection type and scope come from apps/postgres.json (the definition wins); these mirror it.
    auto add = [&](const char* name, ModuleType type, ModuleOutcome (*fn)(ModuleCall&, const NativeAppsOptions&)) {
        // Its client blocks its thread: `blocks` (engine/module.hpp).
        registry.Add({name, type, "postgres", {}, [options, fn](ModuleCall& call) { return fn(call, options); }, true});
    };
    add("postgres:insertRow", ModuleType::kAction, InsertRow);
    add("postgres:updateRows", ModuleType::kAction, UpdateRows);
    add("postgres:selectRows", ModuleType::kSearch, SelectRows);
    add("postgres:executeQuery", ModuleType::kAction, ExecuteQuery);
    add("postgres:watchRows", ModuleType::kTrigger, WatchRows);
}

}  // namespace switchboard::nativeapps

#include "nativeapps/postgres_sql.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "iml/values.hpp"
#include "nativeapps/module_input.hpp"

namespace switchboard::nativeapps {

namespace json = boost::json;
using core::Result;

namespace {

// Type OIDs of pg_type (stable across versions).
constexpr unsigned int kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kJson = 114, kFloat4 = 700,
                       kFloat8 = 701, kNumeric = 1700, kJsonb = 3802;

constexpr std::size_t kMaxIdentifierBytes = 63;  // NAMEDATALEN - 1: longer names are truncated by the server

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string Collapse(std::string s) {
    // "is  not null" → "is not null"
    std::string out;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

Result<std::string> Identifier(const QuoteFn& quote, std::string_view name, std::string_view what) {
    if (name.empty()) return core::InvalidArgument(std::string(what) + " is required");
    if (name.size() > kMaxIdentifierBytes) {
        return core::InvalidArgument(std::string(what) + " \"" + std::string(name) + "\" is longer than 63 bytes");
    }
    if (name.find('\0') != std::string_view::npos) {
        return core::InvalidArgument(std::string(what) + " must not contain a NUL character");
    }
    std::string quoted = quote(name);
    if (quoted.empty()) return core::InvalidArgument(std::string(what) + " \"" + std::string(name) + "\" is not valid");
    return quoted;
}

Result<std::string> TableName(const QuoteFn& quote, std::string_view schema, std::string_view table) {
    auto t = Identifier(quote, table, "table");
    if (!t) return t.error();
    if (schema.empty()) return *t;
    auto s = Identifier(quote, schema, "schema");
    if (!s) return s.error();
    return *s + "." + *t;
}

// WHERE clause of AND-ed conditions, appending their values to params.
Result<std::string> Where(const QuoteFn& quote, const std::vector<Condition>& conditions,
                          std::vector<std::optional<std::string>>& params) {
    std::string out;
    for (std::size_t i = 0; i < conditions.size(); ++i) {
        const Condition& c = conditions[i];
        auto column = Identifier(quote, c.column, "conditions[" + std::to_string(i) + "].column");
        if (!column) return column.error();
        const std::string op = Collapse(Lower(c.op.empty() ? "=" : c.op));
        std::string clause;
        if (op == "is null" || op == "is not null") {
            clause = *column + (op == "is null" ? " IS NULL" : " IS NOT NULL");
        } else {
            static const std::vector<std::pair<std::string_view, std::string_view>> kBinary = {
                {"=", "="},   {"!=", "<>"}, {"<>", "<>"},     {"<", "<"},        {">", ">"},
                {"<=", "<="}, {">=", ">="}, {"like", "LIKE"}, {"ilike", "ILIKE"}};
            auto it = std::find_if(kBinary.begin(), kBinary.end(), [&](const auto& p) { return p.first == op; });
            if (it == kBinary.end()) {
                return core::InvalidArgument("conditions[" + std::to_string(i) + "].operator \"" + c.op +
                                             "\" is not one of = != < > <= >= like ilike, is null, is not null");
            }
            params.push_back(ParameterText(c.value));
            clause = *column + " " + std::string(it->second) + " $" + std::to_string(params.size());
        }
        out += (out.empty() ? " WHERE " : " AND ") + clause;
    }
    return out;
}

}  // namespace

std::optional<std::string> ParameterText(const json::value& v) {
    if (v.is_null()) return std::nullopt;
    // Numbers as JavaScript prints them ("1.5", not "1.5E0"), so a text column stores what the user saw.
    return iml::ToText(v);
}

Result<std::vector<ColumnValue>> ColumnValues(const json::value& v, std::string_view field) {
    std::vector<ColumnValue> out;
    const std::string name(field);
    if (v.is_object()) {
        for (const auto& [k, value] : v.as_object()) out.push_back({std::string(k), value});
        return out;
    }
    if (!v.is_array()) return core::InvalidArgument(name + " must be a list of {column, value}");
    const auto& items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string where = name + "[" + std::to_string(i) + "]";
        if (!items[i].is_object()) return core::InvalidArgument(where + " must be {column, value}");
        const auto& o = items[i].as_object();
        ColumnValue cv;
        cv.column = TextOf(o, "column");
        if (cv.column.empty()) return core::InvalidArgument(where + ".column is required");
        if (const auto* value = o.if_contains("value")) cv.value = *value;
        out.push_back(std::move(cv));
    }
    return out;
}

Result<std::vector<Condition>> Conditions(const json::value& v) {
    std::vector<Condition> out;
    if (v.is_null()) return out;
    if (!v.is_array()) return core::InvalidArgument("conditions must be a list of {column, operator, value}");
    const auto& items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string where = "conditions[" + std::to_string(i) + "]";
        if (!items[i].is_object()) return core::InvalidArgument(where + " must be {column, operator, value}");
        const auto& o = items[i].as_object();
        Condition c;
        c.column = TextOf(o, "column");
        if (c.column.empty()) return core::InvalidArgument(where + ".column is required");
        c.op = TextOf(o, "operator");
        if (const auto* value = o.if_contains("value")) c.value = *value;
        out.push_back(std::move(c));
    }
    return out;
}

Result<std::vector<OrderBy>> OrderByList(const json::value& v) {
    std::vector<OrderBy> out;
    if (v.is_null()) return out;
    if (v.is_string()) {
        for (auto& c : ColumnList(v).value()) out.push_back({c, false});
        return out;
    }
    if (!v.is_array()) return core::InvalidArgument("orderBy must be a list of {column, direction}");
    const auto& items = v.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string where = "orderBy[" + std::to_string(i) + "]";
        if (items[i].is_string()) {
            out.push_back({std::string(items[i].as_string()), false});
            continue;
        }
        if (!items[i].is_object()) return core::InvalidArgument(where + " must be {column, direction}");
        const auto& o = items[i].as_object();
        OrderBy ob;
        ob.column = TextOf(o, "column");
        if (ob.column.empty()) return core::InvalidArgument(where + ".column is required");
        const std::string dir = Lower(TextOf(o, "direction"));
        if (!dir.empty() && dir != "asc" && dir != "desc") {
            return core::InvalidArgument(where + ".direction must be asc or desc");
        }
        ob.descending = dir == "desc";
        out.push_back(std::move(ob));
    }
    return out;
}

Result<std::vector<std::string>> ColumnList(const json::value& v) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (v.is_string()) {
        std::string item;
        auto flush = [&] {
            const auto b = item.find_first_not_of(" \t");
            const auto e = item.find_last_not_of(" \t");
            if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
            item.clear();
        };
        for (char c : std::string(v.as_string())) {
            if (c == ',') {
                flush();
            } else {
                item += c;
            }
        }
        flush();
        return out;
    }
    if (!v.is_array()) return core::InvalidArgument("columns must be a list of column names");
    for (const auto& item : v.as_array()) {
        if (item.is_object()) {
            // [{"column": "a"}] from a form with a spec
            const std::string c = TextOf(item.as_object(), "column");
            if (!c.empty()) out.push_back(c);
        } else if (!item.is_null()) {
            const std::string c = iml::ToText(item);
            if (!c.empty()) out.push_back(c);
        }
    }
    return out;
}

Result<Sql> BuildInsert(const QuoteFn& quote, std::string_view schema, std::string_view table,
                        const std::vector<ColumnValue>& values) {
    auto t = TableName(quote, schema, table);
    if (!t) return t.error();
    Sql sql;
    if (values.empty()) {
        sql.text = "INSERT INTO " + *t + " DEFAULT VALUES RETURNING *";
        return sql;
    }
    std::string columns, placeholders;
    for (std::size_t i = 0; i < values.size(); ++i) {
        auto c = Identifier(quote, values[i].column, "values[" + std::to_string(i) + "].column");
        if (!c) return c.error();
        sql.params.push_back(ParameterText(values[i].value));
        columns += (i ? ", " : "") + *c;
        placeholders += (i ? ", $" : "$") + std::to_string(i + 1);
    }
    sql.text = "INSERT INTO " + *t + " (" + columns + ") VALUES (" + placeholders + ") RETURNING *";
    return sql;
}

Result<Sql> BuildUpdate(const QuoteFn& quote, std::string_view schema, std::string_view table,
                        const std::vector<ColumnValue>& values, const std::vector<Condition>& conditions,
                        bool all_rows) {
    auto t = TableName(quote, schema, table);
    if (!t) return t.error();
    if (values.empty()) return core::InvalidArgument("values is required: at least one column to set");
    if (conditions.empty() && !all_rows) {
        return core::InvalidArgument(
            "conditions is required: an update without conditions changes every row (set allRows to do that)");
    }
    Sql sql;
    std::string set;
    for (std::size_t i = 0; i < values.size(); ++i) {
        auto c = Identifier(quote, values[i].column, "values[" + std::to_string(i) + "].column");
        if (!c) return c.error();
        sql.params.push_back(ParameterText(values[i].value));
        set += (i ? ", " : "") + *c + " = $" + std::to_string(sql.params.size());
    }
    auto where = Where(quote, conditions, sql.params);
    if (!where) return where.error();
    sql.text = "UPDATE " + *t + " SET " + set + *where + " RETURNING *";
    return sql;
}

Result<Sql> BuildSelect(const QuoteFn& quote, std::string_view schema, std::string_view table,
                        const std::vector<std::string>& columns, const std::vector<Condition>& conditions,
                        const std::vector<OrderBy>& order, std::int64_t limit) {
    auto t = TableName(quote, schema, table);
    if (!t) return t.error();
    Sql sql;
    std::string list;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        auto c = Identifier(quote, columns[i], "columns[" + std::to_string(i) + "]");
        if (!c) return c.error();
        list += (i ? ", " : "") + *c;
    }
    auto where = Where(quote, conditions, sql.params);
    if (!where) return where.error();
    std::string order_by;
    for (std::size_t i = 0; i < order.size(); ++i) {
        auto c = Identifier(quote, order[i].column, "orderBy[" + std::to_string(i) + "].column");
        if (!c) return c.error();
        order_by += (i ? ", " : " ORDER BY ") + *c + (order[i].descending ? " DESC" : " ASC");
    }
    sql.text = "SELECT " + (list.empty() ? std::string("*") : list) + " FROM " + *t + *where + order_by + " LIMIT " +
               std::to_string(limit);
    return sql;
}

Result<Sql> BuildWatch(const QuoteFn& quote, std::string_view schema, std::string_view table, std::string_view column,
                       const std::optional<std::string>& after, std::int64_t limit) {
    auto t = TableName(quote, schema, table);
    if (!t) return t.error();
    auto c = Identifier(quote, column, "column");
    if (!c) return c.error();
    Sql sql;
    std::string where = " WHERE " + *c + " IS NOT NULL";
    if (after) {
        sql.params.push_back(*after);
        where = " WHERE " + *c + " > $1";
    }
    sql.text = "SELECT * FROM " + *t + where + " ORDER BY " + *c + " ASC LIMIT " + std::to_string(limit);
    return sql;
}

Result<Sql> BuildWatchEqual(const QuoteFn& quote, std::string_view schema, std::string_view table,
                            std::string_view column, const std::string& value) {
    auto t = TableName(quote, schema, table);
    if (!t) return t.error();
    auto c = Identifier(quote, column, "column");
    if (!c) return c.error();
    Sql sql;
    sql.params.push_back(value);
    sql.text = "SELECT * FROM " + *t + " WHERE " + *c + " = $1";
    return sql;
}

json::object RowJson(const PgRows& rows, std::size_t index) {
    json::object out;
    const auto& row = rows.rows.at(index);
    for (std::size_t c = 0; c < rows.columns.size(); ++c) {
        const auto& col = rows.columns[c];
        const auto& cell = row[c];
        if (!cell) {
            out[col.name] = nullptr;
            continue;
        }
        const std::string& text = *cell;
        switch (col.type_oid) {
            case kBool:
                out[col.name] = text == "t";
                continue;
            case kInt2:
            case kInt4:
            case kInt8:
            case kOid: {
                std::int64_t n = 0;
                auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
                if (ec == std::errc() && p == text.data() + text.size()) {
                    out[col.name] = n;
                    continue;
                }
                break;
            }
            case kFloat4:
            case kFloat8:
            case kNumeric: {
                double d = 0;
                auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
                // NaN and Infinity have no JSON number: they stay text. A numeric becomes the nearest double (as
                // in Make); a query that needs every digit selects it as text (price::text).
                if (ec == std::errc() && p == text.data() + text.size() && std::isfinite(d)) {
                    out[col.name] = d;
                    continue;
                }
                break;
            }
            case kJson:
            case kJsonb: {
                json::error_code ec;
                json::value parsed = json::parse(text, ec);
                if (!ec) {
                    out[col.name] = std::move(parsed);
                    continue;
                }
                break;
            }
            default:
                break;
        }
        out[col.name] = text;
    }
    return out;
}

}  // namespace switchboard::nativeapps

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "nativeapps/postgres_app.hpp"
#include "nativeapps/postgres_sql.hpp"

namespace switchboard::nativeapps {
namespace {

namespace json = boost::json;

// PQescapeIdentifier's rule without a connection: double quotes around, inner quotes doubled.
std::string Quote(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

using Params = std::vector<std::optional<std::string>>;

TEST(PostgresSql, InsertSendsEveryValueAsAParameter) {
    auto values = ColumnValues(json::parse(R"([{"column":"sender","value":"a@x.com'); DROP TABLE t;--"},
                                              {"column":"n","value":12},{"column":"ok","value":true},
                                              {"column":"none","value":null},{"column":"doc","value":{"a":[1]}},
                                              {"column":"missing"}])"),
                               "values");
    ASSERT_TRUE(values.has_value());
    auto sql = BuildInsert(Quote, "", "mail \"log\"", *values);
    ASSERT_TRUE(sql.has_value()) << sql.error().detail;
    EXPECT_EQ(
        sql->text,
        R"(INSERT INTO "mail ""log""" ("sender", "n", "ok", "none", "doc", "missing") VALUES ($1, $2, $3, $4, $5, $6) RETURNING *)");
    EXPECT_EQ(sql->params,
              (Params{"a@x.com'); DROP TABLE t;--", "12", "true", std::nullopt, R"({"a":[1]})", std::nullopt}));
    EXPECT_EQ(sql->text.find("DROP"), std::string::npos);

    auto schema = BuildInsert(Quote, "crm", "rows", {});
    ASSERT_TRUE(schema.has_value());
    EXPECT_EQ(schema->text, R"(INSERT INTO "crm"."rows" DEFAULT VALUES RETURNING *)");

    auto object_form = ColumnValues(json::parse(R"({"a":1,"b":"x"})"), "values");
    ASSERT_TRUE(object_form.has_value());
    EXPECT_EQ(object_form->size(), 2u);
    EXPECT_FALSE(ColumnValues(json::parse(R"([{"value":1}])"), "values").has_value());
    EXPECT_FALSE(BuildInsert(Quote, "", "", *values).has_value());
    EXPECT_FALSE(BuildInsert(Quote, "", std::string(64, 'x'), *values).has_value());
    EXPECT_FALSE(BuildInsert([](std::string_view) { return std::string(); }, "", "t", *values).has_value());
}

TEST(PostgresSql, UpdateNeedsConditionsUnlessAllRowsIsAsked) {
    auto values = ColumnValues(json::parse(R"([{"column":"status","value":"done"}])"), "values").value();
    auto conditions = Conditions(json::parse(R"([{"column":"id","operator":">=","value":5},
        {"column":"name","operator":"ILIKE","value":"%a%"},{"column":"x","operator":"is  not null"},
        {"column":"y","operator":"!=","value":"z"},{"column":"w"}])"))
                          .value();
    auto sql = BuildUpdate(Quote, "", "t", values, conditions, false);
    ASSERT_TRUE(sql.has_value()) << sql.error().detail;
    EXPECT_EQ(
        sql->text,
        R"(UPDATE "t" SET "status" = $1 WHERE "id" >= $2 AND "name" ILIKE $3 AND "x" IS NOT NULL AND "y" <> $4 AND "w" = $5 RETURNING *)");
    EXPECT_EQ(sql->params, (Params{"done", "5", "%a%", "z", std::nullopt}));

    auto refused = BuildUpdate(Quote, "", "t", values, {}, false);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().detail.find("allRows"), std::string::npos);
    auto all = BuildUpdate(Quote, "", "t", values, {}, true);
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(all->text, R"(UPDATE "t" SET "status" = $1 RETURNING *)");
    EXPECT_FALSE(BuildUpdate(Quote, "", "t", {}, conditions, false).has_value());
    auto bad_op = Conditions(json::parse(R"([{"column":"id","operator":"; DROP","value":1}])")).value();
    auto bad = BuildUpdate(Quote, "", "t", values, bad_op, false);
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().detail.find("operator"), std::string::npos);
}

TEST(PostgresSql, SelectWithColumnsConditionsOrderAndLimit) {
    auto columns = ColumnList(json::value("id, subject ,sender")).value();
    auto order = OrderByList(json::parse(R"([{"column":"id","direction":"desc"},"subject"])")).value();
    auto conditions = Conditions(json::parse(R"([{"column":"sender","operator":"like","value":"%@x.com"}])")).value();
    auto sql = BuildSelect(Quote, "public", "emails", columns, conditions, order, 5);
    ASSERT_TRUE(sql.has_value()) << sql.error().detail;
    EXPECT_EQ(
        sql->text,
        R"(SELECT "id", "subject", "sender" FROM "public"."emails" WHERE "sender" LIKE $1 ORDER BY "id" DESC, "subject" ASC LIMIT 5)");
    EXPECT_EQ(sql->params, (Params{"%@x.com"}));
    auto star = BuildSelect(Quote, "", "emails", {}, {}, {}, 100);
    EXPECT_EQ(star->text, R"(SELECT * FROM "emails" LIMIT 100)");
    EXPECT_FALSE(OrderByList(json::parse(R"([{"column":"id","direction":"sideways"}])")).has_value());
    EXPECT_EQ(ColumnList(json::parse(R"(["a",{"column":"b"},null,""])")).value(), (std::vector<std::string>{"a", "b"}));
}

TEST(PostgresSql, WatchQueriesAfterTheCursor) {
    auto first = BuildWatch(Quote, "", "orders", "id", std::nullopt, 10);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->text, R"(SELECT * FROM "orders" WHERE "id" IS NOT NULL ORDER BY "id" ASC LIMIT 10)");
    EXPECT_TRUE(first->params.empty());
    auto next = BuildWatch(Quote, "", "orders", "created at", std::string("2026-01-01 10:00:00+00"), 3);
    EXPECT_EQ(next->text, R"(SELECT * FROM "orders" WHERE "created at" > $1 ORDER BY "created at" ASC LIMIT 3)");
    EXPECT_EQ(next->params, (Params{"2026-01-01 10:00:00+00"}));
    auto group = BuildWatchEqual(Quote, "s", "orders", "id", "7");
    EXPECT_EQ(group->text, R"(SELECT * FROM "s"."orders" WHERE "id" = $1)");
    EXPECT_FALSE(BuildWatch(Quote, "", "orders", "", std::nullopt, 10).has_value());
}

TEST(PostgresSql, RowsBecomeTypedBundles) {
    PgRows rows;
    rows.columns = {{"id", 20},    {"small", 21}, {"price", 1700}, {"ratio", 701}, {"ok", 16},
                    {"doc", 3802}, {"note", 25},  {"at", 1184},    {"gone", 25},   {"nan", 701}};
    rows.rows.push_back({"9007199254740993", "-3", "12.50", "0.25", "t", R"({"a":[1,2]})", "héllo",
                         "2026-01-01 10:00:00+00", std::nullopt, "NaN"});
    const json::object b = RowJson(rows, 0);
    EXPECT_EQ(b.at("id").as_int64(), 9007199254740993);
    EXPECT_EQ(b.at("small").as_int64(), -3);
    EXPECT_DOUBLE_EQ(b.at("price").as_double(), 12.5);
    EXPECT_DOUBLE_EQ(b.at("ratio").as_double(), 0.25);
    EXPECT_TRUE(b.at("ok").as_bool());
    EXPECT_EQ(b.at("doc"), json::parse(R"({"a":[1,2]})"));
    EXPECT_EQ(b.at("note").as_string(), "héllo");
    EXPECT_EQ(b.at("at").as_string(), "2026-01-01 10:00:00+00");
    EXPECT_TRUE(b.at("gone").is_null());
    EXPECT_EQ(b.at("nan").as_string(), "NaN");
}

TEST(PostgresSql, ParameterTextOfEveryJsonKind) {
    EXPECT_EQ(ParameterText(json::value("x")), "x");
    EXPECT_EQ(ParameterText(json::value(1.5)), "1.5");
    EXPECT_EQ(ParameterText(json::value(false)), "false");
    EXPECT_EQ(ParameterText(json::value(nullptr)), std::nullopt);
    EXPECT_EQ(ParameterText(json::parse("[1,\"a\"]")), "[1,\"a\"]");
}

TEST(PostgresApp, SettingsCursorAndFailureTypes) {
    NativeAppsOptions options;
    auto s = PostgresSettings(json::parse(R"({"host":"db.example.com","port":6543,"database":"crm",
        "username":"app","password":"pw","sslMode":"verify-full"})")
                                  .as_object(),
                              options);
    ASSERT_TRUE(s.has_value()) << s.error().detail;
    EXPECT_EQ(s->port, 6543);
    EXPECT_EQ(s->ssl_mode, "verify-full");
    EXPECT_EQ(s->password.Reveal(), "pw");
    auto d = PostgresSettings(json::parse(R"({"host":"h","database":"d","username":"u"})").as_object(), options);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->port, 5432);
    EXPECT_EQ(d->ssl_mode, "prefer");
    EXPECT_FALSE(
        PostgresSettings(json::parse(R"({"host":"h","database":"d","username":"u","sslMode":"allow"})").as_object(),
                         options)
            .has_value());
    EXPECT_FALSE(PostgresSettings(json::parse(R"({"host":"h","username":"u"})").as_object(), options).has_value());

    const RowCursor cursor{"crm.orders", "id", "42"};
    auto back = DecodeRowCursor(EncodeRowCursor(cursor));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->table, "crm.orders");
    EXPECT_EQ(back->last, "42");
    EXPECT_FALSE(DecodeRowCursor(R"({"type":"id","last":42})").has_value());
    EXPECT_FALSE(DecodeRowCursor("nope").has_value());

    const http_client::Sanitizer sanitizer({core::Secret("s3cr3t-pw")});
    struct Case {
        PgErrorKind kind;
        std::string sqlstate;
        std::string_view type;
    };
    for (const Case& c : std::vector<Case>{{PgErrorKind::kLogin, "", engine::errors::kAccountValidation},
                                           {PgErrorKind::kUnreachable, "", engine::errors::kConnection},
                                           {PgErrorKind::kRefusedAddress, "", engine::errors::kInvalidConfiguration},
                                           {PgErrorKind::kInvalidInput, "", engine::errors::kBundleValidation},
                                           {PgErrorKind::kStatement, "28P01", engine::errors::kAccountValidation},
                                           {PgErrorKind::kStatement, "3D000", engine::errors::kAccountValidation},
                                           {PgErrorKind::kStatement, "57014", engine::errors::kModuleTimeout},
                                           {PgErrorKind::kStatement, "08006", engine::errors::kConnection},
                                           {PgErrorKind::kStatement, "40P01", engine::errors::kConnection},
                                           {PgErrorKind::kStatement, "23505", engine::errors::kDuplicateData},
                                           {PgErrorKind::kStatement, "23502", engine::errors::kData},
                                           {PgErrorKind::kStatement, "42P01", engine::errors::kData},
                                           {PgErrorKind::kStatement, "22P02", engine::errors::kData},
                                           {PgErrorKind::kStatement, "XX000", engine::errors::kRuntime}}) {
        auto f = PostgresFailure(PgError{c.kind, c.sqlstate, "failed near s3cr3t-pw"}, &sanitizer);
        EXPECT_EQ(f.type, c.type) << c.sqlstate;
        EXPECT_EQ(f.message.find("s3cr3t-pw"), std::string::npos);
        if (!c.sqlstate.empty()) {
            EXPECT_NE(f.message.find(c.sqlstate), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace switchboard::nativeapps

// The native Email and PostgreSQL apps end to end: connections verified against real servers, scenarios run
// through the API of the real binary.
// - an email sent with email:sendEmail arrives and email:watchEmails emits it once, decoded (sender, non-ASCII
//   subject, attachment name and bytes);
// - the offline example (examples/new-email-to-row.json) inserts exactly one row per new email, also across a
//   restart of the server between runs;
// - wrong IMAP, SMTP and PostgreSQL passwords fail the verify with the server's reason, and no password (right or
//   wrong) appears in any API answer or server log line.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/encoding.hpp"
#include "support/http.hpp"
#include "support/mail_servers.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::value Json(const std::string& s) { return json::parse(s); }

// A statement on the test database as its owner (the password login), for setting up and checking tables.
std::vector<std::vector<std::string>> Sql(const PostgresServer::PasswordLogin& login, const std::string& sql) {
    const std::string uri = "postgresql://" + login.role + ":" + login.password +
                            "@127.0.0.1:" + std::to_string(PostgresServer::Shared().port()) + "/" + login.database;
    PGconn* conn = PQconnectdb(uri.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string m = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect: " + m);
    }
    PGresult* res = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(res);
    std::vector<std::vector<std::string>> rows;
    if (status == PGRES_TUPLES_OK) {
        for (int r = 0; r < PQntuples(res); ++r) {
            std::vector<std::string> row;
            for (int c = 0; c < PQnfields(res); ++c) row.emplace_back(PQgetvalue(res, r, c));
            rows.push_back(std::move(row));
        }
    }
    const std::string error = PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw std::runtime_error(sql + ": " + error);
    return rows;
}

std::string Message(const std::string& from, const std::string& subject) {
    return "From: " + from + "\r\nTo: someone@example.test\r\nSubject: " + subject + "\r\nMessage-ID: <" +
           std::to_string(std::hash<std::string>{}(subject)) +
           "@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody of " + subject + "\r\n";
}

class EmailAppsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        token = CreateToken("ana@alpha.test", "Alpha");
        Start();
        team = Json(Call("GET", "/api/v2/teams").body).at("teams").at(0).at("id").as_int64();
    }
    void TearDown() override { Stop(); }

    void Start() {
        server = StartServer({"--data-dir", dir.file("data"), "--allow-private-network", "--log-level", "debug"},
                             {{"SWITCHBOARD_MASTER_KEY", ""}}, dir.path().string());
    }
    // Stops the server and keeps what it logged (a restart starts new log files).
    void Stop() {
        if (!server.process) return;
        server.process->Signal(SIGTERM);
        ASSERT_TRUE(server.process->Wait(30s).has_value());
        logs += server.process->Stdout() + server.process->Stderr();
        server.process.reset();
    }
    std::string AllLogs() {
        return logs + (server.process ? server.process->Stdout() + server.process->Stderr() : std::string());
    }

    std::string CreateToken(const std::string& email, const std::string& team_name) {
        auto r = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--email", email,
                             "--team", team_name, "--role", "admin"},
                            {{"SWITCHBOARD_MASTER_KEY", ""}});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::string out = r.out;
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out.substr(out.rfind('\n') + 1);
    }

    HttpReply Call(const std::string& method, const std::string& target, const std::string& body = "") {
        HttpReply r = HttpRequest(server.port, method, target, body, {{"Authorization", "Token " + token}});
        replies += r.body + "\n";
        return r;
    }

    HttpReply PostConnection(json::object body) {
        return Call("POST", "/api/v2/connections?teamId=" + std::to_string(team), json::serialize(body));
    }
    std::int64_t CreateConnection(json::object body) {
        auto r = PostConnection(std::move(body));
        EXPECT_EQ(r.status, 201) << r.body;
        if (r.status != 201) return 0;
        const json::value c = Json(r.body).at("connection");
        EXPECT_EQ(c.at("status").as_string(), "verified") << c;
        return c.at("id").as_int64();
    }
    static json::object Mail(const std::string& type, const std::string& name, int port, const std::string& security,
                             const MailAccount& account, const std::string& password) {
        return json::object{{"accountName", name},  {"accountType", type},       {"host", MailServers::kHost},
                            {"port", port},         {"security", security},      {"username", account.address},
                            {"password", password}, {"verifyCertificate", false}};
    }
    static json::object Imap(const MailAccount& account, const std::string& password = "") {
        return Mail("email-imap", "IMAP " + account.address, MailServers::Shared().imaps_port(), "tls", account,
                    password.empty() ? account.password : password);
    }
    static json::object Smtp(const MailAccount& account, const std::string& password = "") {
        return Mail("email-smtp", "SMTP " + account.address, MailServers::Shared().smtp_port(), "starttls", account,
                    password.empty() ? account.password : password);
    }
    static json::object Postgres(const PostgresServer::PasswordLogin& login, const std::string& password = "") {
        return json::object{{"accountName", "Database " + login.database},
                            {"accountType", "postgres"},
                            {"host", "127.0.0.1"},
                            {"port", PostgresServer::Shared().port()},
                            {"database", login.database},
                            {"username", login.role},
                            {"password", password.empty() ? login.password : password},
                            {"sslMode", "disable"}};
    }

    json::value CreateScenario(const json::value& blueprint) {
        auto r = Call("POST", "/api/v2/scenarios?teamId=" + std::to_string(team),
                      json::serialize(json::object{{"blueprint", blueprint}}));
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? Json(r.body).at("scenario") : json::value(nullptr);
    }
    json::value RunOnce(const json::value& scenario) {
        auto r = Call("POST", "/api/v2/scenarios/" + std::to_string(scenario.at("id").as_int64()) + "/run", "{}");
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? Json(r.body).at("execution") : json::value(nullptr);
    }
    // The output bundles of module `module_id` in an execution's log.
    json::array Outputs(const json::value& execution, std::int64_t module_id) {
        auto r = Call("GET", "/api/v2/executions/" + std::to_string(execution.at("id").as_int64()));
        EXPECT_EQ(r.status, 200) << r.body;
        json::array out;
        const json::value doc = Json(r.body);  // kept alive: the loops below hold references into it
        for (const auto& m : doc.at("execution").at("modules").as_array()) {
            if (m.at("moduleId").as_int64() != module_id || !m.as_object().contains("output")) continue;
            const json::value bundles = Json(std::string(m.at("output").as_string()));
            for (const auto& b : bundles.as_array()) out.push_back(b);
        }
        return out;
    }

    TempDir dir;
    ServerProcess server;
    std::string token;
    std::int64_t team = 0;
    std::string replies;
    std::string logs;
};

TEST_F(EmailAppsTest, SentEmailArrivesAndTheWatchEmitsItOnceDecoded) {
    auto& servers = MailServers::Shared();
    const auto alice = servers.CreateAccount("alice");
    const auto bob = servers.CreateAccount("bob");
    const std::int64_t smtp = CreateConnection(Smtp(alice));
    const std::int64_t imap = CreateConnection(Imap(bob));
    ASSERT_GT(smtp, 0);
    ASSERT_GT(imap, 0);

    static constexpr char kPdf[] = "%PDF-1.4\n\x00\xff binary \r\n.\r\nend";
    const std::string pdf(kPdf, sizeof kPdf - 1);
    const std::string subject = "Prüfung — 日本 report";
    json::value send = CreateScenario(json::value{
        {"name", "Send"},
        {"flow", json::array{json::object{
                     {"id", 1},
                     {"module", "email:sendEmail"},
                     {"parameters", json::object{{"__IMTCONN__", smtp}}},
                     {"mapper", json::object{{"from", "Jürgen Müller <" + alice.address + ">"},
                                             {"to", json::array{bob.address}},
                                             {"subject", subject},
                                             {"text", "Hallo,\nsiehe Anhang."},
                                             {"attachments",
                                              json::array{json::object{{"fileName", "résumé.pdf"},
                                                                       {"data", core::Base64Encode(pdf)},
                                                                       {"contentType", "application/pdf"}}}}}}}}}});
    ASSERT_TRUE(send.is_object());
    json::value watch = CreateScenario(json::value{
        {"name", "Watch"},
        {"flow", json::array{json::object{{"id", 1},
                                          {"module", "email:watchEmails"},
                                          {"parameters", json::object{{"__IMTCONN__", imap}, {"maxResults", 5}}}}}}});
    ASSERT_TRUE(watch.is_object());

    json::value sent = RunOnce(send);
    ASSERT_EQ(sent.at("status").as_string(), "success") << sent;
    const json::array receipt = Outputs(sent, 1);
    ASSERT_EQ(receipt.size(), 1u);
    EXPECT_TRUE(receipt[0].at("response").as_string().starts_with("250")) << receipt[0];

    // Delivery through Postfix and LMTP takes a moment: poll like the schedule would.
    json::array emitted;
    int runs = 0;
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         emitted.empty() && std::chrono::steady_clock::now() < deadline; ++runs) {
        json::value run = RunOnce(watch);
        ASSERT_EQ(run.at("status").as_string(), "success") << run;
        emitted = Outputs(run, 1);
        if (emitted.empty()) std::this_thread::sleep_for(200ms);
    }
    ASSERT_EQ(emitted.size(), 1u) << "after " << runs << " runs";
    const json::object& e = emitted[0].as_object();
    EXPECT_EQ(e.at("sender").at("address").as_string(), alice.address);
    EXPECT_EQ(e.at("sender").at("name").as_string(), "Jürgen Müller");
    EXPECT_EQ(e.at("subject").as_string(), subject);
    EXPECT_EQ(e.at("to").at(0).at("address").as_string(), bob.address);
    EXPECT_NE(e.at("text").as_string().find("siehe Anhang"), json::string::npos) << e.at("text");
    EXPECT_EQ(e.at("messageId").as_string(), receipt[0].at("messageId").as_string());
    ASSERT_EQ(e.at("attachments").as_array().size(), 1u);
    const auto& attachment = e.at("attachments").at(0).as_object();
    EXPECT_EQ(attachment.at("fileName").as_string(), "résumé.pdf");
    EXPECT_EQ(attachment.at("contentType").as_string(), "application/pdf");
    EXPECT_EQ(core::Base64Decode(attachment.at("data").as_string()).value_or(""), pdf);
    EXPECT_EQ(e.at("folder").as_string(), "INBOX");
    EXPECT_FALSE(e.at("seen").as_bool()) << "watching must not mark as read";

    // Once: the next runs emit nothing, until a new email comes.
    for (int i = 0; i < 2; ++i) {
        json::value again = RunOnce(watch);
        EXPECT_EQ(again.at("status").as_string(), "success");
        EXPECT_TRUE(Outputs(again, 1).empty());
        EXPECT_EQ(again.at("operations").as_int64(), 1);
    }
    servers.Append(bob, "INBOX", Message("carol@example.test", "second"));
    json::value next = RunOnce(watch);
    const json::array second = Outputs(next, 1);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].at("subject").as_string(), "second");
    EXPECT_GT(second[0].at("uid").as_int64(), e.at("uid").as_int64());

    // The email modules that act on it: mark as read, then move it away.
    json::value act = CreateScenario(json::value{
        {"name", "Act"},
        {"flow",
         json::array{json::object{{"id", 1},
                                  {"module", "email:markAsRead"},
                                  {"parameters", json::object{{"__IMTCONN__", imap}}},
                                  {"mapper", json::object{{"uid", e.at("uid")}}}},
                     json::object{{"id", 2},
                                  {"module", "email:moveEmail"},
                                  {"parameters", json::object{{"__IMTCONN__", imap}}},
                                  {"mapper", json::object{{"uid", "{{1.uid}}"}, {"destination", "Archive"}}}}}}});
    servers.Imap(bob, "CREATE Archive");
    json::value acted = RunOnce(act);
    ASSERT_EQ(acted.at("status").as_string(), "success") << acted;
    const auto archived = servers.Imap(bob, "UID SEARCH SEEN", "Archive");
    const auto joined = [](const std::vector<std::string>& lines) {
        std::string s;
        for (const auto& l : lines) s += l + "\n";
        return s;
    };
    EXPECT_NE(joined(archived).find("SEARCH 1"), std::string::npos) << joined(archived);

    for (const auto& secret : {alice.password, bob.password}) {
        EXPECT_EQ(replies.find(secret), std::string::npos);
        EXPECT_EQ(AllLogs().find(secret), std::string::npos);
    }
}

TEST_F(EmailAppsTest, TheOfflineExampleInsertsOneRowPerNewEmailAcrossARestart) {
    auto& servers = MailServers::Shared();
    const auto inbox = servers.CreateAccount("inbox");
    const auto login = PostgresServer::Shared().CreatePasswordLogin("example");
    Sql(login,
        "CREATE TABLE emails (id serial PRIMARY KEY, sender text NOT NULL, subject text, "
        "received_at timestamptz NOT NULL DEFAULT now())");
    const std::int64_t imap = CreateConnection(Imap(inbox));
    const std::int64_t db = CreateConnection(Postgres(login));
    ASSERT_GT(imap, 0);
    ASSERT_GT(db, 0);

    // The example as shipped, with the placeholder connection ids replaced.
    std::ifstream in(std::string(SWITCHBOARD_EXAMPLES_DIR) + "/new-email-to-row.json");
    std::stringstream text;
    text << in.rdbuf();
    json::value blueprint = Json(text.str());
    auto& flow = blueprint.at("flow").as_array();
    ASSERT_EQ(flow.at(0).at("parameters").at("__IMTCONN__").as_int64(), 2001);
    ASSERT_EQ(flow.at(1).at("parameters").at("__IMTCONN__").as_int64(), 2002);
    flow.at(0).as_object()["parameters"].as_object()["__IMTCONN__"] = imap;
    flow.at(1).as_object()["parameters"].as_object()["__IMTCONN__"] = db;
    json::value scenario = CreateScenario(blueprint);
    ASSERT_TRUE(scenario.is_object());

    servers.Append(inbox, "INBOX", Message("Ann <ann@example.test>", "first"));
    servers.Append(inbox, "INBOX", Message("ben@example.test", "=?UTF-8?B?w5xiZXJ3ZWlzdW5n?="));  // "Überweisung"
    json::value first = RunOnce(scenario);
    ASSERT_EQ(first.at("status").as_string(), "success") << first;
    EXPECT_EQ(first.at("operations").as_int64(), 3);  // the trigger and two inserts
    json::value idle = RunOnce(scenario);
    EXPECT_EQ(idle.at("operations").as_int64(), 1);

    // A restart between the runs: the cursor is in the store.
    Stop();
    servers.Append(inbox, "INBOX", Message("cy@example.test", "third"));
    Start();
    json::value after = RunOnce(scenario);
    ASSERT_EQ(after.at("status").as_string(), "success") << after;
    EXPECT_EQ(after.at("operations").as_int64(), 2);
    EXPECT_EQ(RunOnce(scenario).at("operations").as_int64(), 1);

    const auto rows = Sql(login, "SELECT sender, subject FROM emails ORDER BY id");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"ann@example.test", "first"}));
    EXPECT_EQ(rows[1], (std::vector<std::string>{"ben@example.test", "Überweisung"}));
    EXPECT_EQ(rows[2], (std::vector<std::string>{"cy@example.test", "third"}));

    // The database modules' outputs: the inserted row, typed.
    const json::array inserted = Outputs(after, 2);
    ASSERT_EQ(inserted.size(), 1u);
    EXPECT_EQ(inserted[0].at("id").as_int64(), 3);
    EXPECT_EQ(inserted[0].at("sender").as_string(), "cy@example.test");

    EXPECT_EQ(replies.find(login.password), std::string::npos);
    EXPECT_EQ(AllLogs().find(login.password), std::string::npos);
    EXPECT_EQ(AllLogs().find(inbox.password), std::string::npos);
}

TEST_F(EmailAppsTest, PostgresModulesSelectUpdateQueryAndWatchWithParametersOnly) {
    const auto login = PostgresServer::Shared().CreatePasswordLogin("mods");
    Sql(login, "CREATE TABLE \"Orders\" (id serial PRIMARY KEY, item text, qty int, note text)");
    Sql(login, "INSERT INTO \"Orders\" (item, qty) VALUES ('apple', 1), ('pear', 2), ('plum', 3)");
    const std::int64_t db = CreateConnection(Postgres(login));
    ASSERT_GT(db, 0);
    const std::string hostile = "x'); DROP TABLE \"Orders\"; --";
    auto module = [&](std::int64_t id, const std::string& name, json::object mapper, json::object parameters = {}) {
        parameters["__IMTCONN__"] = db;
        return json::object{
            {"id", id}, {"module", name}, {"parameters", std::move(parameters)}, {"mapper", std::move(mapper)}};
    };
    json::value s = CreateScenario(json::value{
        {"name", "Database"},
        {"flow",
         json::array{
             module(1, "postgres:selectRows",
                    {{"table", "Orders"},
                     {"conditions", json::array{json::object{{"column", "qty"}, {"operator", ">="}, {"value", 2}}}},
                     {"orderBy", json::array{json::object{{"column", "qty"}, {"direction", "desc"}}}}}),
             module(2, "postgres:updateRows",
                    {{"table", "Orders"},
                     {"values", json::array{json::object{{"column", "note"}, {"value", hostile}}}},
                     {"conditions", json::array{json::object{{"column", "id"}, {"value", "{{1.id}}"}}}}}),
             // The query is a static parameter; the value comes through params.
             module(3, "postgres:executeQuery", {{"params", json::array{"{{1.item}}"}}},
                    {{"query", "SELECT item, qty * 10 AS tenfold, note FROM \"Orders\" WHERE item = $1"}})}}});
    ASSERT_TRUE(s.is_object());

    json::value run = RunOnce(s);
    ASSERT_EQ(run.at("status").as_string(), "success") << run;
    const json::array selected = Outputs(run, 1);
    ASSERT_EQ(selected.size(), 2u);  // one bundle per row
    EXPECT_EQ(selected[0].at("item").as_string(), "plum");
    EXPECT_EQ(selected[1].at("qty").as_int64(), 2);
    const json::array updated = Outputs(run, 2);
    ASSERT_EQ(updated.size(), 2u);
    EXPECT_EQ(updated[0].at("rowCount").as_int64(), 1);
    const json::array queried = Outputs(run, 3);
    ASSERT_EQ(queried.size(), 2u);
    EXPECT_EQ(queried[0].at("tenfold").as_int64(), 30);
    EXPECT_EQ(queried[0].at("note").as_string(), hostile);
    EXPECT_EQ(Sql(login, "SELECT count(*) FROM \"Orders\" WHERE note IS NOT NULL")[0][0], "2");

    // Watch rows: every row once, by id, across runs.
    json::value watch = CreateScenario(json::value{
        {"name", "Watch rows"},
        {"flow", json::array{json::object{
                     {"id", 1},
                     {"module", "postgres:watchRows"},
                     {"parameters",
                      json::object{{"__IMTCONN__", db}, {"table", "Orders"}, {"column", "id"}, {"limit", 2}}}}}}});
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 3; ++i) {
        for (const auto& b : Outputs(RunOnce(watch), 1)) ids.push_back(b.at("id").as_int64());
    }
    Sql(login, "INSERT INTO \"Orders\" (item, qty) VALUES ('fig', 4)");
    for (const auto& b : Outputs(RunOnce(watch), 1)) ids.push_back(b.at("id").as_int64());
    EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2, 3, 4}));

    // A unique violation is a DuplicateDataError; an unknown table a DataError with the server's words.
    Sql(login, "CREATE UNIQUE INDEX ON \"Orders\" (item)");
    json::value dup = CreateScenario(json::value{
        {"name", "Duplicate"},
        {"flow", json::array{module(1, "postgres:insertRow",
                                    {{"table", "Orders"},
                                     {"values", json::array{json::object{{"column", "item"}, {"value", "fig"}}}}}),
                             module(2, "postgres:insertRow", {{"table", "Missing"}, {"values", json::array{}}})}}});
    json::value failed = RunOnce(dup);
    EXPECT_EQ(failed.at("status").as_string(), "error");
    EXPECT_EQ(failed.at("error").at("type").as_string(), "DuplicateDataError") << failed;
    EXPECT_NE(failed.at("error").at("message").as_string().find("23505"), std::string::npos) << failed;
    EXPECT_EQ(Sql(login, "SELECT count(*) FROM \"Orders\"")[0][0], "4");
    EXPECT_EQ(replies.find(login.password), std::string::npos);
}

TEST_F(EmailAppsTest, WrongPasswordsFailTheVerifyWithTheServersReasonAndLeakNowhere) {
    auto& servers = MailServers::Shared();
    const auto dora = servers.CreateAccount("dora");
    const auto login = PostgresServer::Shared().CreatePasswordLogin("wrong");
    const std::string wrong_mail = "Wr0ng-Mail-Pass-7f3a";
    const std::string wrong_db = "Wr0ng-Db-Pass-2c9e";

    struct Case {
        json::object body;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {Imap(dora, wrong_mail), "Authentication failed"},
        {Smtp(dora, wrong_mail), "535"},
        {Postgres(login, wrong_db), "password authentication failed"},
    };
    for (const auto& c : cases) {
        auto r = PostConnection(c.body);
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_NE(r.body.find("Connection verification failed"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find(c.reason), std::string::npos) << r.body;
    }
    // Nothing was saved.
    auto list = Call("GET", "/api/v2/connections?teamId=" + std::to_string(team));
    EXPECT_TRUE(Json(list.body).at("connections").as_array().empty()) << list.body;

    // A saved connection whose password changes at the server fails its verify the same way.
    const std::int64_t db = CreateConnection(Postgres(login));
    ASSERT_GT(db, 0);
    Sql(login, "ALTER ROLE \"" + login.role + "\" PASSWORD 'Changed-Elsewhere-41'");
    auto test = Call("POST", "/api/v2/connections/" + std::to_string(db) + "/test");
    ASSERT_EQ(test.status, 200) << test.body;
    EXPECT_NE(test.body.find("password authentication failed"), std::string::npos) << test.body;

    for (const auto& secret : {wrong_mail, wrong_db, dora.password, login.password}) {
        EXPECT_EQ(replies.find(secret), std::string::npos) << secret;
        EXPECT_EQ(AllLogs().find(secret), std::string::npos) << secret;
    }
}

}  // namespace
}  // namespace switchboard::testing

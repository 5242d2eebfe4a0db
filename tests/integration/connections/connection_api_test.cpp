// The connections API through the real binary, against a real loopback upstream that requires an API key:
// create → verified with metadata; the key changes upstream → test fails with the upstream's reason; set-data
// with the new key → verified again. Secrets never appear in responses, logs or the database file; other
// teams cannot touch the connection; operator apps that are broken are reported and skipped.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "http_server/server.hpp"
#include "store/store.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kKey1 = "acme-key-ONE-6b2f0d9c1e";
constexpr const char* kKey2 = "acme-key-TWO-94d1a7c3f8";

// The app's side: GET /v1/me answers the account when X-Api-Key matches the current key.
class Upstream {
  public:
    Upstream() {
        http_server::Router router;
        router.Add("GET", "/v1/me", [this](http_server::Request& req) {
            std::lock_guard lock(mu_);
            ++calls_;
            const bool by_header = req.Header("x-api-key").value_or("") == key_;
            const bool by_query = req.Query("api_key").value_or("") == key_;
            if (!by_header && !by_query) {
                // Like many APIs, it echoes what it got: Switchboard must not pass that on.
                const std::string got(req.Header("x-api-key").value_or(req.Query("api_key").value_or("")));
                return http_server::Response::Json(
                    401, json::serialize(json::object{{"error", "invalid api key"}, {"received", got}}));
            }
            return http_server::Response::Json(200, R"({"id":4242,"email":"owner@acme.test","name":"Acme Owner"})");
        });
        http_server::ServerOptions opts;
        opts.port = 0;
        opts.worker_threads = 2;
        opts.io_threads = 1;
        server_ = std::make_unique<http_server::Server>(
            opts, std::move(router),
            [](const core::Error& e) { return http_server::Response::Json(404, "{\"error\":\"" + e.message + "\"}"); },
            nullptr);
        if (!server_->Start()) throw std::runtime_error("upstream did not start");
    }
    ~Upstream() { server_->Stop(); }
    int port() const { return server_->port(); }
    void SetKey(std::string k) {
        std::lock_guard lock(mu_);
        key_ = std::move(k);
    }
    int calls() {
        std::lock_guard lock(mu_);
        return calls_;
    }

  private:
    std::mutex mu_;
    std::string key_ = kKey1;
    int calls_ = 0;
    std::unique_ptr<http_server::Server> server_;
};

std::string AcmeApp(int port) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    return R"({
  "name": "acme", "label": "Acme", "version": "1.0.0", "description": "Test upstream", "theme": "#336699",
  "base": {"baseUrl": ")" +
           base + R"("},
  "connections": {
    "acme": {
      "type": "apikey", "label": "Acme API key",
      "parameters": [
        {"name": "apiKey", "type": "password", "label": "API key", "required": true},
        {"name": "account", "type": "text", "label": "Account name"},
        {"name": "region", "type": "select", "label": "Region", "editable": false,
         "options": [{"label": "EU", "value": "eu"}, {"label": "US", "value": "us"}], "default": "eu"}
      ],
      "scope": ["read"],
      "scopes": {"read": "Read data", "write": "Change data"},
      "api": {
        "url": ")" +
           base + R"(/v1/me",
        "headers": {"x-api-key": "{{parameters.apiKey}}"},
        "response": {
          "metadata": {"type": "email", "value": "{{body.email}}"},
          "uid": "{{body.id}}",
          "error": {"message": "[{{statusCode}}] {{body.error}}: {{body.received}}"
}
}
}
}
}
})";
}

json::value Json(const std::string& s) { return json::parse(s); }

class ConnectionApiTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(dir.file("apps"));
        std::ofstream(dir.file("apps/acme.json")) << AcmeApp(upstream.port());
        std::ofstream(dir.file("apps/broken.json")) << R"({"name": "Broken App", "connections": 5})";
        token_a = CreateToken("ana@alpha.test", "Alpha", "admin");
        token_b = CreateToken("bob@beta.test", "Beta", "admin");
        token_mon = CreateToken("mona@alpha.test", "Alpha", "monitoring");
        server = StartServer({"--data-dir", dir.file("data"), "--apps-dir", dir.file("apps"), "--allow-private-network",
                              "--log-level", "debug"},
                             {{"SWITCHBOARD_MASTER_KEY", ""}}, dir.path().string());
        team_a = TeamOf(token_a);
        team_b = TeamOf(token_b);
    }

    std::string CreateToken(const std::string& email, const std::string& team, const std::string& role) {
        auto r = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--email", email,
                             "--team", team, "--role", role},
                            {{"SWITCHBOARD_MASTER_KEY", ""}});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::string out = r.out;
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out.substr(out.rfind('\n') + 1);
    }

    HttpReply Call(const std::string& token, const std::string& method, const std::string& target,
                   const std::string& body = "") {
        HttpReply r = HttpRequest(server.port, method, target, body, {{"Authorization", "Token " + token}});
        replies.push_back(r.body);
        return r;
    }

    std::int64_t TeamOf(const std::string& token) {
        auto r = Call(token, "GET", "/api/v2/teams");
        return Json(r.body).at("teams").as_array().at(0).at("id").as_int64();
    }

    std::string Conns(std::int64_t team) { return "/api/v2/connections?teamId=" + std::to_string(team); }

    std::int64_t CreateAcme(const std::string& name, const std::string& key) {
        auto r = Call(token_a, "POST", Conns(team_a),
                      R"({"accountName":")" + name + R"(","accountType":"acme","apiKey":")" + key +
                          R"(","account":"main","scopes":["write"]})");
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? Json(r.body).at("connection").at("id").as_int64() : 0;
    }

    TempDir dir;
    Upstream upstream;
    ServerProcess server;
    std::string token_a, token_b, token_mon;
    std::int64_t team_a = 0, team_b = 0;
    std::vector<std::string> replies;  // every response body, scanned for secrets
};

TEST_F(ConnectionApiTest, CreateVerifyKeyRotationAndSetDataThroughTheApi) {
    const std::int64_t id = CreateAcme("Acme company", kKey1);
    ASSERT_GT(id, 0);
    const std::string path = "/api/v2/connections/" + std::to_string(id);

    auto got = Call(token_a, "GET", path);
    ASSERT_EQ(got.status, 200) << got.body;
    const json::value c = Json(got.body).at("connection");
    EXPECT_EQ(c.at("status").as_string(), "verified");
    EXPECT_EQ(c.at("metadata").at("type").as_string(), "email");
    EXPECT_EQ(c.at("metadata").at("value").as_string(), "owner@acme.test");
    EXPECT_EQ(c.at("uid").as_string(), "4242");
    EXPECT_EQ(c.at("accountName").as_string(), "acme");
    EXPECT_EQ(c.at("accountType").as_string(), "basic");
    EXPECT_EQ(c.at("packageName").as_string(), "acme");
    EXPECT_EQ(c.at("scopes"), json::parse(R"(["read","write"])"));
    EXPECT_FALSE(c.at("lastVerified").is_null());

    // The key changes at the app: verify says so, with the app's reason, and the status follows.
    upstream.SetKey(kKey2);
    auto test = Call(token_a, "POST", path + "/test");
    ASSERT_EQ(test.status, 200) << test.body;
    EXPECT_FALSE(Json(test.body).at("verified").as_bool());
    EXPECT_EQ(Json(test.body).at("message").as_string(), "[401] invalid api key: [redacted]");
    auto failed = Json(Call(token_a, "GET", path).body).at("connection");
    EXPECT_EQ(failed.at("status").as_string(), "failed");
    EXPECT_EQ(failed.at("statusMessage").as_string(), "[401] invalid api key: [redacted]");

    // The edit form: non-secret values prefilled, the secret empty; the fixed field is not offered.
    auto schema = Call(token_a, "GET", path + "/editable-data-schema");
    ASSERT_EQ(schema.status, 200) << schema.body;
    std::map<std::string, json::value> fields;
    const json::value schema_doc = Json(schema.body);
    for (const auto& f : schema_doc.at("editableParameters").as_array()) {
        fields[std::string(f.at("name").as_string())] = f;
    }
    ASSERT_EQ(fields.size(), 2u) << schema.body;
    EXPECT_TRUE(fields["apiKey"].at("value").is_null());
    EXPECT_TRUE(fields["apiKey"].at("secret").as_bool());
    EXPECT_EQ(fields["account"].at("value").as_string(), "main");

    // A wrong key in set-data changes nothing.
    auto wrong = Call(token_a, "POST", path + "/set-data", R"({"apiKey":"not-the-key","account":"main"})");
    EXPECT_EQ(wrong.status, 400) << wrong.body;
    EXPECT_EQ(Json(Call(token_a, "GET", path).body).at("connection").at("version").as_int64(), 1);

    // set-data with the new key replaces the whole set (account left out becomes empty) and verifies.
    auto set = Call(token_a, "POST", path + "/set-data", std::string(R"({"apiKey":")") + kKey2 + R"("})");
    ASSERT_EQ(set.status, 200) << set.body;
    EXPECT_TRUE(Json(set.body).at("changed").as_bool());
    const json::value after = Json(set.body).at("connection");
    EXPECT_EQ(after.at("status").as_string(), "verified");
    EXPECT_EQ(after.at("version").as_int64(), 2);
    auto schema2 = Json(Call(token_a, "GET", path + "/editable-data-schema").body);
    for (const auto& f : schema2.at("editableParameters").as_array()) {
        if (f.at("name").as_string() == "account") {
            EXPECT_TRUE(f.at("value").is_null()) << f;
        }
    }
    auto again = Call(token_a, "POST", path + "/test");
    EXPECT_TRUE(Json(again.body).at("verified").as_bool()) << again.body;

    // The fixed field cannot be changed by an edit.
    auto fixed =
        Call(token_a, "POST", path + "/set-data", std::string(R"({"apiKey":")") + kKey2 + R"(","region":"us"})");
    EXPECT_EQ(fixed.status, 400);
    EXPECT_NE(fixed.body.find("region: cannot be changed"), std::string::npos) << fixed.body;

    // Rename, scoped, audit.
    auto renamed = Call(token_a, "PATCH", path, R"({"name":"Acme personal"})");
    ASSERT_EQ(renamed.status, 200) << renamed.body;
    EXPECT_EQ(Json(renamed.body).at("connection").at("name").as_string(), "Acme personal");
    auto scoped = Call(token_a, "POST", path + "/scoped", R"({"scope":["read","write"]})");
    EXPECT_TRUE(Json(scoped.body).at("connection").at("scoped").as_bool()) << scoped.body;
    scoped = Call(token_a, "POST", path + "/scoped", R"({"scope":["admin"]})");
    EXPECT_FALSE(Json(scoped.body).at("connection").at("scoped").as_bool());
    auto audit = Call(token_a, "GET", "/api/v2/audit?teamId=" + std::to_string(team_a));
    ASSERT_EQ(audit.status, 200);
    std::set<std::string> actions;
    const json::value audit_doc = Json(audit.body);
    for (const auto& e : audit_doc.at("auditEvents").as_array())
        actions.insert(std::string(e.at("action").as_string()));
    for (const char* a : {"connection.create", "connection.verify", "connection.edit", "connection.rename"}) {
        EXPECT_TRUE(actions.contains(a)) << a;
    }

    // Secrets: in no response, no log line, not in the database files.
    server.process->Signal(SIGTERM);
    server.process->Wait(20s);
    for (const char* key : {kKey1, kKey2}) {
        for (const auto& body : replies) EXPECT_EQ(body.find(key), std::string::npos) << body;
        EXPECT_EQ(server.process->Stderr().find(key), std::string::npos);
        EXPECT_EQ(server.process->Stdout().find(key), std::string::npos);
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.file("data"))) {
            if (e.is_regular_file()) {
                EXPECT_EQ(ReadFile(e.path()).find(key), std::string::npos) << e.path();
            }
        }
    }
    EXPECT_NE(server.process->Stderr().find("connections"), std::string::npos) << "the server logged nothing";
}

TEST_F(ConnectionApiTest, BuiltInHttpAppSendsTheKeyWhereTheUserSaid) {
    const std::string verify = "http://127.0.0.1:" + std::to_string(upstream.port()) + "/v1/me";
    auto body = [&](const std::string& name, const std::string& where, const std::string& key_name) {
        return json::serialize(json::object{{"accountName", name},
                                            {"accountType", "http-apikey"},
                                            {"apiKeyIn", where},
                                            {"apiKeyName", key_name},
                                            {"verifyUrl", verify},
                                            {"apiKey", kKey1}});
    };
    for (const std::string where : {"header", "query"}) {
        auto ok = Call(token_a, "POST", Conns(team_a),
                       body("generic " + where, where, where == "header" ? "X-Api-Key" : "api_key"));
        ASSERT_EQ(ok.status, 201) << where << ": " << ok.body;
        EXPECT_EQ(Json(ok.body).at("connection").at("status").as_string(), "verified");
        auto bad = Call(token_a, "POST", Conns(team_a), body("x", where, "X-Other"));
        EXPECT_EQ(bad.status, 400) << where << ": " << bad.body;
    }
    // Without a verify URL nothing is asked: stored unverified, and test says there was nothing to ask.
    auto plain = Call(
        token_a, "POST", Conns(team_a),
        json::serialize(json::object{{"accountName", "plain"}, {"accountType", "http-apikey"}, {"apiKey", kKey1}}));
    ASSERT_EQ(plain.status, 201) << plain.body;
    EXPECT_EQ(Json(plain.body).at("connection").at("status").as_string(), "unverified");
    const auto id = Json(plain.body).at("connection").at("id").as_int64();
    auto test = Call(token_a, "POST", "/api/v2/connections/" + std::to_string(id) + "/test");
    EXPECT_TRUE(Json(test.body).at("verified").as_bool()) << test.body;
    // The upstream echoed the wrong key back on the refused attempts; neither key reached a reply or a log.
    for (const auto& r : replies) EXPECT_EQ(r.find(kKey1), std::string::npos) << r;
    EXPECT_EQ(server.process->Stderr().find(kKey1), std::string::npos);
}

TEST_F(ConnectionApiTest, BadInputStoresNothing) {
    auto no_key = Call(token_a, "POST", Conns(team_a), R"({"accountName":"x","accountType":"acme"})");
    EXPECT_EQ(no_key.status, 400);
    auto body = Json(no_key.body);
    EXPECT_EQ(body.at("code").as_string(), "SC400");
    ASSERT_EQ(body.at("suberrors").as_array().size(), 1u) << no_key.body;
    EXPECT_EQ(body.at("suberrors").at(0).at("message").as_string(), "apiKey: is required");

    auto several = Call(token_a, "POST", Conns(team_a),
                        R"({"name":"x","type":"acme","data":{"apiKey":5,"region":"mars","colour":"red"}})");
    EXPECT_EQ(several.status, 400);
    EXPECT_EQ(Json(several.body).at("suberrors").as_array().size(), 3u) << several.body;

    auto type = Call(token_a, "POST", Conns(team_a), R"({"accountName":"x","accountType":"nope","apiKey":"k"})");
    EXPECT_EQ(type.status, 400);
    EXPECT_EQ(Json(type.body).at("message").as_string(), "Invalid connection type");
    auto scope = Call(
        token_a, "POST", Conns(team_a),
        std::string(R"({"accountName":"x","accountType":"acme","scopes":["delete-all"],"apiKey":")") + kKey1 + "\"}");
    EXPECT_EQ(scope.status, 400);
    EXPECT_EQ(Json(scope.body).at("message").as_string(), "Invalid scope");

    const int before = upstream.calls();
    auto refused = Call(token_a, "POST", Conns(team_a), R"({"accountName":"x","accountType":"acme","apiKey":"wrong"})");
    EXPECT_EQ(refused.status, 400);
    EXPECT_EQ(Json(refused.body).at("detail").as_string(), "[401] invalid api key: [redacted]");
    EXPECT_EQ(upstream.calls(), before + 1) << "create must verify against the app";
    EXPECT_EQ(Call(token_a, "POST", Conns(team_a), "{broken").status, 400);
    // A huge value is refused before any pattern runs on it.
    auto huge =
        Call(token_a, "POST", Conns(team_a),
             json::serialize(json::object{
                 {"accountName", "x"}, {"accountType", "github"}, {"token", "ghp_" + std::string(200'000, 'a')}}));
    EXPECT_EQ(huge.status, 400) << huge.body.substr(0, 300);
    EXPECT_EQ(HttpRequest(server.port, "GET", "/healthz").status, 200);
    EXPECT_EQ(Call(token_a, "POST", "/api/v2/connections", R"({"accountName":"x"})").status, 400);

    auto list = Call(token_a, "GET", Conns(team_a));
    EXPECT_EQ(Json(list.body).at("connections").as_array().size(), 0u) << list.body;
}

TEST_F(ConnectionApiTest, ListingSortsPagesFiltersAndSelectsColumns) {
    for (const char* name : {"beta", "Alpha", "gamma"}) ASSERT_GT(CreateAcme(name, kKey1), 0);
    auto list = Json(Call(token_a, "GET", Conns(team_a)).body).at("connections").as_array();
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0].at("name").as_string(), "Alpha");
    EXPECT_EQ(list[2].at("name").as_string(), "gamma");
    auto page = Json(Call(token_a, "GET", Conns(team_a) + "&pg[limit]=1&pg[offset]=1&pg[sortDir]=desc").body);
    ASSERT_EQ(page.at("connections").as_array().size(), 1u);
    EXPECT_EQ(page.at("connections").at(0).at("name").as_string(), "beta");
    auto cols = Json(Call(token_a, "GET", Conns(team_a) + "&cols[]=id&cols[]=name").body);
    EXPECT_EQ(cols.at("connections").at(0).as_object().size(), 2u);
    EXPECT_EQ(Json(Call(token_a, "GET", Conns(team_a) + "&type[]=github").body).at("connections").as_array().size(),
              0u);
    EXPECT_EQ(Json(Call(token_a, "GET", Conns(team_a) + "&type[]=acme").body).at("connections").as_array().size(), 3u);
    EXPECT_EQ(Call(token_a, "GET", Conns(team_a) + "&pg[sortBy]=colour").status, 400);
    // Monitoring may read but not create.
    EXPECT_EQ(Call(token_mon, "GET", Conns(team_a)).status, 200);
    EXPECT_EQ(Call(token_mon, "POST", Conns(team_a),
                   std::string(R"({"accountName":"m","accountType":"acme","apiKey":")") + kKey1 + "\"}")
                  .status,
              403);
}

TEST_F(ConnectionApiTest, AnotherTeamCannotTouchTheConnection) {
    const std::int64_t id = CreateAcme("Acme", kKey1);
    ASSERT_GT(id, 0);
    const std::string path = "/api/v2/connections/" + std::to_string(id);
    EXPECT_EQ(Call(token_b, "GET", Conns(team_a)).status, 403);
    auto theirs = Json(Call(token_b, "GET", Conns(team_b)).body).at("connections").as_array();
    EXPECT_TRUE(theirs.empty());
    struct Case {
        std::string method, target, body;
    };
    const int calls_before = upstream.calls();
    for (const Case& c : std::vector<Case>{{"GET", path, ""},
                                           {"POST", path + "/test", ""},
                                           {"POST", path + "/set-data", std::string(R"({"apiKey":")") + kKey1 + "\"}"},
                                           {"PATCH", path, R"({"name":"mine now"})"},
                                           {"GET", path + "/editable-data-schema", ""},
                                           {"POST", path + "/scoped", R"({"scope":["read"]})"},
                                           {"DELETE", path + "?confirmed=true", ""}}) {
        auto r = Call(token_b, c.method, c.target, c.body);
        EXPECT_EQ(r.status, 404) << c.method << " " << c.target << ": " << r.body;
        EXPECT_EQ(Json(r.body).at("code").as_string(), "SC404");
    }
    EXPECT_EQ(upstream.calls(), calls_before) << "another team's request reached the app";
    EXPECT_EQ(Call(token_b, "GET", "/api/v2/audit?teamId=" + std::to_string(team_a)).status, 403);
    auto still = Json(Call(token_a, "GET", path).body).at("connection");
    EXPECT_EQ(still.at("name").as_string(), "Acme");
    EXPECT_EQ(still.at("version").as_int64(), 1);
    // Inside the team, roles decide: monitoring reads only; operators may also test; members and admins change.
    EXPECT_EQ(Call(token_mon, "PATCH", path, R"({"name":"x"})").status, 403);
    EXPECT_EQ(Call(token_mon, "POST", path + "/test").status, 403);
    EXPECT_EQ(Call(token_mon, "GET", path).status, 200);
    const std::string token_op = CreateToken("otto@alpha.test", "Alpha", "operator");
    EXPECT_EQ(Call(token_op, "POST", path + "/test").status, 200);
    for (const Case& c : std::vector<Case>{{"PATCH", path, R"({"name":"x"})"},
                                           {"POST", path + "/set-data", std::string(R"({"apiKey":")") + kKey1 + "\"}"},
                                           {"DELETE", path + "?confirmed=true", ""}}) {
        EXPECT_EQ(Call(token_op, c.method, c.target, c.body).status, 403) << c.method << " " << c.target;
    }
    EXPECT_EQ(Json(Call(token_a, "GET", path).body).at("connection").at("version").as_int64(), 1);
}

TEST_F(ConnectionApiTest, DeleteAsksForConfirmationWhileScenariosUseIt) {
    const std::int64_t id = CreateAcme("Acme", kKey1);
    ASSERT_GT(id, 0);
    {
        core::SystemClock clock;
        auto db = store::OpenDb("sqlite:" + dir.file("data/switchboard.db"));
        ASSERT_TRUE(db);
        auto st = store::MakeSqlStore(std::move(*db), clock);
        ASSERT_TRUE(st->UpsertConnectionUsage(
            {core::ConnectionId{id}, core::TeamId{team_a}, 77, "New email to sheet", true, true}));
    }
    const std::string path = "/api/v2/connections/" + std::to_string(id);
    auto listed = Json(Call(token_a, "GET", Conns(team_a)).body).at("connections").at(0);
    EXPECT_EQ(listed.at("usedIn").as_int64(), 1);
    auto refused = Call(token_a, "DELETE", path);
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_NE(refused.body.find("New email to sheet"), std::string::npos);
    EXPECT_EQ(Call(token_a, "GET", path).status, 200);
    auto deleted = Call(token_a, "DELETE", path + "?confirmed=true");
    EXPECT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(Call(token_a, "GET", path).status, 404);
}

TEST_F(ConnectionApiTest, BrokenOperatorAppIsReportedAndSkipped) {
    EXPECT_EQ(HttpRequest(server.port, "GET", "/readyz").status, 200);
    EXPECT_NE(server.process->Stderr().find("broken.json"), std::string::npos) << server.process->Stderr();
    auto r =
        RunCommand({SwitchboardBinary(), "app", "validate", dir.file("apps/broken.json"), dir.file("apps/acme.json")});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.out.find("broken.json: $.connections"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.out.find("acme.json: ok"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace switchboard::testing

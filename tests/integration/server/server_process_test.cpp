// The real binary, as an operator runs it: first start, tokens, authentication, authorization across teams
// and roles, bad input, configuration errors, master-key failures, SIGKILL recovery and key rotation.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "connections/credential_store.hpp"
#include "core/clock.hpp"
#include "store/store.hpp"
#include "support/connection_fixtures.hpp"
#include "support/http.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::value Json(const std::string& s) { return json::parse(s); }

std::map<std::string, std::string> Auth(const std::string& token) { return {{"Authorization", "Token " + token}}; }

// The last non-empty line of the CLI's output (where `token create` prints the token).
std::string LastLine(const std::string& out) {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.substr(s.rfind('\n') + 1);
}

void ExpectErrorBody(const HttpReply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto body = json::parse(r.body);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.at("code").as_string(), "SC" + std::to_string(status)) << r.body;
    EXPECT_TRUE(body.as_object().contains("message"));
    EXPECT_TRUE(body.as_object().contains("detail"));
    EXPECT_TRUE(body.at("suberrors").is_array());
}

class ServerProcessTest : public ::testing::Test {
  protected:
    TempDir dir;
    std::string data_dir() const { return dir.file("data"); }
    std::vector<std::string> DataArgs() const { return {"--data-dir", data_dir()}; }
    ServerProcess Start(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
        auto args = DataArgs();
        args.insert(args.end(), extra.begin(), extra.end());
        env.emplace("SWITCHBOARD_MASTER_KEY", "");  // never inherit one from the environment
        return StartServer(args, env, dir.path().string());
    }
    std::string CreateToken(const std::string& email, const std::string& team, const std::string& role) {
        auto r = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", data_dir(), "--email", email,
                             "--team", team, "--role", role},
                            {{"SWITCHBOARD_MASTER_KEY", ""}});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return LastLine(r.out);
    }
};

TEST_F(ServerProcessTest, FirstStartCreatesDataKeyAdminAndPrintsAWorkingToken) {
    auto s = Start();
    ASSERT_FALSE(s.first_start_token.empty()) << s.process->Stdout();
    struct stat st {};
    ASSERT_EQ(::stat((data_dir() + "/master.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    EXPECT_EQ(HttpRequest(s.port, "GET", "/healthz").status, 200);
    auto ready = HttpRequest(s.port, "GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;

    auto me = HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(s.first_start_token));
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(Json(me.body).at("authUser").at("email").as_string(), "admin@switchboard.local");
    auto bearer =
        HttpRequest(s.port, "GET", "/api/v2/users/me", "", {{"Authorization", "Bearer " + s.first_start_token}});
    EXPECT_EQ(bearer.status, 200);
    auto teams = HttpRequest(s.port, "GET", "/api/v2/teams", "", Auth(s.first_start_token));
    ASSERT_EQ(teams.status, 200);
    EXPECT_EQ(Json(teams.body).at("teams").as_array().size(), 1u);

    // A second start prints no new token.
    s.process->Signal(SIGTERM);
    EXPECT_EQ(s.process->Wait(20s), 0);
    auto again = Start();
    EXPECT_TRUE(again.first_start_token.empty());
    EXPECT_EQ(HttpRequest(again.port, "GET", "/api/v2/users/me", "", Auth(s.first_start_token)).status, 200);
}

TEST_F(ServerProcessTest, TokenCreateThenUsersMeAndBadTokensGet401) {
    const std::string token = CreateToken("ana@example.com", "Ops", "member");
    ASSERT_EQ(token.rfind("sbt_", 0), 0u) << token;
    auto s = Start();
    auto me = HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(token));
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(Json(me.body).at("authUser").at("email").as_string(), "ana@example.com");

    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/users/me"), 401);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(token + "x")), 401);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/users/me", "", {{"Authorization", "Basic Zm9vOmJhcg=="}}), 401);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/users/me", "", {{"Authorization", "Token"}}), 401);

    // Revocation: a token created through the API, then revoked, stops working.
    auto created = HttpRequest(s.port, "POST", "/api/v2/users/me/api-tokens", R"({"label":"ci"})", Auth(token));
    ASSERT_EQ(created.status, 201) << created.body;
    const auto t2 = std::string(Json(created.body).at("apiToken").at("token").as_string());
    const auto id2 = Json(created.body).at("apiToken").at("id").as_int64();
    EXPECT_EQ(HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(t2)).status, 200);
    auto listed = HttpRequest(s.port, "GET", "/api/v2/users/me/api-tokens", "", Auth(token));
    EXPECT_EQ(listed.body.find("sbt_"), std::string::npos) << "token list must not show tokens";
    EXPECT_EQ(
        HttpRequest(s.port, "DELETE", "/api/v2/users/me/api-tokens/" + std::to_string(id2), "", Auth(token)).status,
        200);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(t2)), 401);
}

TEST_F(ServerProcessTest, EveryTeamEndpointEnforcesMembershipAndRole) {
    const std::string admin = CreateToken("admin@a.test", "Alpha", "admin");
    const std::string member = CreateToken("member@a.test", "Alpha", "member");
    const std::string op = CreateToken("operator@a.test", "Alpha", "operator");
    const std::string mon = CreateToken("monitor@a.test", "Alpha", "monitoring");
    const std::string outsider = CreateToken("boss@b.test", "Beta", "admin");
    auto s = Start();
    auto teams = Json(HttpRequest(s.port, "GET", "/api/v2/teams", "", Auth(admin)).body).at("teams").as_array();
    ASSERT_EQ(teams.size(), 1u);
    const std::string alpha = std::to_string(teams[0].at("id").as_int64());
    auto beta_teams = Json(HttpRequest(s.port, "GET", "/api/v2/teams", "", Auth(outsider)).body).at("teams").as_array();
    ASSERT_EQ(beta_teams.size(), 1u);
    EXPECT_NE(beta_teams[0].at("id").as_int64(), teams[0].at("id").as_int64());

    struct Case {
        std::string method, path, body;
        int ok_status;
        std::set<std::string> allowed;  // roles allowed
    };
    const std::string member_path = "/api/v2/teams/" + alpha + "/members";
    const std::vector<Case> cases{
        {"GET", "/api/v2/teams/" + alpha, "", 200, {"admin", "member", "operator", "monitoring"}},
        {"GET", member_path, "", 200, {"admin", "member", "operator", "monitoring"}},
        {"POST", member_path, R"({"email":"new@a.test","role":"member"})", 201, {"admin"}},
        {"DELETE", member_path + "?userId=999999", "", 404, {"admin"}},
    };
    const std::map<std::string, std::string> tokens{
        {"admin", admin}, {"member", member}, {"operator", op}, {"monitoring", mon}, {"outsider", outsider}};
    for (const auto& c : cases) {
        for (const auto& [role, token] : tokens) {
            auto r = HttpRequest(s.port, c.method, c.path, c.body, Auth(token));
            SCOPED_TRACE(c.method + " " + c.path + " as " + role);
            if (c.allowed.contains(role)) {
                EXPECT_EQ(r.status, c.ok_status) << r.body;
            } else {
                ExpectErrorBody(r, 403);
            }
        }
    }
    // An id that does not exist looks the same as another team's: 403.
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/teams/987654", "", Auth(admin)), 403);

    // Members list shows the new member; removing the only admin is refused; removing a member works.
    auto members = Json(HttpRequest(s.port, "GET", member_path, "", Auth(admin)).body).at("members").as_array();
    EXPECT_EQ(members.size(), 5u);
    std::int64_t admin_id = 0, new_id = 0;
    for (const auto& m : members) {
        if (m.at("email").as_string() == "admin@a.test") admin_id = m.at("userId").as_int64();
        if (m.at("email").as_string() == "new@a.test") new_id = m.at("userId").as_int64();
    }
    ExpectErrorBody(HttpRequest(s.port, "DELETE", member_path + "/" + std::to_string(admin_id), "", Auth(admin)), 409);
    EXPECT_EQ(HttpRequest(s.port, "DELETE", member_path + "/" + std::to_string(new_id), "", Auth(admin)).status, 200);
    EXPECT_EQ(Json(HttpRequest(s.port, "GET", member_path, "", Auth(admin)).body).at("members").as_array().size(), 4u);

    // Creating a team makes the caller its admin, and nobody else sees it.
    auto created = HttpRequest(s.port, "POST", "/api/v2/teams", R"({"name":"Gamma"})", Auth(mon));
    ASSERT_EQ(created.status, 201) << created.body;
    const auto gamma = std::to_string(Json(created.body).at("team").at("id").as_int64());
    EXPECT_EQ(HttpRequest(s.port, "GET", "/api/v2/teams/" + gamma + "/members", "", Auth(mon)).status, 200);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/teams/" + gamma + "/members", "", Auth(admin)), 403);
}

TEST_F(ServerProcessTest, TokensBelongToTheirUser) {
    const std::string ana = CreateToken("ana@example.com", "Ops", "admin");
    const std::string bob = CreateToken("bob@example.com", "Ops", "admin");
    auto s = Start();
    auto created = HttpRequest(s.port, "POST", "/api/v2/users/me/api-tokens", R"({"label":"x"})", Auth(ana));
    ASSERT_EQ(created.status, 201);
    const auto id = std::to_string(Json(created.body).at("apiToken").at("id").as_int64());
    const auto ana2 = std::string(Json(created.body).at("apiToken").at("token").as_string());
    ExpectErrorBody(HttpRequest(s.port, "DELETE", "/api/v2/users/me/api-tokens/" + id, "", Auth(bob)), 404);
    EXPECT_EQ(HttpRequest(s.port, "GET", "/api/v2/users/me", "", Auth(ana2)).status, 200);
    const json::value bobs = Json(HttpRequest(s.port, "GET", "/api/v2/users/me/api-tokens", "", Auth(bob)).body);
    ASSERT_FALSE(bobs.at("apiTokens").as_array().empty());
    for (const auto& t : bobs.at("apiTokens").as_array()) EXPECT_NE(std::to_string(t.at("id").as_int64()), id);
}

TEST_F(ServerProcessTest, ServesOnPostgresAndTwoNodesShareTheKey) {
    const std::string url = PostgresServer::Shared().CreateDatabase("node");
    auto a = Start({"--database", url});
    ASSERT_FALSE(a.first_start_token.empty()) << a.process->Stdout();
    // A second node on the same database and the same key file: same data, no second first-start.
    auto b = StartServer({"--data-dir", data_dir(), "--database", url}, {{"SWITCHBOARD_MASTER_KEY", ""}},
                         dir.path().string());
    EXPECT_TRUE(b.first_start_token.empty());
    for (int port : {a.port, b.port}) {
        EXPECT_EQ(HttpRequest(port, "GET", "/readyz").status, 200);
        auto me = HttpRequest(port, "GET", "/api/v2/users/me", "", Auth(a.first_start_token));
        EXPECT_EQ(me.status, 200) << me.body;
    }
    auto created = HttpRequest(a.port, "POST", "/api/v2/teams", R"({"name":"Shared"})", Auth(a.first_start_token));
    ASSERT_EQ(created.status, 201);
    auto listed = HttpRequest(b.port, "GET", "/api/v2/teams", "", Auth(a.first_start_token));
    EXPECT_NE(listed.body.find("Shared"), std::string::npos) << listed.body;
    // A node started with a different key refuses once sealed data exists is covered on SQLite; here the
    // migrate command reports the schema version of the shared database.
    auto m = RunCommand({SwitchboardBinary(), "migrate", "--data-dir", data_dir(), "--database", url});
    EXPECT_EQ(m.exit_code, 0) << m.err;
    EXPECT_NE(m.out.find("schema at version"), std::string::npos);
}

TEST_F(ServerProcessTest, BadInputGetsTheRight4xxAndTheErrorBody) {
    const std::string token = CreateToken("ana@example.com", "Ops", "admin");
    auto s = Start();
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", "{not json", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", "[1,2]", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", R"({"name":42})", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", R"({})", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", "", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/teams/abc", "", Auth(token)), 400);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/no-such-thing", "", Auth(token)), 404);
    ExpectErrorBody(HttpRequest(s.port, "GET", "/api/v2/teams"), 401);
    auto wrong_method = HttpRequest(s.port, "PUT", "/api/v2/teams", "{}", Auth(token));
    ExpectErrorBody(wrong_method, 405);
    const std::string big(2 * 1024 * 1024, 'x');
    ExpectErrorBody(HttpRequest(s.port, "POST", "/api/v2/teams", big, Auth(token)), 413);
    // A malformed request line gets a 400 and the server keeps serving.
    EXPECT_NE(RawExchange(s.port, "NOT-HTTP\r\n\r\n").find(" 400 "), std::string::npos);
    EXPECT_EQ(HttpRequest(s.port, "GET", "/healthz").status, 200);
}

TEST_F(ServerProcessTest, InvalidConfigurationStopsStartupNamingTheSetting) {
    auto r = RunCommand({SwitchboardBinary(), "serve", "--data-dir", data_dir(), "--listen", "nonsense"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
    r = RunCommand({SwitchboardBinary(), "serve", "--data-dir", data_dir()}, {{"SWITCHBOARD_DATABASE", "mysql://x"}});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("SWITCHBOARD_DATABASE"), std::string::npos) << r.err;
    // Precedence: the flag beats the environment, which beats the config file.
    const std::string conf = dir.file("switchboard.conf");
    {
        FILE* f = fopen(conf.c_str(), "w");
        fputs("listen = 127.0.0.1:bad\nlog-level = \"warn\"\n", f);
        fclose(f);
    }
    r = RunCommand({SwitchboardBinary(), "serve", "--data-dir", data_dir(), "--config", conf});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
    auto s = StartServer({"--data-dir", data_dir(), "--config", conf}, {{"SWITCHBOARD_LISTEN", "127.0.0.1:1"}},
                         dir.path().string());  // the flag --listen 127.0.0.1:0 wins over env and file
    EXPECT_EQ(HttpRequest(s.port, "GET", "/healthz").status, 200);
    EXPECT_EQ(RunCommand({SwitchboardBinary(), "--version"}).out.rfind("switchboard ", 0), 0u);
    EXPECT_EQ(RunCommand({SwitchboardBinary(), "serve", "--no-such-flag"}).exit_code != 0, true);
}

TEST_F(ServerProcessTest, MissingOrWrongMasterKeyStopsStartupAndNeverReplacesTheKey) {
    CreateToken("ana@example.com", "Ops", "admin");
    const std::string key_file = data_dir() + "/master.key";
    const std::string original = ReadFile(key_file);
    ASSERT_FALSE(original.empty());

    // Seal a connection with the real key so the database refers to its key id.
    {
        core::SystemClock clock;
        core::SodiumRandom random;
        auto db = store::OpenDb("sqlite:" + data_dir() + "/switchboard.db");
        ASSERT_TRUE(db);
        auto st = store::MakeSqlStore(std::move(*db), clock);
        ASSERT_TRUE(st->Migrate());
        auto ring = vault::KeyRing::FromFile(key_file);
        ASSERT_TRUE(ring);
        vault::Vault v(**ring, random);
        connections::CredentialStore creds(*st, v);
        auto team = st->FindTeamByName("Ops");
        ASSERT_TRUE(team && *team);
        ASSERT_TRUE(creds.Create(ApiKeyConnection((*team)->id, "c"), core::Secret(R"({"apiKey":"k"})")));
    }

    std::filesystem::remove(key_file);
    auto r = RunCommand({SwitchboardBinary(), "serve", "--data-dir", data_dir(), "--listen", "127.0.0.1:0"},
                        {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(key_file)) << "a new key must never be created over existing data";

    // Another key: refused, naming the key id the data needs.
    core::SodiumRandom random;
    ASSERT_TRUE(vault::KeyRing::CreateFile(key_file, random));
    r = RunCommand({SwitchboardBinary(), "serve", "--data-dir", data_dir(), "--listen", "127.0.0.1:0"},
                   {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Wrong master key"), std::string::npos) << r.err;

    // The original key given through SWITCHBOARD_MASTER_KEY works (and wins over the file).
    auto s = Start({}, {{"SWITCHBOARD_MASTER_KEY", original}});
    EXPECT_EQ(HttpRequest(s.port, "GET", "/readyz").status, 200);
}

TEST_F(ServerProcessTest, SigkillDuringWritesLosesNoAcknowledgedWriteAndPassesIntegrityCheck) {
    const std::string token = CreateToken("ana@example.com", "Ops", "admin");
    auto s = Start();
    std::mutex mu;
    std::set<std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; i < 2000 && !stop; ++i) {
                const std::string name = "team-" + std::to_string(w) + "-" + std::to_string(i);
                auto r = HttpRequest(s.port, "POST", "/api/v2/teams", R"({"name":")" + name + R"("})", Auth(token));
                if (r.status == 201) {
                    std::lock_guard lock(mu);
                    acknowledged.insert(name);
                }
            }
        });
    }
    std::this_thread::sleep_for(700ms);
    s.process->Signal(SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_EQ(s.process->Wait(10s), 128 + SIGKILL);
    ASSERT_GT(acknowledged.size(), 5u) << "the load did not write anything before the kill";

    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((data_dir() + "/switchboard.db").c_str(), &db), SQLITE_OK);
        sqlite3_stmt* stmt = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
        EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    }

    auto again = Start();
    auto teams = HttpRequest(again.port, "GET", "/api/v2/teams", "", Auth(token));
    ASSERT_EQ(teams.status, 200) << teams.body;
    const json::value listed = Json(teams.body);
    std::set<std::string> present;
    for (const auto& t : listed.at("teams").as_array()) present.insert(std::string(t.at("name").as_string()));
    for (const auto& name : acknowledged) EXPECT_TRUE(present.contains(name)) << name << " was acknowledged but lost";
}

TEST_F(ServerProcessTest, KeysRotateWhileServingRewrapsEveryDataKey) {
    const std::string token = CreateToken("ana@example.com", "Ops", "admin");
    const std::string key_file = data_dir() + "/master.key";
    core::SystemClock clock;
    core::SodiumRandom random;
    auto db = store::OpenDb("sqlite:" + data_dir() + "/switchboard.db");
    ASSERT_TRUE(db);
    auto st = store::MakeSqlStore(std::move(*db), clock);
    auto ring = std::move(*vault::KeyRing::FromFile(key_file));
    vault::Vault v(*ring, random);
    connections::CredentialStore creds(*st, v);
    auto team = (*st->FindTeamByName("Ops"))->id;
    for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(creds.Create(ApiKeyConnection(team, "c" + std::to_string(i)),
                                 core::Secret("{\"apiKey\":\"key-" + std::to_string(i) + "\"}")));
    }
    const std::string old_id = ring->active_id();

    auto s = Start();
    auto r =
        RunCommand({SwitchboardBinary(), "keys", "rotate", "--data-dir", data_dir()}, {{"SWITCHBOARD_MASTER_KEY", ""}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("re-wrapped 25 data keys"), std::string::npos) << r.out;
    EXPECT_EQ(HttpRequest(s.port, "GET", "/readyz").status, 200);

    // The running server opens the re-wrapped rows (it reloads the key file for the new key id).
    auto rows_now = st->ListConnections(team, {100, 0});
    ASSERT_TRUE(rows_now && !rows_now->empty());
    auto tested =
        HttpRequest(s.port, "POST", "/api/v2/connections/" + std::to_string(rows_now->front().id.value()) + "/test", "",
                    Auth(token));
    ASSERT_EQ(tested.status, 200) << tested.body;
    EXPECT_TRUE(Json(tested.body).at("verified").as_bool()) << tested.body;
    EXPECT_NE(Json(tested.body).at("connection").at("status").as_string(), "broken");

    auto fresh = std::move(*vault::KeyRing::FromFile(key_file));
    EXPECT_NE(fresh->active_id(), old_id);
    vault::Vault v2(*fresh, random);
    auto rows = st->ListConnections(team, {100, 0});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 25u);
    for (const auto& c : *rows) {
        EXPECT_EQ(c.sealed.key_id, fresh->active_id());
        auto opened = v2.Open({c.team_id, c.id, c.version}, c.sealed);
        ASSERT_TRUE(opened) << opened.error().detail;
        EXPECT_EQ(opened->Reveal(), "{\"apiKey\":\"key-" + c.name.substr(1) + "\"}");
    }
}

// `switchboard run`: a blueprint file of built-in modules that need no connection, run once against the data folder.
class RunCommandTest : public ServerProcessTest {
  protected:
    void SetUp() override { CreateToken("ana@example.com", "Ops", "admin"); }  // the key and the one team
    std::string Blueprint(const std::string& name, const std::string& json) {
        const std::string path = dir.file(name);
        std::ofstream(path) << json;
        return path;
    }
    RunResult Run(const std::string& file, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{SwitchboardBinary(), "run", file, "--data-dir", data_dir()};
        args.insert(args.end(), extra.begin(), extra.end());
        return RunCommand(args, {{"SWITCHBOARD_MASTER_KEY", ""}});
    }
    // The module log's output of module `index` (JSON text in the log), parsed.
    static json::value Output(const json::value& execution, std::size_t index) {
        return Json(std::string(execution.at("modules").at(index).at("output").as_string()));
    }
};

TEST_F(RunCommandTest, RunsABlueprintWithInputsAndPrintsTheExecution) {
    // The shape GET /api/v2/scenarios/{id}/blueprint answers: the blueprint and its inputs.
    const std::string file = Blueprint("greet.json", R"({"code": "OK", "response": {
        "blueprint": {"name": "Greet", "flow": [
            {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "who", "value": "{{var.input.who}}"}},
            {"id": 2, "module": "json:CreateJSON",
             "mapper": {"greeting": "Hello {{1.who}}", "times": "{{var.input.times}}"}}]},
        "interface": {"input": [{"name": "who", "type": "text", "required": true},
                                {"name": "times", "type": "number", "default": 1}]}}})");
    auto r = Run(file, {"--input", "who=Ana", "--input", "times=3"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const json::value e = Json(LastLine(r.out));
    EXPECT_EQ(e.at("status").as_string(), "success") << e;
    EXPECT_EQ(e.at("operations").as_int64(), 2);
    EXPECT_TRUE(e.at("error").is_null());
    EXPECT_TRUE(e.at("connections").as_array().empty());
    ASSERT_EQ(e.at("modules").as_array().size(), 2u) << e;
    EXPECT_EQ(e.at("modules").at(0).at("module").as_string(), "util:SetVariable2");
    EXPECT_EQ(Output(e, 0), Json(R"([{"who": "Ana"}])"));
    const json::value created = Output(e, 1);
    ASSERT_EQ(created.as_array().size(), 1u) << created;
    // CreateJSON outputs its mapper as JSON text; the number input arrives converted (3, not "3").
    EXPECT_EQ(Json(std::string(created.at(0).at("json").as_string())),
              Json(R"({"greeting": "Hello Ana", "times": 3})"));

    // A missing required input is refused before anything runs, naming it.
    auto missing = Run(file);
    EXPECT_EQ(missing.exit_code, 2) << missing.out;
    EXPECT_NE(missing.err.find("who"), std::string::npos) << missing.err;
    EXPECT_EQ(missing.out.find("\"status\""), std::string::npos) << missing.out;
}

TEST_F(RunCommandTest, DataIsTheTriggerPayloadAndEachItemIsABundle) {
    const std::string file = Blueprint("hook.json", R"({"name": "Hook", "flow": [
        {"id": 1, "module": "gateway:CustomWebHook"},
        {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "seen", "value": "{{1.item}}"}}]})");
    auto r = Run(file, {"--data", R"([{"item": "a"}, {"item": "b"}])"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const json::value e = Json(LastLine(r.out));
    EXPECT_EQ(e.at("status").as_string(), "success") << e;
    EXPECT_EQ(e.at("operations").as_int64(), 3);  // the trigger once, the next module once per bundle
    ASSERT_EQ(e.at("modules").as_array().size(), 3u) << e;
    EXPECT_EQ(Output(e, 1), Json(R"([{"seen": "a"}])"));
    EXPECT_EQ(Output(e, 2), Json(R"([{"seen": "b"}])"));
}

TEST_F(RunCommandTest, UnknownModulesAndFailingModulesAreReported) {
    // Modules Switchboard does not know: exit 2, each named, nothing run.
    const std::string unknown = Blueprint("unknown.json", R"({"name": "x", "flow": [
        {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "a", "value": "1"}},
        {"id": 2, "module": "foo:bar"}, {"id": 3, "module": "nope:nothing"}]})");
    auto r = Run(unknown);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.err.find("foo:bar"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nope:nothing"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("\"status\""), std::string::npos) << r.out;

    // A module that fails: exit 1, and the execution (printed all the same) names the error type and module.
    const std::string failing = Blueprint("failing.json", R"({"name": "Parse", "flow": [
        {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "text", "value": "not json"}},
        {"id": 2, "module": "json:ParseJSON", "mapper": {"json": "{{1.text}}"}},
        {"id": 3, "module": "util:SetVariable2", "mapper": {"name": "never", "value": "1"}}]})");
    r = Run(failing);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    const json::value e = Json(LastLine(r.out));
    EXPECT_EQ(e.at("status").as_string(), "error") << e;
    EXPECT_EQ(e.at("error").at("type").as_string(), "DataError") << e;
    EXPECT_EQ(e.at("error").at("moduleId").as_int64(), 2);
    EXPECT_EQ(e.at("operations").as_int64(), 2);  // module 3 never ran
    ASSERT_EQ(e.at("modules").as_array().size(), 2u) << e;
    EXPECT_EQ(e.at("modules").at(1).at("error").at("type").as_string(), "DataError");

    // Not a blueprint at all: exit 2.
    const std::string broken = Blueprint("broken.json", "{not json");
    EXPECT_EQ(Run(broken).exit_code, 2);
}

}  // namespace
}  // namespace switchboard::testing

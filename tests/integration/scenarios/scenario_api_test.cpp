// Scenarios through the real binary against a real loopback upstream (an "app" that needs an API key):
// webhook → HTTP GET with an API-key connection → webhook response; AccountValidationError before any request
// when scopes are missing; an edit while runs are in flight (no run mixes keys); a dynamic connection choosing
// its member per run; a polling trigger across a restart; maxErrors turning scheduling off; the usage index and
// the delete guard; cross-team isolation; secrets in no response.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/cooperative.hpp"
#include "http_server/server.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kKeyOld = "acme-OLD-key-5a1f9c3e7d";
constexpr const char* kKeyNew = "acme-NEW-key-8b2e6d4f0a";
constexpr const char* kKeySales = "acme-SALES-key-1c3e5a7b";
constexpr const char* kKeyOps = "acme-OPS-key-2d4f6b8c9e";

struct Hit {
    std::string path;
    std::string key;
    std::string run;  // x-run header (which run sent it)
    std::string body;
};

// The app's side: every request needs one of the accepted keys in X-Api-Key; everything is recorded.
class Upstream {
  public:
    Upstream() {
        http_server::Router router;
        auto guarded = [this](std::function<http_server::Response(http_server::Request&)> f) {
            return [this, f](http_server::Request& req) {
                const std::string key(req.Header("x-api-key").value_or(""));
                {
                    std::lock_guard lock(mu_);
                    hits_.push_back({req.path, key, std::string(req.Header("x-run").value_or("")), req.body});
                    if (!keys_.contains(key)) {
                        return http_server::Response::Json(401, R"({"error":"invalid api key"})");
                    }
                }
                return f(req);
            };
        };
        router.Add("GET", "/v1/me", guarded([](http_server::Request&) {
                       return http_server::Response::Json(200, R"({"id":7,"email":"owner@acme.test"})");
                   }));
        router.Add("GET", "/v1/items/{id}", guarded([](http_server::Request& req) {
                       const std::string id = req.path_params["id"];
                       return http_server::Response::Json(
                           200, json::serialize(json::object{{"id", id}, {"name", "item " + id}, {"price", 12.5}}));
                   }));
        router.Add("GET", "/v1/list", guarded([this](http_server::Request&) {
                       std::lock_guard lock(mu_);
                       json::array items;
                       for (int id : items_)
                           items.push_back(json::object{{"id", id}, {"title", "row " + std::to_string(id)}});
                       return http_server::Response::Json(200, json::serialize(json::object{{"items", items}}));
                   }));
        router.Add("POST", "/v1/seen",
                   guarded([](http_server::Request&) { return http_server::Response::Json(200, R"({"ok":true})"); }));
        router.Add("GET", "/v1/bad", guarded([](http_server::Request&) {
                       return http_server::Response::Json(400, R"({"error":"bad request"})");
                   }));
        // A slow third-party API: answers after 2 s, any number at once (a fiber each, so no thread is held).
        router.Add("GET", "/v1/slow", guarded([](http_server::Request&) {
                       core::SleepFor(std::chrono::milliseconds(2000));
                       return http_server::Response::Json(200, R"({"slow":true})");
                   }),
                   http_server::Pool::kRun);
        http_server::ServerOptions opts;
        opts.port = 0;
        opts.worker_threads = 8;
        opts.io_threads = 1;
        opts.cooperative_runs = true;
        server_ = std::make_unique<http_server::Server>(
            opts, std::move(router), [](const core::Error& e) { return http_server::Response::Json(404, e.message); },
            nullptr);
        if (!server_->Start()) throw std::runtime_error("upstream did not start");
    }
    ~Upstream() { server_->Stop(); }
    int port() const { return server_->port(); }
    void Accept(std::set<std::string> keys) {
        std::lock_guard lock(mu_);
        keys_ = std::move(keys);
    }
    void AddItems(std::initializer_list<int> ids) {
        std::lock_guard lock(mu_);
        items_.insert(items_.end(), ids);
    }
    std::vector<Hit> Hits() {
        std::lock_guard lock(mu_);
        return hits_;
    }
    std::size_t HitsOn(const std::string& path) {
        std::lock_guard lock(mu_);
        return static_cast<std::size_t>(
            std::count_if(hits_.begin(), hits_.end(), [&](const Hit& h) { return h.path == path; }));
    }
    void Clear() {
        std::lock_guard lock(mu_);
        hits_.clear();
    }

  private:
    std::mutex mu_;
    std::set<std::string> keys_{kKeyOld};
    std::vector<int> items_;
    std::vector<Hit> hits_;
    std::unique_ptr<http_server::Server> server_;
};

std::string AcmeApp(int port) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    return R"({
  "name": "acme", "label": "Acme", "version": "1.0.0", "description": "Test upstream", "theme": "#336699",
  "base": {"baseUrl": ")" +
           base + R"(", "headers": {"x-api-key": "{{connection.apiKey}}"},
           "log": {"sanitize": ["request.headers.x-api-key"]}},
  "connections": {
    "acme": {
      "type": "apikey", "label": "Acme API key",
      "parameters": [{"name": "apiKey", "type": "password", "label": "API key", "required": true}],
      "scope": ["read"],
      "scopes": {"read": "Read data", "write": "Change data"},
      "api": {"url": ")" +
           base + R"(/v1/me", "headers": {"x-api-key": "{{parameters.apiKey}}"},
              "response": {"metadata": {"type": "email", "value": "{{body.email}}"}}}
    }
  },
  "modules": {
    "getItem": {
      "type": "action", "label": "Get an item", "connection": "acme", "scope": ["read"],
      "expect": [{"name": "id", "type": "text", "label": "ID", "required": true},
                 {"name": "run", "type": "text", "label": "Run"}],
      "communication": {"url": "/v1/items/{{parameters.id}}", "method": "GET",
                        "headers": {"x-api-key": "{{connection.apiKey}}", "x-run": "{{parameters.run}}"},
                        "response": {"output": "{{body}}"}}
    },
    "deleteItem": {
      "type": "action", "label": "Delete an item", "connection": "acme", "scope": ["write"],
      "expect": [{"name": "id", "type": "text", "label": "ID", "required": true}],
      "communication": {"url": "/v1/items/{{parameters.id}}", "method": "DELETE", "response": {"output": "{{body}}"}}
    },
    "markSeen": {
      "type": "action", "label": "Mark seen", "connection": "acme", "scope": ["read"],
      "expect": [{"name": "id", "type": "text", "label": "ID", "required": true}],
      "communication": {"url": "/v1/seen", "method": "POST", "body": {"id": "{{parameters.id}}"},
                        "response": {"output": "{{body}}"}}
    },
    "badCall": {
      "type": "action", "label": "Always rejected", "connection": "acme",
      "communication": {"url": "/v1/bad", "method": "GET", "response": {"output": "{{body}}"}}
    },
    "watchItems": {
      "type": "trigger", "label": "Watch items", "connection": "acme", "scope": ["read"],
      "parameters": [{"name": "limit", "type": "number", "label": "Limit", "default": 10}],
      "communication": {"url": "/v1/list", "method": "GET",
                        "response": {"iterate": "{{body.items}}", "output": "{{item}}",
                                     "trigger": {"type": "id", "id": "{{item.id}}", "order": "asc"}}}
    }
  }
})";
}

json::value Json(const std::string& s) { return json::parse(s); }

class ScenarioApiTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(dir.file("apps"));
        std::ofstream(dir.file("apps/acme.json")) << AcmeApp(upstream.port());
        token_a = CreateToken("ana@alpha.test", "Alpha");
        token_b = CreateToken("bob@beta.test", "Beta");
        Start();
        team_a = TeamOf(token_a);
        team_b = TeamOf(token_b);
    }

    void Start() {
        server =
            StartServer({"--data-dir", dir.file("data"), "--apps-dir", dir.file("apps"), "--allow-private-network"},
                        {{"SWITCHBOARD_MASTER_KEY", ""}}, dir.path().string());
    }

    std::string CreateToken(const std::string& email, const std::string& team) {
        auto r = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--email", email,
                             "--team", team, "--role", "admin"},
                            {{"SWITCHBOARD_MASTER_KEY", ""}});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::string out = r.out;
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out.substr(out.rfind('\n') + 1);
    }

    HttpReply Call(const std::string& token, const std::string& method, const std::string& target,
                   const std::string& body = "") {
        HttpReply r = HttpRequest(server.port, method, target, body, {{"Authorization", "Token " + token}});
        std::lock_guard lock(replies_mu);
        replies.push_back(r.body);
        return r;
    }

    std::int64_t TeamOf(const std::string& token) {
        auto r = Call(token, "GET", "/api/v2/teams");
        return Json(r.body).at("teams").as_array().at(0).at("id").as_int64();
    }

    std::int64_t CreateConnection(std::int64_t team, const std::string& body) {
        auto r = Call(team == team_a ? token_a : token_b, "POST", "/api/v2/connections?teamId=" + std::to_string(team),
                      body);
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? Json(r.body).at("connection").at("id").as_int64() : 0;
    }
    std::int64_t CreateAcme(const std::string& name, const std::string& key, std::int64_t team = 0) {
        return CreateConnection(team ? team : team_a,
                                R"({"accountName":")" + name + R"(","accountType":"acme","apiKey":")" + key + R"("})");
    }

    // POST /api/v2/scenarios; returns the scenario object (or null with the failure recorded).
    json::value CreateScenario(const json::value& blueprint, const std::string& extra = "") {
        const std::string body = R"({"blueprint":)" + json::serialize(blueprint) + extra + "}";
        auto r = Call(token_a, "POST", "/api/v2/scenarios?teamId=" + std::to_string(team_a), body);
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? Json(r.body).at("scenario") : json::value(nullptr);
    }
    std::string Path(const json::value& scenario, const std::string& rest = "") {
        return "/api/v2/scenarios/" + std::to_string(scenario.at("id").as_int64()) + rest;
    }
    json::value RunOnce(const json::value& scenario, const std::string& body = "{}") {
        auto r = Call(token_a, "POST", Path(scenario, "/run"), body);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? Json(r.body).at("execution") : json::value(nullptr);
    }
    static std::string HookTarget(const json::value& scenario) {
        const std::string url(scenario.at("hookUrl").as_string());
        return url.substr(url.find("/hooks/"));
    }

    TempDir dir;
    Upstream upstream;
    ServerProcess server;
    std::string token_a, token_b;
    std::int64_t team_a = 0, team_b = 0;
    std::mutex replies_mu;
    std::vector<std::string> replies;
};

json::value WebhookBlueprint(std::int64_t http_connection, int upstream_port) {
    return json::parse(R"({
      "name": "Webhook to API",
      "flow": [
        {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": 1}, "mapper": null},
        {"id": 2, "module": "http:ActionSendData", "version": 3,
         "parameters": {"__IMTCONN__": )" +
                       std::to_string(http_connection) + R"(, "handleErrors": true},
         "mapper": {"url": "http://127.0.0.1:)" +
                       std::to_string(upstream_port) + R"(/v1/items/{{1.item}}",
                    "method": "get", "parseResponse": true}},
        {"id": 3, "module": "gateway:WebhookRespond", "version": 1,
         "mapper": {"status": "200", "body": "{\"item\": {{toString(2.data)}}, \"requested\": {{1.item}}}",
                    "headers": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Run", "value": "yes"}]}}
      ],
      "metadata": {"instant": true, "scenario": {"maxErrors": 3}}
    })");
}

TEST_F(ScenarioApiTest, WebhookCallsTheUpstreamWithTheConnectionAndResponds) {
    const std::int64_t conn = CreateConnection(
        team_a, std::string(R"({"accountName":"Acme via HTTP","accountType":"http-apikey","apiKey":")") + kKeyOld +
                    R"(","apiKeyIn":"header","apiKeyName":"X-Api-Key"})");
    ASSERT_GT(conn, 0);
    json::value s = CreateScenario(WebhookBlueprint(conn, upstream.port()));
    ASSERT_TRUE(s.is_object());
    ASSERT_TRUE(s.at("hookUrl").is_string()) << s;
    EXPECT_EQ(s.at("scheduling").at("type").as_string(), "immediately");

    // Inactive: the webhook refuses data.
    auto refused =
        HttpRequest(server.port, "POST", HookTarget(s), R"({"item": 1})", {{"Content-Type", "application/json"}});
    EXPECT_EQ(refused.status, 409) << refused.body;

    ASSERT_EQ(Call(token_a, "POST", Path(s, "/start")).status, 200);
    upstream.Clear();
    auto reply =
        HttpRequest(server.port, "POST", HookTarget(s), R"({"item": 42})", {{"Content-Type", "application/json"}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.headers["content-type"], "application/json");
    EXPECT_EQ(reply.headers["x-run"], "yes");
    const json::value answer = Json(reply.body);
    EXPECT_EQ(answer.at("requested").as_int64(), 42);
    EXPECT_EQ(answer.at("item").at("name").as_string(), "item 42");
    auto hits = upstream.Hits();
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].path, "/v1/items/42");
    EXPECT_EQ(hits[0].key, kKeyOld);

    // The execution: 3 operations, success, the connection used, and the key in no log.
    auto logs = Call(token_a, "GET", Path(s, "/logs"));
    ASSERT_EQ(logs.status, 200) << logs.body;
    const json::value logs_doc = Json(logs.body);
    const auto& entries = logs_doc.at("scenarioLogs").as_array();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].at("status").as_string(), "success");
    EXPECT_EQ(entries[0].at("operations").as_int64(), 3);
    EXPECT_TRUE(entries[0].at("error").is_null());
    auto exec = Call(token_a, "GET", "/api/v2/executions/" + std::to_string(entries[0].at("id").as_int64()));
    ASSERT_EQ(exec.status, 200) << exec.body;
    const json::value e = Json(exec.body).at("execution");
    EXPECT_EQ(e.at("modules").as_array().size(), 3u);
    EXPECT_EQ(e.at("connections").as_array().at(0).at("connectionId").as_int64(), conn);
    // Another team sees neither the execution nor the scenario.
    EXPECT_EQ(Call(token_b, "GET", "/api/v2/executions/" + std::to_string(entries[0].at("id").as_int64())).status, 404);
    EXPECT_EQ(Call(token_b, "GET", Path(s)).status, 404);
    EXPECT_EQ(Call(token_b, "POST", Path(s, "/run")).status, 404);

    // A body that says it is JSON but is not: refused, nothing queued.
    auto malformed =
        HttpRequest(server.port, "POST", HookTarget(s), "{\"item\": ", {{"Content-Type", "Application/JSON"}});
    EXPECT_EQ(malformed.status, 400) << malformed.body;

    // Unknown webhook token.
    EXPECT_EQ(HttpRequest(server.port, "POST", "/hooks/nope", "{}").status, 404);

    // The blueprint comes back as stored; a scenario without a respond module answers 202.
    auto bp = Call(token_a, "GET", Path(s, "/blueprint"));
    ASSERT_EQ(bp.status, 200) << bp.body;
    EXPECT_EQ(Json(bp.body).at("response").at("blueprint").at("flow").as_array().size(), 3u);

    for (const auto& body : replies) EXPECT_EQ(body.find(kKeyOld), std::string::npos) << body;
    EXPECT_EQ(server.process->Stdout().find(kKeyOld), std::string::npos);
    EXPECT_EQ(server.process->Stderr().find(kKeyOld), std::string::npos);
}

// Webhook runs wait for their third-party API without holding a thread (on SQLite they are fibers,
// docs/operations.md "Capacity"): 64 runs whose API answers after 2 s all finish in about that time (16 run
// threads would need 8 s), and a webhook that calls nothing answers at once meanwhile.
TEST_F(ScenarioApiTest, SlowThirdPartyCallsDoNotHoldUpOtherWebhookRuns) {
    const std::int64_t conn =
        CreateConnection(team_a, std::string(R"({"accountName":"Slow API","accountType":"http-apikey","apiKey":")") +
                                     kKeyOld + R"(","apiKeyIn":"header","apiKeyName":"X-Api-Key"})");
    ASSERT_GT(conn, 0);
    json::value slow_bp = WebhookBlueprint(conn, upstream.port());
    slow_bp.at("flow").as_array().at(1).at("mapper").as_object()["url"] =
        "http://127.0.0.1:" + std::to_string(upstream.port()) + "/v1/slow";
    slow_bp.at("flow").as_array().at(2).at("mapper").as_object()["body"] = R"({"slow": {{2.data.slow}}})";
    json::value slow = CreateScenario(slow_bp);
    json::value fast = CreateScenario(json::parse(R"({
      "name": "Answers at once",
      "flow": [
        {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": 2}, "mapper": null},
        {"id": 2, "module": "gateway:WebhookRespond", "version": 1, "mapper": {"status": "200", "body": "fast"}}
      ],
      "metadata": {"instant": true}
    })"));
    ASSERT_TRUE(slow.is_object() && fast.is_object());
    ASSERT_EQ(Call(token_a, "POST", Path(slow, "/start")).status, 200);
    ASSERT_EQ(Call(token_a, "POST", Path(fast, "/start")).status, 200);

    constexpr int kRuns = 64;
    std::vector<HttpReply> replies_of(kRuns);
    std::vector<std::thread> callers;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kRuns; ++i) {
        callers.emplace_back([&, i] {
            replies_of[i] =
                HttpRequest(server.port, "POST", HookTarget(slow), "{}", {{"Content-Type", "application/json"}});
        });
    }
    // Once most runs wait for the API, a webhook that calls nothing is answered without waiting for them.
    const auto wait_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (upstream.HitsOn("/v1/slow") < kRuns / 2 && std::chrono::steady_clock::now() < wait_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(upstream.HitsOn("/v1/slow"), static_cast<std::size_t>(kRuns / 2));
    const auto fast_started = std::chrono::steady_clock::now();
    const HttpReply quick =
        HttpRequest(server.port, "POST", HookTarget(fast), "{}", {{"Content-Type", "application/json"}});
    const auto fast_took = std::chrono::steady_clock::now() - fast_started;
    for (auto& c : callers) c.join();
    const auto all_took = std::chrono::steady_clock::now() - started;

    EXPECT_EQ(quick.status, 200) << quick.body;
    EXPECT_EQ(quick.body, "fast");
    EXPECT_LT(fast_took, std::chrono::milliseconds(1000));
    for (const HttpReply& r : replies_of) {
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(Json(r.body).at("slow").as_bool(), true);
    }
    EXPECT_EQ(upstream.HitsOn("/v1/slow"), static_cast<std::size_t>(kRuns));
    EXPECT_LT(all_took, std::chrono::milliseconds(5500));  // one round of 2 s waits, not four
}

TEST_F(ScenarioApiTest, MissingScopeEndsTheRunBeforeAnyRequest) {
    const std::int64_t conn = CreateAcme("Acme read only", kKeyOld);  // granted: read
    ASSERT_GT(conn, 0);
    json::value s = CreateScenario(json::parse(R"({"name": "Delete", "flow": [
        {"id": 1, "module": "acme:getItem", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) +
                                               R"(}, "mapper": {"id": "1"}},
        {"id": 2, "module": "acme:deleteItem", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) +
                                               R"(}, "mapper": {"id": "1"},
         "onerror": [{"id": 3, "module": "builtin:Ignore"}]}]})"));
    ASSERT_TRUE(s.is_object());
    upstream.Clear();
    json::value e = RunOnce(s);
    ASSERT_TRUE(e.is_object());
    EXPECT_EQ(e.at("status").as_string(), "error");
    EXPECT_EQ(e.at("error").at("type").as_string(), "AccountValidationError");
    EXPECT_EQ(e.at("error").at("moduleId").as_int64(), 2);
    EXPECT_NE(e.at("error").at("message").as_string().find("write"), std::string::npos) << e;
    EXPECT_EQ(e.at("operations").as_int64(), 0);
    EXPECT_TRUE(upstream.Hits().empty()) << "a request reached the upstream";

    // The usage index knows the scenario needs write; deleting the connection asks first.
    auto usage = Call(token_a, "GET", "/api/v2/connections/" + std::to_string(conn) + "/usage");
    ASSERT_EQ(usage.status, 200) << usage.body;
    const json::value usage_doc = Json(usage.body);
    const auto& u = usage_doc.at("usage").as_array();
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].at("scenarioId").as_int64(), s.at("id").as_int64());
    EXPECT_EQ(u[0].at("requiredScopes"), json::parse(R"(["read","write"])"));
    EXPECT_EQ(Call(token_b, "GET", "/api/v2/connections/" + std::to_string(conn) + "/usage").status, 404);
    auto del = Call(token_a, "DELETE", "/api/v2/connections/" + std::to_string(conn));
    EXPECT_EQ(del.status, 409) << del.body;
    EXPECT_NE(del.body.find("Delete"), std::string::npos) << del.body;

    // A deleted connection is an AccountValidationError too.
    ASSERT_EQ(Call(token_a, "DELETE", "/api/v2/connections/" + std::to_string(conn) + "?confirmed=true").status, 200);
    json::value after = RunOnce(s);
    EXPECT_EQ(after.at("error").at("type").as_string(), "AccountValidationError");
    EXPECT_TRUE(upstream.Hits().empty());
}

TEST_F(ScenarioApiTest, BlueprintsAreCheckedBeforeTheyAreStored) {
    const std::int64_t theirs = CreateAcme("Beta's", kKeyOld, team_b);
    ASSERT_GT(theirs, 0);
    auto post = [&](const std::string& bp) {
        return Call(token_a, "POST", "/api/v2/scenarios?teamId=" + std::to_string(team_a),
                    R"({"blueprint":)" + bp + "}");
    };
    // Another team's connection.
    auto other = post(R"({"name":"x","flow":[{"id":1,"module":"acme:getItem","parameters":{"__IMTCONN__":)" +
                      std::to_string(theirs) + R"(},"mapper":{"id":"1"}}]})");
    EXPECT_EQ(other.status, 400) << other.body;
    EXPECT_NE(other.body.find("does not exist in this team"), std::string::npos) << other.body;
    // Unknown modules are named.
    auto unknown =
        post(R"({"name":"x","flow":[{"id":1,"module":"smartsheet:addRowToSheet"},{"id":2,"module":"foo:bar"}]})");
    EXPECT_EQ(unknown.status, 400) << unknown.body;
    EXPECT_NE(unknown.body.find("smartsheet:addRowToSheet"), std::string::npos) << unknown.body;
    EXPECT_NE(unknown.body.find("foo:bar"), std::string::npos) << unknown.body;
    // A blueprint as a JSON string (as Make's API sends it) is accepted.
    auto as_text = Call(
        token_a, "POST", "/api/v2/scenarios?teamId=" + std::to_string(team_a),
        json::serialize(json::object{
            {"blueprint",
             R"({"name":"Text","flow":[{"id":1,"module":"util:SetVariable2","mapper":{"name":"a","value":"1"}}]})"},
            {"scheduling", R"({"type":"indefinitely","interval":900})"}}));
    EXPECT_EQ(as_text.status, 201) << as_text.body;
    // Bad mapping syntax, bad scheduling.
    EXPECT_EQ(post(R"({"name":"x","flow":[{"id":1,"module":"util:SetVariable2","mapper":{"value":"{{1.a"}}]})").status,
              400);
    auto sched = Call(
        token_a, "POST", "/api/v2/scenarios?teamId=" + std::to_string(team_a),
        R"({"blueprint":{"name":"x","flow":[{"id":1,"module":"util:SetVariable2"}]},"scheduling":{"type":"indefinitely","interval":5}})");
    EXPECT_EQ(sched.status, 400) << sched.body;
    // Nothing half-written: only the valid scenario exists.
    auto list = Call(token_a, "GET", "/api/v2/scenarios?teamId=" + std::to_string(team_a));
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(Json(list.body).at("scenarios").as_array().size(), 1u);
    EXPECT_EQ(Call(token_b, "GET", "/api/v2/scenarios?teamId=" + std::to_string(team_a)).status, 403);
}

TEST_F(ScenarioApiTest, AnEditDuringRunsNeverMixesKeys) {
    upstream.Accept({kKeyOld, kKeyNew});
    const std::int64_t conn = CreateAcme("Acme", kKeyOld);
    ASSERT_GT(conn, 0);
    // Two requests per run with a pause between them: an edit landing in the pause must not reach the second.
    json::value s = CreateScenario(json::parse(R"({"name": "Two calls", "flow": [
        {"id": 1, "module": "gateway:CustomWebHook", "parameters": {}},
        {"id": 2, "module": "acme:getItem", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) +
                                               R"(}, "mapper": {"id": "a", "run": "{{1.run}}"}},
        {"id": 3, "module": "util:FunctionSleep", "mapper": {"duration": 0.3}},
        {"id": 4, "module": "acme:getItem", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) +
                                               R"(}, "mapper": {"id": "b", "run": "{{1.run}}"}},
        {"id": 5, "module": "gateway:WebhookRespond", "mapper": {"status": 200, "body": "done"}}]})"));
    ASSERT_TRUE(s.is_object());
    ASSERT_EQ(Call(token_a, "POST", Path(s, "/start")).status, 200);
    upstream.Clear();

    std::vector<std::thread> runs;
    std::atomic<int> ok{0};
    std::mutex after_mu;
    std::set<std::string> started_after_edit;
    std::atomic<bool> edited{false};
    for (int i = 0; i < 12; ++i) {
        runs.emplace_back([&, i] {
            std::this_thread::sleep_for(std::chrono::milliseconds(60 * i));
            const bool after = edited.load();
            const std::string run = "r" + std::to_string(i);
            auto r = HttpRequest(server.port, "POST", HookTarget(s), R"({"run":")" + run + R"("})",
                                 {{"Content-Type", "application/json"}});
            if (r.status == 200) ++ok;
            if (after) {
                std::lock_guard lock(after_mu);
                started_after_edit.insert(run);
            }
        });
    }
    std::this_thread::sleep_for(300ms);
    auto edit = Call(token_a, "POST", "/api/v2/connections/" + std::to_string(conn) + "/set-data",
                     std::string(R"({"apiKey":")") + kKeyNew + R"("})");
    ASSERT_EQ(edit.status, 200) << edit.body;
    edited = true;
    for (auto& t : runs) t.join();
    EXPECT_EQ(ok.load(), 12);

    std::map<std::string, std::set<std::string>> keys_by_run;
    for (const auto& h : upstream.Hits()) {
        if (!h.run.empty()) keys_by_run[h.run].insert(h.key);
    }
    ASSERT_EQ(keys_by_run.size(), 12u);
    int old_runs = 0, new_runs = 0;
    for (const auto& [run, keys] : keys_by_run) {
        EXPECT_EQ(keys.size(), 1u) << run << " mixed keys";
        if (keys.contains(kKeyOld)) ++old_runs;
        if (keys.contains(kKeyNew)) ++new_runs;
        if (started_after_edit.contains(run)) {
            EXPECT_TRUE(keys.contains(kKeyNew)) << run << " started after the edit";
        }
    }
    EXPECT_GT(old_runs, 0);
    EXPECT_GT(new_runs, 0);
}

TEST_F(ScenarioApiTest, DynamicConnectionChoosesTheMemberPerRun) {
    upstream.Accept({kKeySales, kKeyOps});
    const std::int64_t sales = CreateAcme("Acme sales", kKeySales);
    const std::int64_t ops = CreateAcme("Acme ops", kKeyOps);
    ASSERT_GT(sales, 0);
    ASSERT_GT(ops, 0);
    auto created = Call(token_a, "POST", "/api/v2/dynamic-connections?teamId=" + std::to_string(team_a),
                        R"({"name":"Acme per department","connectionType":"acme","defaultConnectionId":)" +
                            std::to_string(sales) + R"(,"connections":[{"connectionId":)" + std::to_string(sales) +
                            R"(,"label":"sales"},{"connectionId":)" + std::to_string(ops) + R"(,"label":"ops"}]})");
    ASSERT_EQ(created.status, 201) << created.body;
    const std::int64_t dyn = Json(created.body).at("dynamicConnection").at("id").as_int64();
    // Another team cannot use or see it.
    EXPECT_EQ(Call(token_b, "GET", "/api/v2/dynamic-connections/" + std::to_string(dyn)).status, 404);

    json::value s = CreateScenario(json::parse(R"({"name": "Per department", "flow": [
            {"id": 1, "module": "acme:getItem",
             "parameters": {"__IMTCONN__": {"dynamic": )" +
                                               std::to_string(dyn) + R"(, "input": "department"}},
             "mapper": {"id": "7", "run": "{{var.input.department}}"}}]})"),
                                   R"(,"interface":{"input":[{"name":"department","type":"text","required":false}]})");
    ASSERT_TRUE(s.is_object());
    upstream.Clear();
    json::value e1 = RunOnce(s, R"({"data":{"department":"ops"}})");
    json::value e2 = RunOnce(s, R"({"data":{"department":"sales"}})");
    json::value e3 = RunOnce(s, R"({"data":{"department":")" + std::to_string(ops) + R"("}})");
    json::value e4 = RunOnce(s, "{}");
    for (const auto& e : {e1, e2, e3, e4}) ASSERT_EQ(e.at("status").as_string(), "success") << e;
    auto hits = upstream.Hits();
    ASSERT_EQ(hits.size(), 4u);
    EXPECT_EQ(hits[0].key, kKeyOps);
    EXPECT_EQ(hits[1].key, kKeySales);
    EXPECT_EQ(hits[2].key, kKeyOps);
    EXPECT_EQ(hits[3].key, kKeySales);  // the default
    EXPECT_EQ(e1.at("connections").at(0).at("connectionId").as_int64(), ops);
    EXPECT_EQ(e1.at("connections").at(0).at("label").as_string(), "ops");
    EXPECT_EQ(e1.at("connections").at(0).at("dynamicConnectionId").as_int64(), dyn);
    // An unknown member is an AccountValidationError, with no request.
    json::value bad = RunOnce(s, R"({"data":{"department":"legal"}})");
    EXPECT_EQ(bad.at("error").at("type").as_string(), "AccountValidationError");
    EXPECT_EQ(upstream.Hits().size(), 4u);
    // Both members count as used by the scenario.
    for (auto id : {sales, ops}) {
        auto usage = Call(token_a, "GET", "/api/v2/connections/" + std::to_string(id) + "/usage");
        EXPECT_EQ(Json(usage.body).at("usage").as_array().size(), 1u) << usage.body;
    }
    // Deleting the dynamic connection asks first.
    EXPECT_EQ(Call(token_a, "DELETE", "/api/v2/dynamic-connections/" + std::to_string(dyn)).status, 409);
}

TEST_F(ScenarioApiTest, PollingTriggerEmitsEachItemOnceAcrossARestart) {
    const std::int64_t conn = CreateAcme("Acme", kKeyOld);
    ASSERT_GT(conn, 0);
    json::value s = CreateScenario(json::parse(R"({"name": "Watch", "flow": [
        {"id": 1, "module": "acme:watchItems", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) +
                                               R"(, "limit": 2}},
        {"id": 2, "module": "acme:markSeen", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) + R"(}, "mapper": {"id": "{{1.id}}"}}]})"));
    ASSERT_TRUE(s.is_object());
    upstream.AddItems({1, 2, 3});
    json::value e1 = RunOnce(s);  // 1, 2 (limit 2)
    EXPECT_EQ(e1.at("operations").as_int64(), 3);
    json::value e2 = RunOnce(s);  // 3
    // Restart the server in between: the cursor is in the store.
    server.process->Signal(SIGTERM);
    ASSERT_TRUE(server.process->Wait(20s).has_value());
    Start();
    upstream.AddItems({4, 5});
    json::value e3 = RunOnce(s);                   // 4, 5
    json::value e4 = RunOnce(s);                   // nothing new
    EXPECT_EQ(e4.at("operations").as_int64(), 1);  // the trigger check alone
    std::vector<std::string> seen;
    for (const auto& h : upstream.Hits()) {
        if (h.path == "/v1/seen") seen.push_back(json::serialize(Json(h.body).at("id")));
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"1", "2", "3", "4", "5"}));  // numbers, as the trigger gave them
}

TEST_F(ScenarioApiTest, ConsecutiveErrorsTurnSchedulingOff) {
    const std::int64_t conn = CreateAcme("Acme", kKeyOld);
    json::value s = CreateScenario(json::parse(R"({"name": "Fails", "flow": [
        {"id": 1, "module": "gateway:CustomWebHook"},
        {"id": 2, "module": "acme:badCall", "parameters": {"__IMTCONN__": )" +
                                               std::to_string(conn) + R"(}}],
        "metadata": {"scenario": {"maxErrors": 2}}})"));
    ASSERT_TRUE(s.is_object());
    ASSERT_EQ(Call(token_a, "POST", Path(s, "/start")).status, 200);
    for (int i = 0; i < 2; ++i) {
        auto r = HttpRequest(server.port, "POST", HookTarget(s), "{}", {{"Content-Type", "application/json"}});
        EXPECT_EQ(r.status, 202) << r.body;
    }
    // The runs are queued: wait for both to finish (bounded).
    json::value got;
    for (int i = 0; i < 100; ++i) {
        got = Json(Call(token_a, "GET", Path(s)).body).at("scenario");
        if (!got.at("isActive").as_bool()) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_FALSE(got.at("isActive").as_bool()) << got;
    EXPECT_TRUE(got.at("isinvalid").as_bool());
    EXPECT_NE(got.at("invalidReason").as_string().find("DataError"), std::string::npos) << got;
    auto logs = Json(Call(token_a, "GET", Path(s, "/logs")).body).at("scenarioLogs").as_array();
    ASSERT_EQ(logs.size(), 2u);
    EXPECT_EQ(logs[0].at("error").at("type").as_string(), "DataError");
    EXPECT_EQ(logs[0].at("error").at("moduleId").as_int64(), 2);
    // Starting again clears it.
    auto restarted = Json(Call(token_a, "POST", Path(s, "/start")).body).at("scenario");
    EXPECT_TRUE(restarted.at("isActive").as_bool());
    EXPECT_FALSE(restarted.at("isinvalid").as_bool());
}

}  // namespace
}  // namespace switchboard::testing

// The scenario engine in-process, against a real SQLite store, vault, catalog, connection service and a loopback
// upstream that can misbehave (5xx, 429 with Retry-After, 400, 401): routers and filters, iterator and aggregator,
// every error handler, retries, the http app's connection types, Make-an-API-call, the json/util/gateway modules,
// scenario inputs, confidential scenarios, secrets in no log, the scheduler on two nodes sharing one database,
// maxErrors, and credentials resolved once per run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accounts/account_service.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "connections/credential_store.hpp"
#include "connections/http_verifier.hpp"
#include "core/clock.hpp"
#include "core/cooperative.hpp"
#include "core/encoding.hpp"
#include "core/random.hpp"
#include "engine/executor.hpp"
#include "engine/module.hpp"
#include "engine/runner.hpp"
#include "engine/scenario_service.hpp"
#include "http_client/curl_http_client.hpp"
#include "http_server/server.hpp"
#include "oauth/oauth_engine.hpp"
#include "store/scenario_store.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"
#include "vault/vault.hpp"

namespace switchboard::engine {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using store::ExecutionStatus;

// Secrets of the test's connections; none may ever appear in an execution's log.
constexpr const char* kTappKey = "tapp-KEY-7f3a9c1e5b";
constexpr const char* kTappKeyNew = "tapp-NEW-KEY-2b4d6f8a0c";
constexpr const char* kBasicPassword = "basic-PASS-9e8d7c6b5a";
constexpr const char* kHeaderKey = "hdr-KEY-1a2b3c4d5e";
constexpr const char* kQueryKey = "qry-KEY-5e4d3c2b1a";
constexpr const char* kBearer = "bearer-TOKEN-0f1e2d3c4b";
// JSON and URL specials inside a secret: its escaped forms must be masked too.
constexpr const char* kOddKey = "odd\"KEY\\with/specials&=+%";
constexpr const char* kClientSecret = "client-SECRET-3c5e7a9b1d";
constexpr const char* kAccess1 = "oauth-ACCESS-1-6d8f0b2c4e";
constexpr const char* kAccess2 = "oauth-ACCESS-2-7e9a1c3d5f";
constexpr const char* kAccess3 = "oauth-ACCESS-3-8f0b2d4e6a";
constexpr const char* kRefresh = "oauth-REFRESH-9a1c3e5b7d";

struct Hit {
    std::string method;
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    http_server::Headers headers;
    std::string body;
    std::chrono::steady_clock::time_point at;

    std::string Header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k == name) return v;
        }
        return "";
    }
    std::string Query(std::string_view name) const {
        for (const auto& [k, v] : query) {
            if (k == name) return v;
        }
        return "";
    }
};

struct Reply {
    Reply() = default;
    Reply(int s, std::string b, http_server::Headers h = {}) : status(s), body(std::move(b)), headers(std::move(h)) {}
    int status = 200;
    std::string body = R"({"ok":true})";
    http_server::Headers headers;
};

// The app's side. /seq/{name} answers the replies scripted for name in order, then the name's default (200
// {"ok":true,"name":…} unless set); /echo/{tag} answers what it received; /me is the test app's verify call.
class Upstream {
  public:
    Upstream() {
        http_server::Router router;
        for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
            router.Add(method, "/seq/{name}", [this](http_server::Request& req) { return Seq(req); });
            router.Add(method, "/echo/{tag}", [this](http_server::Request& req) { return Echo(req); });
        }
        // Answers after {ms} milliseconds (at most 3 s).
        router.Add("GET", "/slow/{ms}", [this](http_server::Request& req) {
            Record(req);
            const int ms = std::clamp(std::atoi(req.path_params["ms"].c_str()), 0, 3000);
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            return http_server::Response::Json(200, R"({"slow":true})");
        });
        // 302 to /echo/landed on this origin ("same") or on another one: localhost instead of 127.0.0.1 ("other").
        router.Add("GET", "/redirect/{to}", [this](http_server::Request& req) {
            Record(req);
            const std::string host = req.path_params["to"] == "same" ? "127.0.0.1" : "localhost";
            http_server::Response r = http_server::Response::Text(302, "");
            r.headers.emplace_back("location", "http://" + host + ":" + std::to_string(port()) + "/echo/landed");
            return r;
        });
        router.Add("GET", "/me", [this](http_server::Request& req) {
            Record(req);
            return http_server::Response::Json(200, R"({"email":"owner@tapp.test"})");
        });
        http_server::ServerOptions opts;
        opts.port = 0;
        opts.io_threads = 1;
        opts.worker_threads = 4;
        server_ = std::make_unique<http_server::Server>(
            opts, std::move(router), [](const core::Error& e) { return http_server::Response::Json(404, e.message); },
            nullptr);
        if (!server_->Start()) throw std::runtime_error("upstream did not start");
    }
    ~Upstream() { server_->Stop(); }

    int port() const { return server_->port(); }
    std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port()) + path; }

    void Script(const std::string& name, std::vector<Reply> replies) {
        std::lock_guard lock(mu_);
        for (auto& r : replies) scripts_[name].push_back(std::move(r));
    }
    void SetDefault(const std::string& name, Reply r) {
        std::lock_guard lock(mu_);
        defaults_[name] = std::move(r);
    }
    // Called (outside the lock) for every request, before it is answered.
    void OnHit(std::function<void(const Hit&)> f) {
        std::lock_guard lock(mu_);
        on_hit_ = std::move(f);
    }
    std::vector<Hit> Hits() {
        std::lock_guard lock(mu_);
        return hits_;
    }
    std::vector<Hit> HitsTo(const std::string& path) {
        std::vector<Hit> out;
        for (auto& h : Hits()) {
            if (h.path == path) out.push_back(h);
        }
        return out;
    }
    void Clear() {
        std::lock_guard lock(mu_);
        hits_.clear();
    }

  private:
    void Record(const http_server::Request& req) {
        Hit h{req.method, req.path, req.query, req.headers, req.body, std::chrono::steady_clock::now()};
        std::function<void(const Hit&)> hook;
        {
            std::lock_guard lock(mu_);
            hits_.push_back(h);
            hook = on_hit_;
        }
        if (hook) hook(h);
    }

    http_server::Response Seq(http_server::Request& req) {
        Record(req);
        const std::string name = req.path_params["name"];
        Reply r;
        {
            std::lock_guard lock(mu_);
            if (auto it = scripts_.find(name); it != scripts_.end() && !it->second.empty()) {
                r = std::move(it->second.front());
                it->second.pop_front();
            } else if (auto d = defaults_.find(name); d != defaults_.end()) {
                r = d->second;
            } else {
                r.body = json::serialize(json::object{{"ok", true}, {"name", name}});
            }
        }
        http_server::Response resp = http_server::Response::Json(r.status, r.body);
        resp.headers = r.headers;
        return resp;
    }

    http_server::Response Echo(http_server::Request& req) {
        Record(req);
        json::object query, headers;
        for (const auto& [k, v] : req.query) query[k] = v;
        for (const auto& [k, v] : req.headers) headers[k] = v;
        return http_server::Response::Json(200, json::serialize(json::object{{"tag", req.path_params["tag"]},
                                                                             {"method", req.method},
                                                                             {"query", std::move(query)},
                                                                             {"headers", std::move(headers)},
                                                                             {"body", req.body}}));
    }

    std::mutex mu_;
    std::map<std::string, std::deque<Reply>> scripts_;
    std::map<std::string, Reply> defaults_;
    std::function<void(const Hit&)> on_hit_;
    std::vector<Hit> hits_;
    std::unique_ptr<http_server::Server> server_;
};

// A test app with a base URL on the upstream: its modules and Make-an-API-call carry the key in x-api-key.
std::string TestApp(int port) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    return R"({
  "name": "tapp", "label": "Test app", "version": "1.0.0", "description": "The engine test's upstream",
  "theme": "#336699",
  "base": {"baseUrl": ")" +
           base + R"(", "headers": {"x-api-key": "{{connection.apiKey}}"},
           "log": {"sanitize": ["request.headers.x-api-key"]}},
  "connections": {
    "tapp": {
      "type": "apikey", "label": "Test app API key",
      "parameters": [{"name": "apiKey", "type": "password", "label": "API key", "required": true}],
      "scope": ["read"],
      "scopes": {"read": "Read data", "write": "Change data"},
      "api": {"url": ")" +
           base + R"(/me", "headers": {"x-api-key": "{{parameters.apiKey}}"},
              "response": {"metadata": {"type": "email", "value": "{{body.email}}"}}}
    }
  },
  "modules": {
    "getThing": {
      "type": "action", "label": "Get a thing", "connection": "tapp", "scope": ["read"],
      "expect": [{"name": "name", "type": "text", "label": "Name", "required": true}],
      "communication": {"url": "/seq/{{parameters.name}}", "method": "GET", "response": {"output": "{{body}}"}}
    },
    "watchThings": {
      "type": "trigger", "label": "Watch things", "connection": "tapp", "scope": ["read"],
      "parameters": [{"name": "limit", "type": "number", "label": "Limit"}],
      "communication": {"url": "/seq/list", "method": "GET",
                        "response": {"iterate": "{{body.items}}", "output": "{{item}}",
                                     "trigger": {"type": "id", "id": "{{item.id}}", "order": "asc"}}}
    },
    "writeThing": {
      "type": "action", "label": "Write a thing", "connection": "tapp", "scope": ["write"],
      "communication": {"url": "/echo/write", "method": "POST", "body": {"x": 1}, "response": {"output": "{{body}}"}}
    }
  }
})";
}

// Replaces every "$KEY" of vars in text.
std::string Fill(std::string text, const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) {
        for (std::size_t at = text.find(k); at != std::string::npos; at = text.find(k, at + v.size())) {
            text.replace(at, k.size(), v);
        }
    }
    return text;
}

// Every text inside a JSON value (keys too), to look for secrets after the log's own escaping is undone.
// Texts that hold JSON themselves (the log keeps module inputs and outputs as JSON text) are opened too.
void Texts(const json::value& v, std::vector<std::string>& out) {
    if (v.is_string()) {
        out.emplace_back(v.as_string());
        const auto& s = v.as_string();
        if (!s.empty() && (s.front() == '{' || s.front() == '[')) {
            json::error_code ec;
            json::value inner = json::parse(s, ec);
            if (!ec) Texts(inner, out);
        }
    } else if (v.is_array()) {
        for (const auto& x : v.as_array()) Texts(x, out);
    } else if (v.is_object()) {
        for (const auto& [k, x] : v.as_object()) {
            out.emplace_back(k);
            Texts(x, out);
        }
    }
}

// One server's services over a shared database file (two Nodes = two switchboard processes on one database).
struct Node {
    Node(const std::string& db_file, const std::string& apps_dir, const std::string& master_key,
         core::ManualClock& clock, RunOptions run_options, std::string node_id)
        : clock(clock) {
        auto db = store::OpenDb("sqlite:" + db_file);
        if (!db) throw std::runtime_error("database: " + db.error().detail);
        store = store::MakeSqlStore(std::move(*db), clock);
        if (auto m = store->Migrate(); !m) throw std::runtime_error("migrate: " + m.error().detail);
        auto ring = vault::KeyRing::FromText(master_key, "test key");
        if (!ring) throw std::runtime_error("key ring: " + ring.error().detail);
        keys = std::move(*ring);
        vault = std::make_unique<vault::Vault>(*keys, random);
        accounts = std::make_unique<accounts::AccountService>(*store, clock, random);
        report = catalog.Load(SWITCHBOARD_BUILTIN_APPS_DIR, apps_dir);
        http_client::CurlHttpClientOptions http_options;
        http_options.allow_private_network = true;
        http = std::make_unique<http_client::CurlHttpClient>(http_options);
        verifier = std::make_unique<connections::HttpVerifier>(*http, clock, random);
        credentials = std::make_unique<connections::CredentialStore>(*store, *vault);
        oauth = std::make_unique<oauth::OAuthEngine>(*http, clock, random, "http://127.0.0.1:1");
        connections = std::make_unique<connections::ConnectionService>(*store, *credentials, catalog, *verifier,
                                                                       *accounts, clock, oauth.get());
        scenario_store = store::MakeSqlScenarioStore(store->db(), clock);
        runner = std::make_unique<Runner>(catalog, registry, *connections, *scenario_store, *http, clock, random,
                                          run_options);
        scenarios = std::make_unique<ScenarioService>(*store, *scenario_store, *accounts, catalog, registry,
                                                      *connections, clock, random, "http://127.0.0.1:1");
        ExecutorOptions exec_options;
        exec_options.workers = 0;
        exec_options.node_id = std::move(node_id);
        executor = std::make_unique<Executor>(*scenarios, *runner, clock, exec_options);
    }

    core::ManualClock& clock;
    core::SodiumRandom random;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<vault::KeyRing> keys;
    std::unique_ptr<vault::Vault> vault;
    std::unique_ptr<accounts::AccountService> accounts;
    catalog::Catalog catalog;
    catalog::LoadReport report;
    std::unique_ptr<http_client::CurlHttpClient> http;
    std::unique_ptr<connections::HttpVerifier> verifier;
    std::unique_ptr<connections::CredentialStore> credentials;
    std::unique_ptr<oauth::OAuthEngine> oauth;
    std::unique_ptr<connections::ConnectionService> connections;
    std::unique_ptr<store::ScenarioStore> scenario_store;
    ModuleRegistry registry = ModuleRegistry::WithBuiltins();
    std::unique_ptr<Runner> runner;
    std::unique_ptr<ScenarioService> scenarios;
    std::unique_ptr<Executor> executor;
};

RunOptions FastRetries() {
    RunOptions o;
    o.max_attempts = 3;
    o.backoff = 5ms;
    o.max_inline_wait = 3000ms;
    o.request_timeout = 5000ms;
    return o;
}

class RunnerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(dir_.file("apps"));
        std::ofstream(dir_.file("apps/tapp.json")) << TestApp(upstream_.port());
        core::SodiumRandom random;
        master_key_ = core::Base64Encode(random.Bytes(vault::kKeyBytes));
        node_ = NewNode("node-a");
        // Only the apps the tests use are required (the built-in catalog's own checks live in tests/unit/catalog).
        ASSERT_TRUE(node_->catalog.FindApp("tapp"));
        ASSERT_TRUE(node_->catalog.FindApp("http"));
        auto boot = node_->accounts->EnsureUserTeamToken("ana@alpha.test", "Alpha", store::Role::kAdmin, "test");
        ASSERT_TRUE(boot) << boot.error().detail;
        caller_ = accounts::Caller{boot->user.id, boot->user.email, boot->token.record.id};
        team_ = boot->team.id;
    }

    void TearDown() override {
        // No secret of any connection in the log, error or response of any execution of any scenario.
        const std::vector<std::string> secrets{kTappKey,  kTappKeyNew, kBasicPassword, kHeaderKey,
                                               kQueryKey, kBearer,     kOddKey,        kClientSecret,
                                               kAccess1,  kAccess2,    kAccess3,       kRefresh};
        for (std::int64_t id : scenario_ids_) {
            auto list = node_->scenario_store->ListExecutions(team_, id, store::Page{1000, 0});
            if (!list) continue;  // deleted by the test
            for (const auto& e : *list) {
                std::vector<std::string> texts{e.log_json, e.error_message, e.result_json};
                json::error_code ec;
                json::value log = json::parse(e.log_json, ec);
                ASSERT_FALSE(ec) << e.log_json;
                Texts(log, texts);
                for (const auto& t : texts) {
                    for (const auto& s : secrets) {
                        EXPECT_EQ(t.find(s), std::string::npos)
                            << "secret " << s << " in execution " << e.id << " of scenario " << id << ": " << t;
                    }
                }
            }
        }
    }

    std::unique_ptr<Node> NewNode(std::string id, RunOptions options = FastRetries()) {
        return std::make_unique<Node>(dir_.file("switchboard.db"), dir_.file("apps"), master_key_, clock_, options,
                                      std::move(id));
    }

    std::int64_t Connection(const std::string& type, json::object parameters, const std::string& name = "conn") {
        connections::CreateInput in;
        in.name = name;
        in.type = type;
        in.parameters = std::move(parameters);
        auto c = node_->connections->Create(caller_, team_, in);
        EXPECT_TRUE(c) << (c ? "" : c.error().detail);
        return c ? c->row.id.value() : 0;
    }
    std::int64_t TappConnection(const std::string& key = kTappKey) {
        return Connection("tapp", json::object{{"apiKey", key}}, "tapp");
    }
    std::int64_t HeaderKeyConnection(const std::string& key = kHeaderKey) {
        return Connection("http-apikey", json::object{{"apiKey", key}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Key"}},
                          "header key");
    }

    // Creates a scenario; $PORT in the blueprint is the upstream's port, $U its base URL.
    ScenarioView Scenario(const std::string& blueprint, const std::string& scheduling = "",
                          const std::string& inputs = "", std::map<std::string, std::string> vars = {}) {
        vars["$PORT"] = std::to_string(upstream_.port());
        vars["$U"] = "http://127.0.0.1:" + std::to_string(upstream_.port());
        ScenarioChange change;
        change.blueprint = json::parse(Fill(blueprint, vars));
        if (!scheduling.empty()) change.scheduling = json::parse(scheduling);
        if (!inputs.empty()) change.inputs = json::parse(inputs);
        auto s = node_->scenarios->Create(caller_, team_, change);
        if (!s) {
            ADD_FAILURE() << "scenario not created: " << s.error().detail;
            return {};
        }
        scenario_ids_.push_back(s->row.id);
        return *s;
    }

    store::Scenario Row(const ScenarioView& s) { return node_->scenario_store->FindScenario(s.row.id).value(); }

    store::Execution Run(const ScenarioView& s, json::object inputs = {}, std::optional<json::value> bundle = {}) {
        auto e = node_->executor->RunOnce(Row(s), inputs, std::move(bundle), true);
        if (!e) {
            ADD_FAILURE() << "run refused: " << e.error().detail;
            return {};
        }
        return *e;
    }

    std::vector<store::Execution> Executions(const ScenarioView& s) {
        auto list = node_->scenario_store->ListExecutions(team_, s.row.id, store::Page{1000, 0});
        EXPECT_TRUE(list);
        return list ? *list : std::vector<store::Execution>{};
    }

    static json::array Log(const store::Execution& e) { return json::parse(e.log_json).as_array(); }
    static std::vector<std::int64_t> Modules(const store::Execution& e) {
        std::vector<std::int64_t> ids;
        for (const auto& entry : Log(e)) ids.push_back(entry.at("moduleId").as_int64());
        return ids;
    }
    // The output bundles a log entry recorded (the log keeps them as JSON text).
    static json::array Output(const json::value& entry) {
        return json::parse(entry.at("output").as_string()).as_array();
    }
    static std::vector<json::array> OutputsOf(const store::Execution& e, std::int64_t module_id) {
        std::vector<json::array> out;
        for (const auto& entry : Log(e)) {
            if (entry.at("moduleId").as_int64() == module_id) out.push_back(Output(entry));
        }
        return out;
    }

    testing::TempDir dir_;
    Upstream upstream_;
    core::ManualClock clock_;
    std::string master_key_;
    std::unique_ptr<Node> node_;
    accounts::Caller caller_;
    core::TeamId team_;
    std::vector<std::int64_t> scenario_ids_;
};

std::string Status(const store::Execution& e) { return std::string(store::ExecutionStatusName(e.status)); }

// ---------------------------------------------------------------------------------------------------------------
// Routers and filters

TEST_F(RunnerTest, RouterRunsOnlyTheRoutesWhoseFilterPasses) {
    auto s = Scenario(R"({"name": "Router", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "builtin:BasicRouter", "routes": [
        {"flow": [{"id": 3, "module": "http:ActionSendData", "mapper": {"url": "$U/echo/big-{{1.n}}"},
                   "filter": {"name": "big", "conditions": [[{"a": "{{1.n}}", "o": "number:greater", "b": "10"}]]}}]},
        {"flow": [{"id": 4, "module": "http:ActionSendData", "mapper": {"url": "$U/echo/small-{{1.n}}"},
                   "filter": {"name": "small", "conditions": [[{"a": "{{1.n}}", "o": "number:less", "b": "10"}]]}}]},
        {"flow": [{"id": 5, "module": "http:ActionSendData", "mapper": {"url": "$U/echo/order-{{1.n}}"},
                   "filter": {"name": "order name", "conditions": [
                     [{"a": "{{1.name}}", "o": "text:pattern:ci", "b": "^order-\\d+$"},
                      {"a": "{{1.tags}}", "o": "array:contain", "b": "vip"}],
                     [{"a": "{{1.priority}}", "o": "text:equal:ci", "b": "URGENT"}]]}}]},
        {"flow": [{"id": 6, "module": "util:SetVariable2", "mapper": {"name": "always", "value": "{{1.n}}"}}]},
        {"flow": [{"id": 7, "module": "util:SetVariable2", "mapper": {"name": "never", "value": "x"},
                   "filter": {"name": "missing", "conditions": [[{"a": "{{1.nothing}}", "o": "exist"}]]}}]}
      ]}
    ]})");
    // Two bundles from the trigger: 20 (big, a VIP order), then 5 (small, urgent).
    auto e = Run(s, {}, json::parse(R"([{"n": 20, "name": "Order-7", "tags": ["new", "vip"]},
                                 {"n": 5, "name": "misc", "tags": [], "priority": "urgent"}])"));
    EXPECT_EQ(Status(e), "success") << e.error_message;
    std::vector<std::string> paths;
    for (const auto& h : upstream_.Hits()) paths.push_back(h.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"/echo/big-20", "/echo/order-20", "/echo/small-5", "/echo/order-5"}));
    // The trigger counts once; each module run per bundle once; routers and filters are free.
    EXPECT_EQ(e.operations, 1 + 3 + 3);
    EXPECT_EQ(Modules(e), (std::vector<std::int64_t>{1, 3, 5, 6, 4, 5, 6}));
}

TEST_F(RunnerTest, FilterOperatorsDecidePerBundleAndABrokenFilterIsABundleValidationError) {
    auto s = Scenario(R"({"name": "Filters", "flow": [
      {"id": 1, "module": "json:ParseJSON", "mapper": {"json": "{{var.input.data}}"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "kept", "value": "{{1.id}}"},
       "filter": {"name": "checks", "conditions": [[
         {"a": "{{1.total}}", "o": "number:greaterorequal", "b": "100"},
         {"a": "{{1.email}}", "o": "text:endwith", "b": "@vip.test"},
         {"a": "{{1.created}}", "o": "date:greater", "b": "2024-01-01T00:00:00Z"},
         {"a": "{{1.flag}}", "o": "boolean:equal", "b": "true"},
         {"a": "{{1.items}}", "o": "array:length:greater", "b": "1"},
         {"a": "{{1.note}}", "o": "notexist"}]]}}
    ]})",
                      "", R"([{"name": "data", "type": "text", "required": true}])");
    const std::string data = R"([
      {"id": 1, "total": 100, "email": "a@vip.test", "created": "2024-06-01", "flag": true, "items": [1, 2]},
      {"id": 2, "total": 99.5, "email": "b@vip.test", "created": "2024-06-01", "flag": true, "items": [1, 2]},
      {"id": 3, "total": "250", "email": "c@vip.test", "created": "2024-06-01", "flag": 1, "items": [1, 2, 3]},
      {"id": 4, "total": 300, "email": "d@other.test", "created": "2024-06-01", "flag": true, "items": [1, 2]},
      {"id": 5, "total": 300, "email": "e@vip.test", "created": "2023-12-31", "flag": true, "items": [1, 2]},
      {"id": 6, "total": 300, "email": "f@vip.test", "created": "2024-06-01", "flag": true, "items": [1]},
      {"id": 7, "total": 300, "email": "g@vip.test", "created": "2024-06-01", "flag": true, "items": [1, 2], "note": "x"},
      {"id": 8, "total": "abc", "email": "h@vip.test", "created": "2024-06-01", "flag": true, "items": [1, 2]}
    ])";
    auto e = Run(s, {{"data", data}});
    EXPECT_EQ(Status(e), "success") << e.error_message;
    std::vector<std::int64_t> kept;
    for (const auto& out : OutputsOf(e, 2)) kept.push_back(out.at(0).at("kept").as_int64());
    EXPECT_EQ(kept, (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(e.operations, 1 + 2);

    // A filter whose template does not parse stops the run with BundleValidationError at its module.
    auto broken = Scenario(R"({"name": "Broken filter", "flow": [
      {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "a", "value": "1"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "b", "value": "2"},
       "filter": {"name": "bad", "conditions": [[{"a": "{{1.a", "o": "text:equal", "b": "1"}]]}}
    ]})");
    auto f = Run(broken);
    EXPECT_EQ(Status(f), "error");
    EXPECT_EQ(f.error_type, "BundleValidationError");
    EXPECT_EQ(f.error_module_id, 2);
    EXPECT_EQ(f.operations, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Iterator and aggregator

TEST_F(RunnerTest, FeederRunsTheNextModulePerItemAndTheAggregatorCollectsThem) {
    auto s = Scenario(R"({"name": "Iterate", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "builtin:BasicFeeder", "mapper": {"array": "{{1.items}}"}},
      {"id": 3, "module": "http:ActionSendData", "mapper": {"url": "$U/echo/item-{{2.id}}"}},
      {"id": 4, "module": "builtin:BasicAggregator", "parameters": {"feeder": 2},
       "mapper": {"id": "{{2.id}}", "tag": "{{3.data.tag}}", "index": "{{2.__IMTINDEX__}}"}},
      {"id": 5, "module": "json:CreateJSON", "mapper": {"all": "{{4.array}}", "count": "{{4.__IMTAGGLENGTH__}}"}}
    ]})");
    auto e = Run(s, {}, json::parse(R"({"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})"));
    EXPECT_EQ(Status(e), "success") << e.error_message;
    std::vector<std::string> paths;
    for (const auto& h : upstream_.Hits()) paths.push_back(h.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"/echo/item-a", "/echo/item-b", "/echo/item-c"}));
    // trigger 1 + feeder 1 + one per item 3 + aggregator 1 + after it once 1.
    EXPECT_EQ(e.operations, 7);
    EXPECT_EQ(Modules(e), (std::vector<std::int64_t>{1, 2, 3, 3, 3, 4, 5}));
    auto created = OutputsOf(e, 5);
    ASSERT_EQ(created.size(), 1u);
    const json::value doc = json::parse(created[0].at(0).at("json").as_string());
    EXPECT_EQ(doc.at("count").as_int64(), 3);
    EXPECT_EQ(doc.at("all"), json::parse(R"([{"id": "a", "tag": "item-a", "index": 1},
                                              {"id": "b", "tag": "item-b", "index": 2},
                                              {"id": "c", "tag": "item-c", "index": 3}])"));
}

TEST_F(RunnerTest, FeederWithoutAggregatorRunsTheRestOfTheFlowPerItemAndARunawayIsStopped) {
    auto s = Scenario(R"({"name": "Iterate", "flow": [
      {"id": 1, "module": "builtin:BasicFeeder", "mapper": {"array": "{{var.input.list}}"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "double", "value": "{{1.value * 2}}"}},
      {"id": 3, "module": "util:SetVariable2", "mapper": {"name": "text", "value": "{{1.__IMTINDEX__}}/{{1.__IMTLENGTH__}}: {{2.double}}"}}
    ]})",
                      "", R"([{"name": "list", "type": "array"}])");
    auto e = Run(s, {{"list", json::array{1, 2, 3, 4}}});
    EXPECT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(e.operations, 1 + 4 + 4);
    std::vector<std::string> texts;
    for (const auto& out : OutputsOf(e, 3)) texts.emplace_back(out.at(0).at("text").as_string());
    EXPECT_EQ(texts, (std::vector<std::string>{"1/4: 2", "2/4: 4", "3/4: 6", "4/4: 8"}));

    // An empty array: the feeder runs (one operation) and nothing after it.
    auto empty = Run(s, {{"list", json::array{}}});
    EXPECT_EQ(Status(empty), "success");
    EXPECT_EQ(empty.operations, 1);

    // Past max_bundles module runs the run fails instead of running away.
    RunOptions small = FastRetries();
    small.max_bundles = 20;
    Runner runner(node_->catalog, node_->registry, *node_->connections, *node_->scenario_store, *node_->http, clock_,
                  node_->random, small);
    RunRequest req;
    req.team = team_;
    req.scenario = node_->scenarios->Compiled(Row(s)).value();
    req.inputs = json::object{{"list", json::array(100, json::value(1))}};
    RunResult r = runner.Run(req);
    EXPECT_EQ(r.status, ExecutionStatus::kError);
    EXPECT_EQ(r.error.type, "RuntimeError");
    EXPECT_LE(r.operations, 20);
}

// ---------------------------------------------------------------------------------------------------------------
// Error handlers

// Items 1..3 through /seq/h-<item>; item 2 answers 400. $HANDLER is the failing module's onerror.
constexpr const char* kHandlerFlow = R"({"name": "Handlers", "flow": [
  {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
  {"id": 2, "module": "builtin:BasicFeeder", "mapper": {"array": "{{1.items}}"}},
  {"id": 3, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/$PFX-{{2.value}}"}, "onerror": $HANDLER},
  {"id": 4, "module": "util:SetVariable2", "mapper": {"name": "after", "value": "{{2.value}}:{{3.statusCode}}:{{3.data.fallback}}"}}
], "metadata": {"scenario": {"dlq": $DLQ}}})";

class HandlerTest : public RunnerTest {
  protected:
    ScenarioView HandlerScenario(const std::string& prefix, const std::string& handler, bool dlq = false) {
        upstream_.Script(prefix + "-2", {Reply{400, R"({"error":"item 2 is invalid"})"}});
        return Scenario(kHandlerFlow, "", "",
                        {{"$HANDLER", handler}, {"$PFX", prefix}, {"$DLQ", dlq ? "true" : "false"}});
    }
    store::Execution RunItems(const ScenarioView& s) { return Run(s, {}, json::parse(R"({"items": [1, 2, 3]})")); }
    std::vector<std::string> After(const store::Execution& e) {
        std::vector<std::string> out;
        for (const auto& o : OutputsOf(e, 4)) out.emplace_back(o.at(0).at("after").as_string());
        return out;
    }
    std::vector<std::string> Paths() {
        std::vector<std::string> paths;
        for (const auto& h : upstream_.Hits()) paths.push_back(h.path);
        return paths;
    }
};

TEST_F(HandlerTest, IgnoreDropsTheBundleAndTheRunGoesOnWithTheOthers) {
    auto s = HandlerScenario("ign", R"([{"id": 9, "module": "builtin:Ignore"}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "success") << e.error_type << " " << e.error_message;
    EXPECT_EQ(Paths(), (std::vector<std::string>{"/seq/ign-1", "/seq/ign-2", "/seq/ign-3"}));
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:", "3:200:"}));
    EXPECT_EQ(e.operations, 1 + 1 + 3 + 2);
    // The failure is in the module's log entry.
    bool logged = false;
    for (const auto& entry : Log(e)) {
        if (entry.at("moduleId").as_int64() == 3 && entry.as_object().contains("error")) {
            EXPECT_EQ(entry.at("error").at("type").as_string(), "DataError");
            logged = true;
        }
    }
    EXPECT_TRUE(logged) << e.log_json;
}

TEST_F(HandlerTest, ResumeContinuesWithTheDirectivesFallbackOutput) {
    auto s = HandlerScenario(
        "res",
        R"([{"id": 9, "module": "builtin:Resume", "mapper": {"statusCode": 299, "data": {"fallback": "for {{2.value}}: {{error.type}}"}}}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:", "2:299:for 2: DataError", "3:200:"}));
    EXPECT_EQ(e.operations, 1 + 1 + 3 + 3);
}

TEST_F(HandlerTest, RollbackStopsTheRunWithError) {
    auto s = HandlerScenario("rb", R"([{"id": 9, "module": "builtin:Rollback"}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "DataError");
    EXPECT_EQ(e.error_module_id, 3);
    EXPECT_NE(e.error_message.find("item 2 is invalid"), std::string::npos) << e.error_message;
    EXPECT_EQ(Paths(), (std::vector<std::string>{"/seq/rb-1", "/seq/rb-2"}));
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:"}));
    EXPECT_EQ(e.operations, 1 + 1 + 2 + 1);

    // No handler at all behaves the same.
    auto plain = HandlerScenario("none", "[]");
    auto f = RunItems(plain);
    EXPECT_EQ(Status(f), "error");
    EXPECT_EQ(f.error_type, "DataError");
    EXPECT_EQ(f.error_module_id, 3);
    EXPECT_EQ(upstream_.HitsTo("/seq/none-3").size(), 0u);
}

TEST_F(HandlerTest, CommitStopsTheRunWithSuccess) {
    auto s = HandlerScenario("cm", R"([{"id": 9, "module": "builtin:Commit"}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "success");
    EXPECT_EQ(Paths(), (std::vector<std::string>{"/seq/cm-1", "/seq/cm-2"}));
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:"}));
}

TEST_F(HandlerTest, HandlerModulesRunBeforeTheDirectiveWithTheError) {
    auto s = HandlerScenario("hm", R"([
      {"id": 8, "module": "http:ActionSendData", "mapper": {"url": "$U/echo/alert", "method": "post",
                                                             "data": "{{2.value}} failed: {{error.message}}"}},
      {"id": 9, "module": "builtin:Ignore"}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "success");
    auto alerts = upstream_.HitsTo("/echo/alert");
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_NE(alerts[0].body.find("2 failed: [400]"), std::string::npos) << alerts[0].body;
    EXPECT_EQ(e.operations, 1 + 1 + 3 + 1 + 2);
}

TEST_F(HandlerTest, BreakStoresAnIncompleteExecutionThatResumesAtTheFailingModule) {
    auto s = HandlerScenario(
        "brk", R"([{"id": 9, "module": "builtin:Break", "parameters": {"retry": true, "count": 2, "interval": 5}}])");
    const std::int64_t started = clock_.NowMillis();
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "warning");
    EXPECT_EQ(e.error_type, "DataError");
    EXPECT_EQ(e.error_module_id, 3);
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:", "3:200:"}));
    auto all = Executions(s);
    ASSERT_EQ(all.size(), 2u);
    const store::Execution& retry = all[0];  // newest first
    EXPECT_EQ(retry.trigger, "retry");
    EXPECT_EQ(Status(retry), "queued");
    EXPECT_EQ(retry.not_before, started + 5 * 60'000);

    // Not before its time.
    upstream_.Clear();
    clock_.Advance(4min);
    EXPECT_EQ(node_->executor->WorkerPass(), 0);
    clock_.Advance(61s);
    ASSERT_EQ(node_->executor->WorkerPass(), 1);
    auto done = node_->scenario_store->GetExecution(team_, retry.id).value();
    EXPECT_EQ(Status(done), "success") << done.error_type << " " << done.error_message;
    // Only the failing module (with the stored bundle: item 2) and what follows it ran again.
    EXPECT_EQ(Modules(done), (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(done.operations, 2);
    EXPECT_EQ(After(done), (std::vector<std::string>{"2:200:"}));
    EXPECT_EQ(Paths(), (std::vector<std::string>{"/seq/brk-2"}));
    EXPECT_EQ(Executions(s).size(), 2u);
}

TEST_F(HandlerTest, BreakRetriesUpToItsCountThenKeepsTheExecutionIncomplete) {
    upstream_.SetDefault("bk-2", Reply{400, R"({"error":"still invalid"})"});
    auto s = HandlerScenario(
        "bk", R"([{"id": 9, "module": "builtin:Break", "parameters": {"retry": true, "count": 2, "interval": 1}}])");
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "warning");
    for (int i = 0; i < 5; ++i) {
        clock_.Advance(61s);
        node_->executor->WorkerPass();
    }
    // The first run, two automatic retries, and the kept incomplete execution.
    auto all = Executions(s);
    std::map<std::string, int> by_status;
    for (const auto& x : all) ++by_status[Status(x)];
    EXPECT_EQ(upstream_.HitsTo("/seq/bk-2").size(), 3u);
    EXPECT_EQ(by_status["incomplete"], 1) << all.size();
    EXPECT_EQ(by_status["queued"], 0);
    for (const auto& x : all) {
        if (x.status == ExecutionStatus::kIncomplete) {
            EXPECT_EQ(x.error_type, "DataError");
            EXPECT_EQ(x.error_module_id, 3);
        }
    }
}

TEST_F(HandlerTest, BreakInsideARouteResumesOnlyThatRoute) {
    upstream_.Script("route-b", {Reply{500, "{}"}, Reply{500, "{}"}, Reply{500, "{}"}});
    auto s = Scenario(R"({"name": "Break in a route", "flow": [
      {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "start", "value": "go"}},
      {"id": 2, "module": "builtin:BasicRouter", "routes": [
        {"flow": [{"id": 3, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/route-a"}}]},
        {"flow": [{"id": 4, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/route-b"},
                   "onerror": [{"id": 9, "module": "builtin:Break", "parameters": {"count": 1, "interval": 1}}]},
                  {"id": 5, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/route-b-after-{{1.start}}"}}]},
        {"flow": [{"id": 6, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/route-c"}}]}
      ]}
    ]})");
    auto e = Run(s);
    EXPECT_EQ(Status(e), "warning");
    EXPECT_EQ(e.error_type, "ConnectionError");  // after the in-run retries
    EXPECT_EQ(upstream_.HitsTo("/seq/route-b").size(), 3u);
    EXPECT_EQ(upstream_.HitsTo("/seq/route-c").size(), 1u);
    upstream_.Clear();
    clock_.Advance(61s);
    ASSERT_EQ(node_->executor->WorkerPass(), 1);
    std::vector<std::string> paths;
    for (const auto& h : upstream_.Hits()) paths.push_back(h.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"/seq/route-b", "/seq/route-b-after-go"}));
}

TEST_F(HandlerTest, AResumedExecutionFindsItsModuleByIdAfterTheBlueprintChanged) {
    auto s = HandlerScenario(
        "chg", R"([{"id": 9, "module": "builtin:Break", "parameters": {"retry": true, "count": 1, "interval": 1}}])");
    auto e = RunItems(s);
    ASSERT_EQ(Status(e), "warning");
    // The user inserts a module before the failing one. The retry must still start at module 3, not at whatever
    // now sits at its old position (which would run module 2 again).
    ScenarioChange change;
    change.blueprint = json::parse(Fill(kHandlerFlow, {{"$HANDLER", R"([{"id": 9, "module": "builtin:Break"}])"},
                                                       {"$PFX", "chg"},
                                                       {"$DLQ", "false"},
                                                       {"$U", upstream_.Url("")}}));
    auto& flow = change.blueprint->as_object()["flow"].as_array();
    flow.insert(flow.begin() + 1,
                json::parse(R"({"id": 7, "module": "util:SetVariable2", "mapper": {"name": "new", "value": "1"}})"));
    ASSERT_TRUE(node_->scenarios->Update(caller_, s.row.id, change));
    upstream_.Clear();
    clock_.Advance(61s);
    ASSERT_EQ(node_->executor->WorkerPass(), 1);
    auto retried = Executions(s).front();
    EXPECT_EQ(Status(retried), "success") << retried.error_type << " " << retried.error_message;
    EXPECT_EQ(Modules(retried), (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(upstream_.HitsTo("/seq/chg-2").size(), 1u);

    // A module that is gone: the retry fails and says so, instead of resuming somewhere else.
    upstream_.Script("chg-2", {Reply{400, R"({"error":"item 2 is invalid"})"}});
    auto e2 = RunItems(s);
    ASSERT_EQ(Status(e2), "warning");
    change.blueprint = json::parse(R"({"name": "Handlers", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "builtin:BasicFeeder", "mapper": {"array": "{{1.items}}"}},
      {"id": 4, "module": "util:SetVariable2", "mapper": {"name": "after", "value": "{{2.value}}"}}]})");
    ASSERT_TRUE(node_->scenarios->Update(caller_, s.row.id, change));
    clock_.Advance(16min);  // the default Break interval
    ASSERT_EQ(node_->executor->WorkerPass(), 1);
    auto gone = Executions(s).front();
    EXPECT_EQ(Status(gone), "error");
    EXPECT_EQ(gone.error_type, "InvalidConfigurationError");
    EXPECT_TRUE(Modules(gone).empty());
}

TEST_F(HandlerTest, WithoutHandlerDlqKeepsTheFailedBundleAsAnIncompleteExecution) {
    auto s = HandlerScenario("dlq", "[]", true);
    auto e = RunItems(s);
    EXPECT_EQ(Status(e), "warning");
    EXPECT_EQ(After(e), (std::vector<std::string>{"1:200:", "3:200:"}));
    auto all = Executions(s);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(Status(all[0]), "incomplete");
    EXPECT_EQ(all[0].error_type, "DataError");
    EXPECT_EQ(all[0].error_module_id, 3);
    const json::value input = json::parse(all[0].input_json);
    EXPECT_EQ(input.at("resume").at("moduleId").as_int64(), 3);
    EXPECT_EQ(input.at("resume").at("root").at("2").at("value").as_int64(), 2);
    // Nothing runs it automatically.
    clock_.Advance(24h);
    EXPECT_EQ(node_->executor->WorkerPass(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Retries and error types

constexpr const char* kOneCall = R"({"name": "One call", "flow": [
  {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $CONN},
   "mapper": {"url": "$U/seq/$NAME"}, "onerror": $HANDLER}]})";

class RetryTest : public RunnerTest {
  protected:
    store::Execution CallOnce(const std::string& name, const std::string& handler = "[]") {
        const std::int64_t conn = conn_ ? conn_ : (conn_ = HeaderKeyConnection());
        auto s = Scenario(kOneCall, "", "", {{"$CONN", std::to_string(conn)}, {"$NAME", name}, {"$HANDLER", handler}});
        return Run(s);
    }
    std::int64_t conn_ = 0;
};

TEST_F(RetryTest, AServerErrorIsRetriedAndTheSecondTrySucceeds) {
    upstream_.Script("flaky", {Reply{500, R"({"error":"oops"})"}});
    auto e = CallOnce("flaky");
    EXPECT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(upstream_.HitsTo("/seq/flaky").size(), 2u);
    EXPECT_EQ(e.operations, 1);
}

TEST_F(RetryTest, RateLimitWaitsForRetryAfter) {
    upstream_.Script("limited", {Reply{429, R"({"error":"slow down"})", {{"retry-after", "1"}}}});
    auto e = CallOnce("limited");
    EXPECT_EQ(Status(e), "success") << e.error_message;
    auto hits = upstream_.HitsTo("/seq/limited");
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_GE(hits[1].at - hits[0].at, 950ms);
}

TEST_F(RetryTest, ARetryAfterBeyondTheInlineLimitIsNotWaitedForEvenWhenItOverflows) {
    // 18446744073709552 s: multiplied into milliseconds it wraps around 2^64 to a few hundred ms.
    upstream_.Script("forever", {Reply{429, "{}", {{"retry-after", "18446744073709552"}}}});
    auto e = CallOnce("forever");
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "RateLimitError");
    EXPECT_EQ(upstream_.HitsTo("/seq/forever").size(), 1u);
    upstream_.Script("later", {Reply{429, "{}", {{"retry-after", "3600"}}}});
    auto f = CallOnce("later");
    EXPECT_EQ(f.error_type, "RateLimitError");
    EXPECT_EQ(upstream_.HitsTo("/seq/later").size(), 1u);
}

TEST_F(RetryTest, ExhaustedRetriesEndWithConnectionError) {
    upstream_.SetDefault("down", Reply{503, R"({"error":"down"})"});
    auto e = CallOnce("down");
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "ConnectionError");
    EXPECT_EQ(e.error_module_id, 1);
    EXPECT_EQ(upstream_.HitsTo("/seq/down").size(), 3u);
}

TEST_F(RetryTest, ABadRequestIsADataErrorWithoutRetry) {
    upstream_.SetDefault("bad", Reply{400, R"({"error":"bad"})"});
    auto e = CallOnce("bad");
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "DataError");
    EXPECT_EQ(upstream_.HitsTo("/seq/bad").size(), 1u);
}

TEST_F(RetryTest, AccountValidationErrorIsNotCaughtByAHandler) {
    upstream_.SetDefault("unauth", Reply{401, R"({"error":"invalid key"})"});
    auto ignored = CallOnce("unauth", R"([{"id": 9, "module": "builtin:Ignore"}])");
    EXPECT_EQ(Status(ignored), "error");
    EXPECT_EQ(ignored.error_type, "AccountValidationError");
    EXPECT_EQ(ignored.error_module_id, 1);
    auto resumed = CallOnce("unauth", R"([{"id": 9, "module": "builtin:Resume", "mapper": {"x": 1}}])");
    EXPECT_EQ(resumed.error_type, "AccountValidationError");
    auto broken = CallOnce("unauth", R"([{"id": 9, "module": "builtin:Break"}])");
    EXPECT_EQ(broken.error_type, "AccountValidationError");
    EXPECT_EQ(Status(broken), "error");
    EXPECT_EQ(upstream_.HitsTo("/seq/unauth").size(), 3u);  // once per run, never retried

    // The run stops: later bundles do not run.
    auto s = Scenario(R"({"name": "Stops", "flow": [
      {"id": 1, "module": "builtin:BasicFeeder", "mapper": {"array": "{{var.input.list}}"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $CONN},
       "mapper": {"url": "$U/seq/unauth-{{1.value}}"}, "onerror": [{"id": 9, "module": "builtin:Ignore"}]}]})",
                      "", R"([{"name": "list", "type": "array"}])", {{"$CONN", std::to_string(conn_)}});
    upstream_.SetDefault("unauth-1", Reply{401, "{}"});
    auto e = Run(s, {{"list", json::array{1, 2}}});
    EXPECT_EQ(e.error_type, "AccountValidationError");
    EXPECT_EQ(upstream_.HitsTo("/seq/unauth-2").size(), 0u);
}

TEST_F(RetryTest, ConnectionProblemsEndTheRunBeforeAnyRequest) {
    const std::int64_t tapp = TappConnection();  // granted: read
    auto s = Scenario(R"({"name": "Needs write", "flow": [
      {"id": 1, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/first"}},
      {"id": 2, "module": "tapp:writeThing", "parameters": {"__IMTCONN__": $TAPP}}]})",
                      "", "", {{"$TAPP", std::to_string(tapp)}});
    upstream_.Clear();
    auto e = Run(s);
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "AccountValidationError");
    EXPECT_EQ(e.error_module_id, 2);
    EXPECT_NE(e.error_message.find("write"), std::string::npos) << e.error_message;
    EXPECT_EQ(e.operations, 0);
    EXPECT_TRUE(upstream_.Hits().empty());

    // A deleted connection: the same, before module 1 runs.
    auto s2 = Scenario(R"({"name": "Deleted", "flow": [
      {"id": 1, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/first"}},
      {"id": 2, "module": "tapp:getThing", "parameters": {"__IMTCONN__": $TAPP}, "mapper": {"name": "x"}}]})",
                       "", "", {{"$TAPP", std::to_string(tapp)}});
    ASSERT_TRUE(node_->connections->Delete(caller_, core::ConnectionId(tapp), true));
    auto f = Run(s2);
    EXPECT_EQ(f.error_type, "AccountValidationError");
    EXPECT_TRUE(upstream_.Hits().empty());
}

// ---------------------------------------------------------------------------------------------------------------
// The http app's connection types, and Make-an-API-call

TEST_F(RunnerTest, SendDataCarriesEachHttpConnectionTypesCredential) {
    const std::int64_t basic =
        Connection("http-basic", json::object{{"username", "ana"}, {"password", kBasicPassword}}, "basic");
    const std::int64_t header = HeaderKeyConnection();
    const std::int64_t query = Connection(
        "http-apikey", json::object{{"apiKey", kQueryKey}, {"apiKeyIn", "query"}, {"apiKeyName", "api_key"}}, "query");
    const std::int64_t bearer = Connection("http-bearer", json::object{{"token", kBearer}}, "bearer");
    auto s = Scenario(R"({"name": "Credentials", "flow": [
      {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $B}, "mapper": {"url": "$U/echo/basic"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $H}, "mapper": {"url": "$U/echo/header"}},
      {"id": 3, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $Q},
       "mapper": {"url": "$U/echo/query", "qs": [{"name": "page", "value": "2"}]}},
      {"id": 4, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $T},
       "mapper": {"url": "$U/echo/bearer", "method": "post", "data": {"x": "{{1.statusCode}}"},
                  "headers": [{"name": "X-Extra", "value": "yes"}]}}]})",
                      "", "",
                      {{"$B", std::to_string(basic)},
                       {"$H", std::to_string(header)},
                       {"$Q", std::to_string(query)},
                       {"$T", std::to_string(bearer)}});
    auto e = Run(s);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(e.operations, 4);
    auto hits = upstream_.Hits();
    ASSERT_EQ(hits.size(), 4u);
    EXPECT_EQ(hits[0].Header("authorization"), "Basic " + core::Base64Encode(std::string("ana:") + kBasicPassword));
    EXPECT_EQ(hits[1].Header("x-key"), kHeaderKey);
    EXPECT_EQ(hits[1].Header("authorization"), "");
    EXPECT_EQ(hits[2].Query("api_key"), kQueryKey);
    EXPECT_EQ(hits[2].Query("page"), "2");
    EXPECT_EQ(hits[3].Header("authorization"), std::string("Bearer ") + kBearer);
    EXPECT_EQ(hits[3].Header("x-extra"), "yes");
    EXPECT_EQ(hits[3].method, "POST");
    EXPECT_EQ(json::parse(hits[3].body), json::parse(R"({"x": 200})"));
    // The echoed credentials reached module outputs; the log shows them masked (TearDown scans every log).
    EXPECT_NE(e.log_json.find("[redacted]"), std::string::npos);
    // The log records which connection each module used.
    auto log = Log(e);
    EXPECT_EQ(log[0].at("connectionId").as_int64(), basic);
    EXPECT_EQ(log[3].at("connectionId").as_int64(), bearer);
}

TEST_F(RunnerTest, MakeAnApiCallSendsTheBaseHeadersWithTheCredentialAndRefusesOtherHosts) {
    const std::int64_t tapp = TappConnection();
    auto s = Scenario(R"({"name": "API call", "flow": [
      {"id": 1, "module": "tapp:makeApiCall", "parameters": {"__IMTCONN__": $TAPP},
       "mapper": {"url": "/echo/custom", "method": "PUT", "headers": [{"key": "X-Extra", "value": "1"}],
                  "qs": [{"key": "q", "value": "v w"}], "body": "{\"a\": 1}"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "got", "value": "{{1.statusCode}} {{1.body.method}} {{1.body.query.q}}"}}]})",
                      "", "", {{"$TAPP", std::to_string(tapp)}});
    upstream_.Clear();
    auto e = Run(s);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    auto hits = upstream_.HitsTo("/echo/custom");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].Header("x-api-key"), kTappKey);
    EXPECT_EQ(hits[0].Header("x-extra"), "1");
    EXPECT_EQ(hits[0].Query("q"), "v w");
    EXPECT_EQ(hits[0].method, "PUT");
    EXPECT_EQ(json::parse(hits[0].body), json::parse(R"({"a": 1})"));
    EXPECT_EQ(OutputsOf(e, 2).at(0).at(0).at("got").as_string(), "200 PUT v w");

    for (const std::string& url : {upstream_.Url("/echo/evil"), std::string("echo/evil")}) {
        auto bad = Scenario(R"({"name": "Absolute", "flow": [
          {"id": 1, "module": "tapp:makeApiCall", "parameters": {"__IMTCONN__": $TAPP}, "mapper": {"url": "$URL"}}]})",
                            "", "", {{"$TAPP", std::to_string(tapp)}, {"$URL", url}});
        upstream_.Clear();
        auto f = Run(bad);
        EXPECT_EQ(Status(f), "error") << url;
        EXPECT_EQ(f.error_type, "BundleValidationError") << url;
        EXPECT_TRUE(upstream_.Hits().empty()) << url;
    }

    // The app's own module sends the key too.
    auto own = Scenario(R"({"name": "Module", "flow": [
      {"id": 1, "module": "tapp:getThing", "parameters": {"__IMTCONN__": $TAPP}, "mapper": {"name": "thing"}}]})",
                        "", "", {{"$TAPP", std::to_string(tapp)}});
    upstream_.Clear();
    auto g = Run(own);
    EXPECT_EQ(Status(g), "success") << g.error_message;
    ASSERT_EQ(upstream_.HitsTo("/seq/thing").size(), 1u);
    EXPECT_EQ(upstream_.HitsTo("/seq/thing")[0].Header("x-api-key"), kTappKey);
    EXPECT_EQ(OutputsOf(g, 1).at(0).at(0).at("name").as_string(), "thing");
}

// ---------------------------------------------------------------------------------------------------------------
// json, util and gateway modules

TEST_F(RunnerTest, JsonAndVariableModules) {
    auto s = Scenario(R"({"name": "JSON", "flow": [
      {"id": 1, "module": "json:ParseJSON", "mapper": {"json": "{\"a\": {\"b\": [10, 20]}, \"name\": \"x\"}"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "second", "value": "{{1.a.b[2]}}"}},
      {"id": 3, "module": "json:ParseJSON", "mapper": {"json": "[{\"n\": 1}, {\"n\": 2}, 3]"}},
      {"id": 4, "module": "json:CreateJSON", "mapper": {"name": "{{1.name}}", "second": "{{2.second}}", "n": "{{3.n}}", "v": "{{3.value}}"}}
    ]})");
    auto e = Run(s);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(OutputsOf(e, 2).at(0).at(0).at("second").as_int64(), 20);
    EXPECT_EQ(OutputsOf(e, 3).at(0).size(), 3u);
    std::vector<json::value> created;
    for (const auto& out : OutputsOf(e, 4)) created.push_back(json::parse(out.at(0).at("json").as_string()));
    ASSERT_EQ(created.size(), 3u);
    EXPECT_EQ(created[0], json::parse(R"({"name": "x", "second": 20, "n": 1, "v": null})"));
    EXPECT_EQ(created[2], json::parse(R"({"name": "x", "second": 20, "n": null, "v": 3})"));
    EXPECT_EQ(e.operations, 1 + 1 + 1 + 3);

    auto bad = Scenario(R"({"name": "Bad JSON", "flow": [
      {"id": 1, "module": "json:ParseJSON", "mapper": {"json": "{not json"}}]})");
    auto f = Run(bad);
    EXPECT_EQ(Status(f), "error");
    EXPECT_EQ(f.error_type, "DataError");
}

TEST_F(RunnerTest, WebhookRespondSetsStatusHeadersAndBody) {
    auto s = Scenario(R"({"name": "Respond", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "gateway:WebhookRespond",
       "mapper": {"status": "201", "body": "{\"got\": {{1.x}}}",
                  "headers": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Run", "value": "yes"}]}}
    ]})");
    ASSERT_FALSE(s.row.hook_token.empty());
    // Inactive: refused.
    EXPECT_FALSE(node_->executor->HandleWebhook(s.row.hook_token, json::parse(R"({"x": 1})")));
    ASSERT_TRUE(node_->scenarios->Start(caller_, s.row.id));
    auto answer = node_->executor->HandleWebhook(s.row.hook_token, json::parse(R"({"x": 41})"));
    ASSERT_TRUE(answer) << answer.error().detail;
    EXPECT_EQ(answer->status, 201);
    EXPECT_EQ(answer->content_type, "application/json");
    EXPECT_EQ(answer->headers, (std::vector<std::pair<std::string, std::string>>{{"X-Run", "yes"}}));
    EXPECT_EQ(json::parse(answer->body), json::parse(R"({"got": 41})"));
    auto runs = Executions(s);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].operations, 2);
    EXPECT_EQ(runs[0].trigger, "webhook");

    auto broken = Scenario(R"({"name": "Bad status", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "gateway:WebhookRespond", "mapper": {"status": "abc", "body": "x"}}]})");
    ASSERT_TRUE(node_->scenarios->Start(caller_, broken.row.id));
    auto failed = node_->executor->HandleWebhook(broken.row.hook_token, json::object{});
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status, 500);
    EXPECT_EQ(Executions(broken).at(0).error_type, "BundleValidationError");
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario inputs

TEST_F(RunnerTest, InputsReachTheMappingAndARequiredOneIsCheckedBeforeTheRun) {
    auto s = Scenario(R"({"name": "Inputs", "flow": [
      {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "who", "value": "{{var.input.customer}}-{{var.input.limit}}"}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "limit", "value": "{{var.input.limit + 1}}"}}]})",
                      "",
                      R"([{"name": "customer", "type": "text", "required": true},
                          {"name": "limit", "type": "number", "default": 10}])");
    auto e = Run(s, {{"customer", "acme"}});
    ASSERT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(OutputsOf(e, 1).at(0).at(0).at("who").as_string(), "acme-10");
    auto f = Run(s, {{"customer", "acme"}, {"limit", "12"}});
    EXPECT_EQ(OutputsOf(f, 2).at(0).at(0).at("limit").as_int64(), 13);

    auto missing = node_->executor->RunOnce(Row(s), json::object{{"limit", 3}}, std::nullopt, true);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::kInvalidArgument);
    EXPECT_NE(missing.error().detail.find("customer"), std::string::npos) << missing.error().detail;
    auto wrong =
        node_->executor->RunOnce(Row(s), json::object{{"customer", "x"}, {"limit", "many"}}, std::nullopt, true);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().detail.find("limit"), std::string::npos);
    EXPECT_EQ(Executions(s).size(), 2u);  // the refused runs left no execution
}

// ---------------------------------------------------------------------------------------------------------------
// Confidential scenarios and secrets

TEST_F(RunnerTest, ConfidentialScenarioKeepsNoModuleDataInTheLog) {
    const std::int64_t conn = HeaderKeyConnection();
    auto s = Scenario(R"({"name": "Confidential", "flow": [
      {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "patient", "value": "Jane Roe, diagnosis X"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $C},
       "mapper": {"url": "$U/echo/c", "method": "post", "data": "{{1.patient}}"}}],
      "metadata": {"scenario": {"confidential": true}}})",
                      "", "", {{"$C", std::to_string(conn)}});
    auto e = Run(s);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(upstream_.HitsTo("/echo/c").at(0).body, "Jane Roe, diagnosis X");
    auto log = Log(e);
    ASSERT_EQ(log.size(), 2u);
    for (const auto& entry : log) {
        EXPECT_FALSE(entry.as_object().contains("input")) << entry;
        EXPECT_FALSE(entry.as_object().contains("output")) << entry;
        EXPECT_FALSE(entry.as_object().contains("requests")) << entry;
    }
    EXPECT_EQ(e.log_json.find("Jane Roe"), std::string::npos);
    EXPECT_EQ(e.operations, 2);
}

TEST_F(RunnerTest, SecretsWithJsonAndUrlSpecialsStayOutOfTheLog) {
    const std::int64_t header = HeaderKeyConnection(kOddKey);
    const std::int64_t query = Connection(
        "http-apikey", json::object{{"apiKey", kOddKey}, {"apiKeyIn", "query"}, {"apiKeyName", "k"}}, "odd query");
    upstream_.SetDefault("reflect",
                         Reply{400, json::serialize(json::object{{"error", std::string("bad key ") + kOddKey}})});
    auto s = Scenario(R"({"name": "Odd secrets", "flow": [
      {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $H}, "mapper": {"url": "$U/echo/h"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $Q}, "mapper": {"url": "$U/echo/q"}},
      {"id": 3, "module": "util:SetVariable2", "mapper": {"name": "copied", "value": "{{1.data.headers.`x-key`}}"}},
      {"id": 4, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $H}, "mapper": {"url": "$U/seq/reflect"}}]})",
                      "", "", {{"$H", std::to_string(header)}, {"$Q", std::to_string(query)}});
    auto e = Run(s);
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "DataError");
    EXPECT_EQ(upstream_.HitsTo("/echo/h").at(0).Header("x-key"), kOddKey);
    EXPECT_EQ(upstream_.HitsTo("/echo/q").at(0).Query("k"), kOddKey);
    // The variable really held the secret (so the log had something to hide); TearDown checks every log.
    EXPECT_NE(e.log_json.find("[redacted]"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Scheduling

constexpr const char* kScheduled = R"({"name": "Scheduled", "flow": [
  {"id": 1, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/$NAME"}}],
  "metadata": {"scenario": {"maxErrors": $MAX}}})";

TEST_F(RunnerTest, TwoNodesSchedulerPassesStartEachDueRunOnce) {
    auto s =
        Scenario(kScheduled, R"({"type": "indefinitely", "interval": 60})", "", {{"$NAME", "tick"}, {"$MAX", "3"}});
    ASSERT_TRUE(node_->scenarios->Start(caller_, s.row.id));
    const std::int64_t first = Row(s).next_run_at.value();
    EXPECT_EQ(first, clock_.NowMillis() + 60'000);
    auto other = NewNode("node-b");

    EXPECT_EQ(node_->executor->SchedulerPass() + other->executor->SchedulerPass(), 0);  // not due yet
    for (int tick = 1; tick <= 3; ++tick) {
        clock_.Advance(61s);
        const std::int64_t before = Row(s).next_run_at.value();
        int started_a = 0, started_b = 0;
        std::thread a([&] { started_a = node_->executor->SchedulerPass(); });
        std::thread b([&] { started_b = other->executor->SchedulerPass(); });
        a.join();
        b.join();
        EXPECT_EQ(started_a + started_b, 1) << "tick " << tick;
        const std::int64_t after = Row(s).next_run_at.value();
        EXPECT_GT(after, before);
        EXPECT_EQ(after, clock_.NowMillis() + 60'000);
        // Both nodes' workers: the one queued run runs once.
        EXPECT_EQ(node_->executor->WorkerPass() + other->executor->WorkerPass(), 1);
        EXPECT_EQ(node_->executor->WorkerPass() + other->executor->WorkerPass(), 0);
    }
    auto runs = Executions(s);
    ASSERT_EQ(runs.size(), 3u);
    for (const auto& r : runs) {
        EXPECT_EQ(Status(r), "success");
        EXPECT_EQ(r.trigger, "schedule");
    }
    EXPECT_EQ(upstream_.HitsTo("/seq/tick").size(), 3u);
}

TEST_F(RunnerTest, MaxErrorsConsecutiveFailuresTurnSchedulingOffAndASuccessResetsTheCount) {
    auto s =
        Scenario(kScheduled, R"({"type": "indefinitely", "interval": 60})", "", {{"$NAME", "sched"}, {"$MAX", "2"}});
    ASSERT_TRUE(node_->scenarios->Start(caller_, s.row.id));
    auto tick = [&](int status) {
        upstream_.SetDefault("sched", Reply{status, "{}"});
        clock_.Advance(61s);
        EXPECT_EQ(node_->executor->SchedulerPass(), 1);
        EXPECT_EQ(node_->executor->WorkerPass(), 1);
    };
    tick(400);
    EXPECT_EQ(Row(s).consecutive_errors, 1);
    tick(200);
    EXPECT_EQ(Row(s).consecutive_errors, 0);
    EXPECT_TRUE(Row(s).active);
    tick(400);
    EXPECT_TRUE(Row(s).active);
    tick(404);
    const store::Scenario row = Row(s);
    EXPECT_FALSE(row.active);
    EXPECT_TRUE(row.invalid);
    EXPECT_FALSE(row.next_run_at.has_value());
    EXPECT_NE(row.invalid_reason.find("2 consecutive"), std::string::npos) << row.invalid_reason;
    EXPECT_NE(row.invalid_reason.find("DataError"), std::string::npos) << row.invalid_reason;
    clock_.Advance(10min);
    EXPECT_EQ(node_->executor->SchedulerPass(), 0);
    EXPECT_EQ(Executions(s).size(), 4u);
    // Starting it again clears the state.
    ASSERT_TRUE(node_->scenarios->Start(caller_, s.row.id));
    EXPECT_FALSE(Row(s).invalid);
    EXPECT_EQ(Row(s).consecutive_errors, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials: resolved once per run

TEST_F(RunnerTest, AnEditDuringARunDoesNotMixKeysAndTheNextRunUsesTheNewOne) {
    const std::int64_t conn = HeaderKeyConnection(kHeaderKey);
    auto s = Scenario(R"({"name": "Mix", "flow": [
      {"id": 1, "module": "builtin:BasicFeeder", "mapper": {"array": "{{var.input.list}}"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $C},
       "mapper": {"url": "$U/seq/mix-{{1.value}}"}}]})",
                      "", R"([{"name": "list", "type": "array"}])", {{"$C", std::to_string(conn)}});
    // The first request of the run triggers an edit of the connection (committed before the upstream answers).
    std::atomic<bool> edited{false};
    std::string edit_error;
    upstream_.OnHit([&](const Hit& h) {
        if (h.path != "/seq/mix-1" || edited.exchange(true)) return;
        auto r = node_->connections->SetData(
            caller_, core::ConnectionId(conn),
            json::object{{"apiKey", kTappKeyNew}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Key"}});
        if (!r) edit_error = r.error().detail;
    });
    auto e = Run(s, {{"list", json::array{1, 2, 3}}});
    upstream_.OnHit(nullptr);
    ASSERT_TRUE(edited);
    ASSERT_EQ(edit_error, "");
    EXPECT_EQ(Status(e), "success") << e.error_message;
    auto hits = upstream_.Hits();
    ASSERT_EQ(hits.size(), 3u);
    for (const auto& h : hits) EXPECT_EQ(h.Header("x-key"), kHeaderKey) << h.path;

    upstream_.Clear();
    auto f = Run(s, {{"list", json::array{1, 2}}});
    EXPECT_EQ(Status(f), "success");
    hits = upstream_.Hits();
    ASSERT_EQ(hits.size(), 2u);
    for (const auto& h : hits) EXPECT_EQ(h.Header("x-key"), kTappKeyNew) << h.path;
}

// ---------------------------------------------------------------------------------------------------------------
// Polling triggers

TEST_F(RunnerTest, PollingTriggerEmitsEachItemOnceAndAFailedRunReadsItsItemsAgain) {
    const std::int64_t tapp = TappConnection();
    auto list = [&](const std::string& ids) {
        json::array items;
        const json::value parsed = json::parse(ids);
        for (const auto& id : parsed.as_array()) items.push_back(json::object{{"id", id}});
        upstream_.SetDefault("list", Reply{200, json::serialize(json::object{{"items", items}})});
    };
    auto s = Scenario(R"({"name": "Watch", "flow": [
      {"id": 1, "module": "tapp:watchThings", "parameters": {"__IMTCONN__": $TAPP, "limit": 2}},
      {"id": 2, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/after-{{1.id}}"}}]})",
                      "", "", {{"$TAPP", std::to_string(tapp)}});
    auto seen = [&](const store::Execution& e) {
        std::vector<std::int64_t> ids;
        for (const auto& out : OutputsOf(e, 1)) {
            for (const auto& b : out) ids.push_back(b.at("id").to_number<std::int64_t>());
        }
        return ids;
    };
    list("[3, 1, 2]");
    auto e1 = Run(s);
    ASSERT_EQ(Status(e1), "success") << e1.error_message;
    EXPECT_EQ(seen(e1), (std::vector<std::int64_t>{1, 2}));  // oldest first, at most limit
    EXPECT_EQ(e1.operations, 1 + 2);                         // a trigger check costs one, however many items
    auto e2 = Run(s);
    EXPECT_EQ(seen(e2), (std::vector<std::int64_t>{3}));
    auto e3 = Run(s);
    EXPECT_TRUE(seen(e3).empty());
    EXPECT_EQ(e3.operations, 1);

    // 9 and 10 compare as numbers; a run that fails is rolled back and its items come again.
    list("[1, 2, 3, 10, 9]");
    upstream_.Script("after-10", {Reply{400, "{}"}});
    auto e4 = Run(s);
    EXPECT_EQ(Status(e4), "error");
    EXPECT_EQ(seen(e4), (std::vector<std::int64_t>{9, 10}));
    // Another node (a restart) reads the same cursor.
    auto other = NewNode("node-b");
    auto e5 = other->executor->RunOnce(Row(s), {}, std::nullopt, true);
    ASSERT_TRUE(e5);
    EXPECT_EQ(Status(*e5), "success") << e5->error_message;
    EXPECT_EQ(seen(*e5), (std::vector<std::int64_t>{9, 10}));
    EXPECT_TRUE(seen(Run(s)).empty());
    EXPECT_EQ(upstream_.HitsTo("/seq/after-9").size(), 2u);
    EXPECT_EQ(upstream_.HitsTo("/seq/after-3").size(), 1u);
}

// ---------------------------------------------------------------------------------------------------------------
// OAuth: a token refused with 401 is refreshed and the request sent once more

class OAuthTest : public RunnerTest {
  protected:
    std::int64_t OAuthConnection() {
        upstream_.Script("token", {Reply{200, json::serialize(json::object{{"access_token", kAccess1},
                                                                           {"refresh_token", kRefresh},
                                                                           {"expires_in", 3600},
                                                                           {"token_type", "Bearer"}})}});
        connections::CreateInput in;
        in.name = "oauth";
        in.type = "http-oauth2";
        in.parameters = json::object{{"authorizeUri", upstream_.Url("/echo/authorize")},
                                     {"tokenUri", upstream_.Url("/seq/token")},
                                     {"clientId", "client-1"},
                                     {"clientSecret", kClientSecret}};
        auto view = node_->connections->Create(caller_, team_, in);
        EXPECT_TRUE(view) << (view ? "" : view.error().detail);
        if (!view) return 0;
        const std::string& url = view->authorize_url;
        const auto at = url.find("state=");
        EXPECT_NE(at, std::string::npos) << url;
        std::string state = url.substr(at + 6);
        state = state.substr(0, state.find('&'));
        auto done = node_->connections->CompleteConsent("http", json::object{{"code", "code-1"}, {"state", state}});
        EXPECT_TRUE(done.ok) << done.message;
        return view->row.id.value();
    }
    static std::string RefreshToken(const Hit& h) {
        const auto at = h.body.find("refresh_token=");
        if (at == std::string::npos) return "";
        std::string v = h.body.substr(at + 14);
        return v.substr(0, v.find('&'));
    }
};

TEST_F(OAuthTest, ARefusedTokenIsRefreshedOnceAndTheRequestRetried) {
    const std::int64_t conn = OAuthConnection();
    ASSERT_GT(conn, 0);
    ASSERT_EQ(upstream_.HitsTo("/seq/token").size(), 1u);
    upstream_.Script("token",
                     {Reply{200, json::serialize(json::object{{"access_token", kAccess2}, {"expires_in", 3600}})},
                      Reply{200, json::serialize(json::object{{"access_token", kAccess3}, {"expires_in", 3600}})}});
    upstream_.Script("api", {Reply{401, R"({"error":"expired"})"}});
    auto s = Scenario(R"({"name": "OAuth", "flow": [
      {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $C}, "mapper": {"url": "$U/seq/$NAME"}}]})",
                      "", "", {{"$C", std::to_string(conn)}, {"$NAME", "api"}});
    auto e = Run(s);
    EXPECT_EQ(Status(e), "success") << e.error_type << " " << e.error_message;
    EXPECT_EQ(e.operations, 1);
    auto api = upstream_.HitsTo("/seq/api");
    ASSERT_EQ(api.size(), 2u);
    EXPECT_EQ(api[0].Header("authorization"), std::string("Bearer ") + kAccess1);
    EXPECT_EQ(api[1].Header("authorization"), std::string("Bearer ") + kAccess2);
    auto token = upstream_.HitsTo("/seq/token");
    ASSERT_EQ(token.size(), 2u);
    EXPECT_EQ(RefreshToken(token[1]), kRefresh);

    // Refused again after the refresh: AccountValidationError, one refresh, two tries, no handler catches it.
    upstream_.SetDefault("deny", Reply{401, R"({"error":"no"})"});
    auto denied = Scenario(R"({"name": "OAuth denied", "flow": [
      {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $C}, "mapper": {"url": "$U/seq/$NAME"},
       "onerror": [{"id": 2, "module": "builtin:Ignore"}]}]})",
                           "", "", {{"$C", std::to_string(conn)}, {"$NAME", "deny"}});
    auto f = Run(denied);
    EXPECT_EQ(Status(f), "error");
    EXPECT_EQ(f.error_type, "AccountValidationError");
    auto deny = upstream_.HitsTo("/seq/deny");
    ASSERT_EQ(deny.size(), 2u);
    EXPECT_EQ(deny[0].Header("authorization"), std::string("Bearer ") + kAccess2);
    EXPECT_EQ(deny[1].Header("authorization"), std::string("Bearer ") + kAccess3);
    EXPECT_EQ(upstream_.HitsTo("/seq/token").size(), 3u);
}

// ---------------------------------------------------------------------------------------------------------------
// Fibers (core/cooperative.hpp)

// Stands in for the HTTP server's fibers: Offload runs the work on another thread, suspending waits on a condition.
class OffloadingScheduler final : public core::Scheduler {
  public:
    int WaitFd(int fd, short events, std::chrono::milliseconds timeout) override {
        core::SchedulerScope thread(nullptr);
        return core::WaitFd(fd, events, timeout);
    }
    void Sleep(std::chrono::steady_clock::duration d) override { std::this_thread::sleep_for(d); }
    void Offload(const std::function<void()>& fn) override {
        ++offloads;
        std::exception_ptr error;
        std::thread([&] {
            try {
                fn();
            } catch (...) {
                error = std::current_exception();
            }
        }).join();
        if (error) std::rethrow_exception(error);
    }
    void Suspend(std::unique_lock<std::mutex>& lock, void*& handle) override {
        handle = this;
        resumed_ = false;
        cv_.wait(lock, [this] { return resumed_; });
    }
    void Resume(void*) override {
        resumed_ = true;
        cv_.notify_one();
    }
    std::atomic<int> offloads{0};

  private:
    bool resumed_ = false;
    std::condition_variable cv_;
};

// In a fiber, a native module that says it blocks (email, postgres) runs on a thread that may block; the others run
// in the fiber itself.
TEST_F(RunnerTest, InAFiberOnlyNativeModulesThatBlockAreOffloaded) {
    struct Seen {
        std::thread::id thread;
        bool in_fiber = false;
    };
    std::mutex mutex;
    std::map<std::string, Seen> seen;
    const auto record = [&](const std::string& name) {
        return [&, name](ModuleCall&) {
            std::lock_guard lock(mutex);
            seen[name] = Seen{std::this_thread::get_id(), core::CurrentScheduler() != nullptr};
            ModuleOutcome out;
            out.bundles.push_back(json::object{{"from", name}});
            return out;
        };
    };
    node_->registry.Add({"test:plain", catalog::ModuleType::kAction, "", {}, record("plain")});
    node_->registry.Add({"test:blocking", catalog::ModuleType::kAction, "", {}, record("blocking"), true});
    auto s = Scenario(R"({"name": "Fiber", "flow": [
      {"id": 1, "module": "test:plain"}, {"id": 2, "module": "test:blocking"}]})");
    RunRequest req;
    req.team = team_;
    req.scenario = node_->scenarios->Compiled(Row(s)).value();

    OffloadingScheduler fiber;
    RunResult r;
    std::thread::id caller;
    std::thread([&] {
        caller = std::this_thread::get_id();
        core::SchedulerScope scope(&fiber);
        r = node_->runner->Run(req);
    }).join();
    EXPECT_EQ(r.status, ExecutionStatus::kSuccess) << r.error.message;
    EXPECT_EQ(r.operations, 2);
    EXPECT_EQ(fiber.offloads.load(), 1);
    std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen["plain"].thread, caller);
    EXPECT_TRUE(seen["plain"].in_fiber);
    EXPECT_NE(seen["blocking"].thread, caller);
    EXPECT_FALSE(seen["blocking"].in_fiber);
}

// ---------------------------------------------------------------------------------------------------------------
// Timeouts and redirects

TEST_F(RunnerTest, ASlowAnswerIsAModuleTimeoutErrorRetriedLikeAConnectionError) {
    RunOptions quick = FastRetries();
    quick.request_timeout = 300ms;
    Runner runner(node_->catalog, node_->registry, *node_->connections, *node_->scenario_store, *node_->http, clock_,
                  node_->random, quick);
    auto s = Scenario(R"({"name": "Slow", "flow": [
      {"id": 1, "module": "http:ActionSendData", "mapper": {"url": "$U/slow/1500"}}]})");
    RunRequest req;
    req.team = team_;
    req.scenario = node_->scenarios->Compiled(Row(s)).value();
    RunResult r = runner.Run(req);
    EXPECT_EQ(r.status, ExecutionStatus::kError);
    EXPECT_EQ(r.error.type, "ModuleTimeoutError") << r.error.message;
    EXPECT_EQ(upstream_.HitsTo("/slow/1500").size(), 3u);
}

TEST_F(RunnerTest, ACredentialDoesNotFollowARedirectToAnotherOrigin) {
    const std::int64_t header = HeaderKeyConnection();
    const std::int64_t query = Connection(
        "http-apikey", json::object{{"apiKey", kQueryKey}, {"apiKeyIn", "query"}, {"apiKeyName", "api_key"}}, "query");
    auto s = Scenario(R"({"name": "Redirects", "flow": [
      {"id": 1, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $H}, "mapper": {"url": "$U/redirect/same"}},
      {"id": 2, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $H}, "mapper": {"url": "$U/redirect/other"}},
      {"id": 3, "module": "http:ActionSendData", "parameters": {"__IMTCONN__": $Q}, "mapper": {"url": "$U/redirect/other"}}]})",
                      "", "", {{"$H", std::to_string(header)}, {"$Q", std::to_string(query)}});
    auto e = Run(s);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    auto landed = upstream_.HitsTo("/echo/landed");
    ASSERT_EQ(landed.size(), 3u);
    EXPECT_EQ(landed[0].Header("x-key"), kHeaderKey);  // same origin: kept
    EXPECT_EQ(landed[1].Header("x-key"), "");          // another origin: dropped
    EXPECT_EQ(landed[2].Query("api_key"), "");
}

// ---------------------------------------------------------------------------------------------------------------
// The queue with worker threads on two nodes

TEST_F(RunnerTest, QueuedExecutionsRunExactlyOnceAcrossTwoNodesWorkers) {
    auto s = Scenario(R"({"name": "Queue", "flow": [
      {"id": 1, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/q-{{var.input.n}}"}}]})",
                      "", R"([{"name": "n", "type": "number", "required": true}])");
    constexpr int kRuns = 30;
    for (int n = 0; n < kRuns; ++n) {
        auto q = node_->executor->RunOnce(Row(s), json::object{{"n", n}}, std::nullopt, false);
        ASSERT_TRUE(q) << q.error().detail;
        EXPECT_EQ(Status(*q), "queued");
    }
    auto other = NewNode("node-b");
    ExecutorOptions options;
    options.workers = 2;
    options.poll = 20ms;
    options.node_id = "threads-a";
    Executor a(*node_->scenarios, *node_->runner, clock_, options);
    options.node_id = "threads-b";
    Executor b(*other->scenarios, *other->runner, clock_, options);
    a.Start();
    b.Start();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    int finished = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        finished = 0;
        for (const auto& e : Executions(s)) finished += e.status == ExecutionStatus::kSuccess ? 1 : 0;
        if (finished == kRuns) break;
        std::this_thread::sleep_for(50ms);
    }
    a.Stop();
    b.Stop();
    EXPECT_EQ(finished, kRuns);
    for (int n = 0; n < kRuns; ++n) EXPECT_EQ(upstream_.HitsTo("/seq/q-" + std::to_string(n)).size(), 1u) << n;
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

// JSON arrays nested `depth` deep around `inner`.
std::string Nested(int depth, const std::string& inner = "1") {
    return std::string(static_cast<std::size_t>(depth), '[') + inner +
           std::string(static_cast<std::size_t>(depth), ']');
}

TEST_F(RunnerTest, ADeeplyNestedWebhookPayloadReachesTheRun) {
    auto s = Scenario(R"({"name": "Deep", "flow": [
      {"id": 1, "module": "gateway:CustomWebHook", "parameters": {"hook": 1}},
      {"id": 2, "module": "util:SetVariable2", "mapper": {"name": "items", "value": "{{1.items}}"}}]})");
    // 32 levels, as deep as the API accepts a webhook body: the stored row wraps it once more.
    const json::value payload = json::parse(R"({"items": [1, 2], "deep": )" + Nested(31) + "}");
    auto e = Run(s, {}, payload);
    ASSERT_EQ(Status(e), "success") << e.error_message;
    EXPECT_EQ(OutputsOf(e, 2).at(0).at(0).at("items"), json::parse("[1, 2]"));
}

TEST_F(HandlerTest, AnIncompleteExecutionWithDeepDataResumesInsteadOfStartingOver) {
    upstream_.Script("deep-1", {Reply{400, "{}"}});
    auto s = Scenario(R"({"name": "Deep break", "flow": [
      {"id": 1, "module": "json:ParseJSON", "mapper": {"json": "{{var.input.doc}}"}},
      {"id": 2, "module": "http:ActionSendData", "mapper": {"url": "$U/seq/deep-{{1.n}}"},
       "onerror": [{"id": 9, "module": "builtin:Break", "parameters": {"count": 1, "interval": 1}}]},
      {"id": 3, "module": "util:SetVariable2", "mapper": {"name": "done", "value": "{{1.n}}"}}]})",
                      "", R"([{"name": "doc", "type": "text"}])");
    auto e = Run(s, {{"doc", R"({"n": 1, "deep": )" + Nested(31) + "}"}});
    ASSERT_EQ(Status(e), "warning") << e.error_type << " " << e.error_message;
    clock_.Advance(61s);
    ASSERT_EQ(node_->executor->WorkerPass(), 1);
    auto retried = Executions(s).front();
    EXPECT_EQ(Status(retried), "success") << retried.error_type << " " << retried.error_message;
    EXPECT_EQ(Modules(retried), (std::vector<std::int64_t>{2, 3}));  // not module 1 again: no fresh run
    EXPECT_EQ(upstream_.HitsTo("/seq/deep-1").size(), 2u);
}

TEST_F(RunnerTest, NotANumberIsRefusedWhereANumberIsNeeded) {
    auto sleep = Scenario(R"({"name": "Sleep NaN", "flow": [
      {"id": 1, "module": "util:FunctionSleep", "mapper": {"duration": "nan"}}]})");
    auto e = Run(sleep);
    EXPECT_EQ(Status(e), "error");
    EXPECT_EQ(e.error_type, "BundleValidationError");
    auto respond = Scenario(R"({"name": "Respond NaN", "flow": [
      {"id": 1, "module": "gateway:WebhookRespond", "mapper": {"status": "NaN", "body": "x"}}]})");
    auto f = Run(respond);
    EXPECT_EQ(Status(f), "error");
    EXPECT_EQ(f.error_type, "BundleValidationError");
    auto slept = Scenario(R"({"name": "Sleep short", "flow": [
      {"id": 1, "module": "util:FunctionSleep", "mapper": {"duration": "0.05"}}]})");
    EXPECT_EQ(Status(Run(slept)), "success");
}

TEST_F(RetryTest, RetryAfterOnAServerErrorIsHonouredToo) {
    upstream_.Script("busy", {Reply{503, R"({"error":"busy"})", {{"retry-after", "1"}}}});
    auto e = CallOnce("busy");
    EXPECT_EQ(Status(e), "success") << e.error_message;
    auto hits = upstream_.HitsTo("/seq/busy");
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_GE(hits[1].at - hits[0].at, 950ms);
}

TEST_F(RetryTest, AnAppModuleHonoursRetryAfterAsWell) {
    const std::int64_t tapp = TappConnection();
    upstream_.Script("app-limited", {Reply{429, R"({"error":"slow down"})", {{"retry-after", "1"}}}});
    auto s = Scenario(R"({"name": "App 429", "flow": [
      {"id": 1, "module": "tapp:getThing", "parameters": {"__IMTCONN__": $TAPP}, "mapper": {"name": "app-limited"}}]})",
                      "", "", {{"$TAPP", std::to_string(tapp)}});
    auto e = Run(s);
    EXPECT_EQ(Status(e), "success") << e.error_type << " " << e.error_message;
    auto hits = upstream_.HitsTo("/seq/app-limited");
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_GE(hits[1].at - hits[0].at, 950ms);
}

TEST_F(RunnerTest, ScheduledRunsRefusedForTheirInputsCountTowardsMaxErrors) {
    auto s = Scenario(R"({"name": "Needs input", "flow": [
      {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "c", "value": "{{var.input.customer}}"}}],
      "metadata": {"scenario": {"maxErrors": 2}}})",
                      R"({"type": "indefinitely", "interval": 60})",
                      R"([{"name": "customer", "type": "text", "required": true}])");
    ASSERT_TRUE(node_->scenarios->Start(caller_, s.row.id));
    for (int tick = 0; tick < 2; ++tick) {
        clock_.Advance(61s);
        ASSERT_EQ(node_->executor->SchedulerPass(), 1);
        ASSERT_EQ(node_->executor->WorkerPass(), 1);
    }
    auto runs = Executions(s);
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(Status(runs[0]), "error");
    EXPECT_NE(runs[0].error_message.find("customer"), std::string::npos) << runs[0].error_message;
    const store::Scenario row = Row(s);
    EXPECT_FALSE(row.active);
    EXPECT_TRUE(row.invalid);
    EXPECT_NE(row.invalid_reason.find("customer"), std::string::npos) << row.invalid_reason;
    clock_.Advance(61s);
    EXPECT_EQ(node_->executor->SchedulerPass(), 0);
}

}  // namespace
}  // namespace switchboard::engine

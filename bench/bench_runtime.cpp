#include "bench_runtime.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "api/api.hpp"
#include "app/config.hpp"
#include "engine/scenario_service.hpp"

namespace switchboard::bench {

namespace json = boost::json;

void Die(const std::string& what) {
    std::fprintf(stderr, "bench fixture: %s\n", what.c_str());
    std::exit(1);
}

namespace {

template <typename T>
T Must(core::Result<T> r, const char* what) {
    if (!r) Die(std::string(what) + ": " + r.error().message + ": " + r.error().detail);
    return std::move(*r);
}

// The workload's scenario (bench/e2e/README.md, docs/performance.md): webhook → HTTP GET with the connection → webhook
// response.
std::string WorkloadBlueprint(core::ConnectionId connection) {
    return R"({"name": "Webhook to API", "flow": [
        {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": 1}, "mapper": null},
        {"id": 2, "module": "http:ActionSendData", "version": 3,
         "parameters": {"__IMTCONN__": )" +
           std::to_string(connection.value()) + R"(},
         "mapper": {"url": "http://127.0.0.1:9181/v1/items/{{1.item}}", "method": "get", "parseResponse": true}},
        {"id": 3, "module": "gateway:WebhookRespond", "version": 1,
         "mapper": {"status": 200, "body": "{\"item\": {{toString(2.data)}}, \"requested\": {{1.item}}}",
                    "headers": [{"key": "Content-Type", "value": "application/json"}]}}],
        "metadata": {"instant": true}})";
}

}  // namespace

BenchRuntime& BenchRuntime::Get() {
    static BenchRuntime instance;
    return instance;
}

BenchRuntime::BenchRuntime() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sb-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) Die("cannot create a temporary directory");
    dir_ = pattern;

    app::Config config;
    config.data_dir = dir_;
    config.database = "sqlite:" + dir_ + "/switchboard.db";
    config.master_key_file = dir_ + "/master.key";
    config.allow_private_network = true;
    rt_ = Must(app::OpenRuntime(config, app::KeyPolicy::kLoadOrCreate), "open runtime");

    auto boot =
        Must(rt_->accounts->EnsureUserTeamToken("bench@switchboard.local", "Bench", store::Role::kAdmin, "bench"),
             "first user");
    team = boot.team.id;
    token = std::string(boot.token.token.Reveal());
    caller = Must(rt_->accounts->Authenticate("Token " + token), "authenticate");

    connections::CreateInput input;
    input.name = "Upstream API";
    input.type = "http-apikey";
    input.parameters = {{"apiKey", "test-key-123"}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Api-Key"}};
    connection = Must(rt_->connections->Create(caller, team, input), "create connection").row.id;

    engine::ScenarioChange change;
    change.blueprint = json::parse(WorkloadBlueprint(connection));
    scenario_id = Must(rt_->scenarios->Create(caller, team, change), "create scenario").row.id;
}

BenchRuntime::~BenchRuntime() {
    router_.reset();
    rt_.reset();  // closes the database before its files go
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

const http_server::Router& BenchRuntime::router() {
    if (!router_) {
        // As `serve` wires it (app/commands.cpp), the web UI's routes included.
        api::ApiDeps deps{*rt_->store,          *rt_->accounts,      metrics_, rt_->connections.get(),
                          rt_->scenarios.get(), rt_->executor.get(), false,    app::WebDir()};
        router_ = std::make_unique<http_server::Router>(api::BuildRouter(deps));
    }
    return *router_;
}

core::TeamId BenchRuntime::LargeTeam() {
    if (large_team_.valid()) return large_team_;
    auto boot = Must(
        rt_->accounts->EnsureUserTeamToken("bench@switchboard.local", "Bench 10k", store::Role::kAdmin, "bench 10k"),
        "large team");
    large_team_ = boot.team.id;
    connections::CreateInput input;
    input.name = "Connection 00001";
    input.type = "http-apikey";
    input.parameters = {{"apiKey", "key-00001"}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Api-Key"}};
    const auto first = Must(rt_->connections->Create(caller, large_team_, input), "create connection").row.id;

    // Every column but id and name copied from the first row (the schema may grow: read it, do not repeat it).
    auto info = Must(rt_->store->db().Exec("PRAGMA table_info(connections)"), "table_info");
    std::string columns;
    for (const auto& row : info.rows) {
        const std::string name = row.Text(1);
        if (name == "id" || name == "name") continue;
        columns += ", " + name;
    }
    const std::string sql =
        "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"
        " INSERT INTO connections (name" +
        columns +
        ") SELECT printf('%s %05d', CASE i % 4 WHEN 0 THEN 'Connection' WHEN 1 THEN 'billing api'"
        " WHEN 2 THEN 'CRM' ELSE 'Mailer' END, i)" +
        columns + " FROM n, connections WHERE connections.id = $2";
    Must(rt_->store->db().Exec(sql, {std::int64_t{kLargeTeamConnections}, first.value()}), "copy connections");
    return large_team_;
}

}  // namespace switchboard::bench

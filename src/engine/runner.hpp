#pragma once
// One scenario run, as Make defines it (docs/scenarios.md, "How a run works"):
//
// 1. Initialisation: every module is looked up, and every connection the run will use is resolved (dynamic ones
//    choose their member from the run's inputs) and checked: it exists in the team, is of the module's type, is
//    usable (not needing reauthorization) and holds every scope the module declares. Any failure ends the run
//    with AccountValidationError before any module runs: no request leaves. The credentials are read once here,
//    so a run never mixes old and new credentials of a connection edited meanwhile.
// 2. Modules run in flow order, once per bundle of the module before (depth first). Filters stop a bundle,
//    routers send it down every route, iterators split it, aggregators collect the bundles of their source.
// 3. Errors: ConnectionError, RateLimitError and ModuleTimeoutError are retried with back-off inside the run;
//    a 401/403 from the app is AccountValidationError and ends the run (an OAuth token refused with 401 is
//    refreshed and the request tried once more first); other errors go to the module's error handler (Ignore,
//    Resume, Break, Rollback, Commit), else roll the run back (or, with `dlq`, store it as incomplete).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "engine/blueprint.hpp"
#include "engine/module.hpp"
#include "iml/template.hpp"
#include "store/scenario_store.hpp"

namespace switchboard::engine {

struct RunOptions {
    int max_attempts = 3;                               // tries of a module run on a retryable error
    std::chrono::milliseconds backoff{1000};            // before the 2nd try; doubles after
    std::chrono::milliseconds max_inline_wait{10'000};  // longest Retry-After honoured inside a run
    std::chrono::milliseconds request_timeout{40'000};
    int max_bundles = 10'000;  // module runs per execution; beyond it the run fails (a runaway iterator)
    std::size_t max_log_entry_bytes = 16 * 1024;
};

// What a module is, for the runner and for checks when a blueprint is saved.
struct ModuleInfo {
    std::string name;                             // "app:module"
    const catalog::Module* definition = nullptr;  // modules of an app's JSON
    const NativeModule* native = nullptr;         // built-in / C++ modules
    const catalog::App* api_call_app = nullptr;   // "<app>:makeApiCall"
    catalog::ModuleType type = catalog::ModuleType::kAction;
    std::string connection_type;  // the connection type it needs ("" = any of connection_app, or none)
    std::string connection_app;   // the app whose connection types it accepts ("" = none)
    std::vector<std::string> scope;
    bool connection_required = false;  // a connection of connection_app must be bound (Make an API call)
    bool NeedsConnection() const { return !connection_type.empty() || connection_required; }
    bool TakesConnection() const { return !connection_type.empty() || !connection_app.empty(); }
    bool IsTrigger() const { return type == catalog::ModuleType::kTrigger || type == catalog::ModuleType::kInstant; }
};
std::optional<ModuleInfo> DescribeModule(const catalog::Catalog& catalog, const ModuleRegistry& registry,
                                         std::string_view name);

// A blueprint with its mapper templates compiled once (shared by every run of the same scenario version).
struct CompiledScenario {
    Blueprint blueprint;
    std::vector<ScenarioInput> inputs;
    std::map<std::int64_t, iml::ValueTemplate> mappers;
    // Some module may be a polling trigger that reads a stored cursor: every module but the built-in ones
    // (gateway:, http:, json:, util:, builtin:) and `<app>:makeApiCall`. Without one, a run reads no cursors.
    bool reads_cursors = false;
    bool responds = false;  // has gateway:WebhookRespond: a webhook waits for the run's answer
};
core::Result<std::shared_ptr<const CompiledScenario>> Compile(Blueprint blueprint, std::vector<ScenarioInput> inputs);

struct RunRequest {
    core::TeamId team;
    std::int64_t scenario_id = 0;  // 0 for a blueprint run from the CLI
    std::string scenario_name;
    std::int64_t execution_id = 0;
    std::shared_ptr<const CompiledScenario> scenario;
    boost::json::object inputs;                                 // already checked (ApplyInputs)
    std::optional<boost::json::value> trigger_bundle;           // the webhook payload
    std::map<std::int64_t, std::string> cursors;                // polling triggers' stored cursors by module id
    std::map<std::int64_t, std::int64_t> connection_overrides;  // module id → connection id (CLI --connection)
    // A stored incomplete run to continue: {"path": [...], "root": {...}, "moduleId": N}.
    std::optional<boost::json::object> resume;
    bool confidential = false;  // keep module inputs and outputs out of the log
    std::function<bool()> cancelled;
};

struct UsedConnection {
    std::int64_t module_id = 0;
    std::int64_t connection_id = 0;
    std::int64_t dynamic_id = 0;  // when chosen through a dynamic connection
    std::string label;            // the dynamic member's label
};

// A bundle stopped by builtin:Break (or by an unhandled error with `dlq` on), to be retried from that module.
struct IncompleteRun {
    boost::json::object resume;
    Failure error;
    std::int64_t module_id = 0;
    int retries = 3;                     // automatic retries left
    std::int64_t interval_ms = 900'000;  // between them
};

struct RunResult {
    store::ExecutionStatus status = store::ExecutionStatus::kSuccess;
    int operations = 0;
    Failure error;  // type "" when the run did not fail
    std::int64_t error_module_id = 0;
    boost::json::array log;
    std::optional<boost::json::object> response;  // set by gateway:WebhookRespond
    std::map<std::int64_t, std::string> cursors;
    std::vector<UsedConnection> connections;
    std::vector<IncompleteRun> incomplete;
};

class Runner {
  public:
    Runner(const catalog::Catalog& catalog, const ModuleRegistry& registry, connections::ConnectionService& connections,
           store::ScenarioStore& scenarios, http_client::HttpClient& http, const core::Clock& clock,
           core::Random& random, RunOptions options = {})
        : catalog_(catalog),
          registry_(registry),
          connections_(connections),
          scenarios_(scenarios),
          http_(http),
          clock_(clock),
          random_(random),
          options_(options) {}

    // Never throws; every failure is in the result.
    RunResult Run(const RunRequest& request);

    const catalog::Catalog& catalog() const { return catalog_; }
    const ModuleRegistry& registry() const { return registry_; }

  private:
    struct State;
    const catalog::Catalog& catalog_;
    const ModuleRegistry& registry_;
    connections::ConnectionService& connections_;
    store::ScenarioStore& scenarios_;
    http_client::HttpClient& http_;
    const core::Clock& clock_;
    core::Random& random_;
    RunOptions options_;
};

}  // namespace switchboard::engine

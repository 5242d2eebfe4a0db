#pragma once
// Scenarios and dynamic connections of a team: create, read, update, delete, activate, clone, with authorization
// first (members write, operators run, monitoring reads) and every blueprint checked before it is stored:
// it parses, every module is known, every connection it references exists in the scenario's team and is of the
// module's type, mappers compile. The usage index (which scenario uses which connection, directly or through a
// dynamic connection, needing which scopes) is rewritten with every change.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_service.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "engine/runner.hpp"
#include "engine/schedule.hpp"
#include "store/scenario_store.hpp"
#include "store/store.hpp"

namespace switchboard::engine {

struct ScenarioView {
    store::Scenario row;
    std::string hook_url;                    // instant scenarios: where to POST ("" otherwise)
    std::vector<std::string> used_packages;  // apps of its modules
    std::string first_module;                // e.g. "gateway:CustomWebHook"
};

// Create/update body (Make's shape): name, blueprint (object or JSON text), scheduling, and Make's scenario
// interface for inputs ({"input": [...]}) or a plain "inputs" array. Update leaves absent fields as they are.
struct ScenarioChange {
    std::optional<std::string> name;
    std::optional<boost::json::value> blueprint;
    std::optional<boost::json::value> scheduling;
    std::optional<boost::json::value> inputs;
};
core::Result<ScenarioChange> ParseScenarioChange(const boost::json::object& body);

struct DynamicChange {
    std::optional<std::string> name;
    std::optional<std::string> connection_type;
    std::optional<std::vector<store::DynamicMember>> members;
    std::optional<std::int64_t> default_connection;  // 0 = none
};
core::Result<DynamicChange> ParseDynamicChange(const boost::json::object& body);

// A scenario's reach into a connection, for GET /connections/{id}/usage.
struct UsageView {
    store::ConnectionUsage usage;
    std::vector<std::string> required_scopes;
};

class ScenarioService {
  public:
    ScenarioService(store::Store& store, store::ScenarioStore& scenarios, accounts::AccountService& accounts,
                    const catalog::Catalog& catalog, const ModuleRegistry& registry,
                    connections::ConnectionService& connections, const core::Clock& clock, core::Random& random,
                    std::string public_url)
        : store_(store),
          scenarios_(scenarios),
          accounts_(accounts),
          catalog_(catalog),
          registry_(registry),
          connections_(connections),
          clock_(clock),
          random_(random),
          public_url_(std::move(public_url)) {}

    core::Result<std::vector<ScenarioView>> List(const accounts::Caller& caller, core::TeamId team,
                                                 const store::Page& page);
    core::Result<ScenarioView> Get(const accounts::Caller& caller, std::int64_t id);
    core::Result<ScenarioView> Create(const accounts::Caller& caller, core::TeamId team, const ScenarioChange& change);
    core::Result<ScenarioView> Update(const accounts::Caller& caller, std::int64_t id, const ScenarioChange& change);
    core::Result<void> Delete(const accounts::Caller& caller, std::int64_t id);
    // Activation: scheduling on (next run computed) and a cleared error count; kInvalidArgument when the blueprint
    // cannot run (a connection it needs is missing). Stop turns scheduling off.
    core::Result<ScenarioView> Start(const accounts::Caller& caller, std::int64_t id);
    core::Result<ScenarioView> Stop(const accounts::Caller& caller, std::int64_t id);
    core::Result<ScenarioView> Clone(const accounts::Caller& caller, std::int64_t id, const std::string& name);
    // The run permission (operators may run) on the scenario, for run/logs; returns the row.
    core::Result<store::Scenario> Authorize(const accounts::Caller& caller, std::int64_t id, accounts::Permission p);

    core::Result<std::vector<UsageView>> Usage(const accounts::Caller& caller, core::ConnectionId connection);

    // Dynamic connections.
    core::Result<std::vector<store::DynamicConnection>> ListDynamic(const accounts::Caller& caller, core::TeamId team);
    core::Result<store::DynamicConnection> GetDynamic(const accounts::Caller& caller, std::int64_t id);
    core::Result<store::DynamicConnection> CreateDynamic(const accounts::Caller& caller, core::TeamId team,
                                                         const DynamicChange& change);
    core::Result<store::DynamicConnection> UpdateDynamic(const accounts::Caller& caller, std::int64_t id,
                                                         const DynamicChange& change);
    // kConflict listing the scenarios that use it unless confirmed.
    core::Result<void> DeleteDynamic(const accounts::Caller& caller, std::int64_t id, bool confirmed);

    // The compiled blueprint of a stored scenario (cached per id and version).
    core::Result<std::shared_ptr<const CompiledScenario>> Compiled(const store::Scenario& row);
    // The settings and schedule of a stored scenario.
    static core::Result<Schedule> ScheduleOf(const store::Scenario& row);
    // After a run: counts consecutive errors and turns scheduling off (with the reason) at maxErrors.
    void RecordOutcome(const store::Scenario& row, bool failed, const std::string& error_type,
                       const std::string& error_message);

    std::string HookUrl(const std::string& token) const { return public_url_ + "/hooks/" + token; }
    store::ScenarioStore& scenarios() { return scenarios_; }

  private:
    core::Result<store::Scenario> Load(const accounts::Caller& caller, std::int64_t id, accounts::Permission p);
    ScenarioView View(store::Scenario row);
    // Checks and normalises a scenario about to be stored (fills hook_token, next_run_at, the JSON fields).
    core::Result<std::shared_ptr<const CompiledScenario>> Check(store::Scenario& row);
    core::Result<void> WriteUsage(const store::Scenario& row, const CompiledScenario& compiled);
    core::Result<void> RefreshUsageOfDynamic(std::int64_t dynamic_id);
    core::Result<void> CheckMembers(core::TeamId team, const std::string& type,
                                    const std::vector<store::DynamicMember>& members, std::int64_t default_id);
    void Audit(const accounts::Caller& caller, core::TeamId team, std::string action, std::string target,
               boost::json::object detail = {});

    store::Store& store_;
    store::ScenarioStore& scenarios_;
    accounts::AccountService& accounts_;
    const catalog::Catalog& catalog_;
    const ModuleRegistry& registry_;
    connections::ConnectionService& connections_;
    const core::Clock& clock_;
    core::Random& random_;
    std::string public_url_;
    std::mutex cache_mutex_;
    std::map<std::int64_t, std::pair<std::int64_t, std::shared_ptr<const CompiledScenario>>> cache_;
};

}  // namespace switchboard::engine

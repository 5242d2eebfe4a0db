#pragma once
// Persistence of scenarios, their executions (the run queue), polling-trigger cursors and dynamic connections.
// Same rules as store.hpp: every method blocks, portable SQL over a Db, kNotFound for a missing row (another
// team's row reads as missing), kConflict for a uniqueness violation or a failed fence.
//
// The run queue: executions are rows. A worker claims queued rows whose not_before has passed (PostgreSQL:
// FOR UPDATE SKIP LOCKED, so several nodes claim different rows; SQLite: its single writer serialises claims),
// runs them, and finishes them fenced on (claimed_by, status running). A node that dies leaves rows running;
// RequeueStaleExecutions puts rows claimed before a cut-off back in the queue.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/db.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace switchboard::store {

struct Scenario {
    std::int64_t id = 0;
    core::TeamId team_id;
    std::string name;
    std::string blueprint_json;                               // Make's blueprint, as stored (JSON text)
    std::string scheduling_json = R"({"type":"on-demand"})";  // Make's scheduling object
    std::string inputs_json = "[]";                           // scenario inputs [{name,type,required,default}]
    bool active = false;                                      // Make's isActive (scheduling on)
    bool invalid = false;                                     // Make's isinvalid: stopped because of errors
    std::string invalid_reason;                               // why it was stopped ("" when not)
    int consecutive_errors = 0;                               // failed runs in a row
    std::string hook_token;                                   // instant scenarios: POST /hooks/{token}; "" else
    std::optional<std::int64_t> next_run_at;                  // scheduled scenarios: next start (ms)
    core::UserId created_by;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::int64_t version = 1;  // bumped by every update
};

enum class ExecutionStatus { kQueued, kRunning, kSuccess, kWarning, kError, kIncomplete };
std::string_view ExecutionStatusName(ExecutionStatus s);  // "queued", "running", "success", …
std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view s);

struct Execution {
    std::int64_t id = 0;
    core::TeamId team_id;
    std::int64_t scenario_id = 0;
    ExecutionStatus status = ExecutionStatus::kQueued;
    std::string trigger;            // what started it: "webhook", "schedule", "run", "retry"
    std::string input_json = "{}";  // {"inputs": {...}, "bundle": ...}: scenario inputs and trigger data
    int operations = 0;
    std::string error_type;  // Make's error type name ("" on success)
    std::string error_message;
    std::int64_t error_module_id = 0;
    std::string log_json = "[]";  // per-module entries (sanitised)
    std::string result_json;      // the webhook response {status, headers, body} when a module set one; "" else
    std::string claimed_by;       // worker holding it while running
    int attempts = 0;             // claims so far
    std::int64_t not_before = 0;  // not claimed before this time (ms); retries back off with it
    std::int64_t created_at = 0;
    std::optional<std::int64_t> started_at;
    std::optional<std::int64_t> finished_at;
};

// What a finished (or re-queued) run writes, in one transaction with its cursor updates.
struct ExecutionOutcome {
    ExecutionStatus status = ExecutionStatus::kSuccess;  // success, warning, error or incomplete
    int operations = 0;
    std::string error_type;
    std::string error_message;
    std::int64_t error_module_id = 0;
    std::string log_json = "[]";
    std::string result_json;
    std::map<std::int64_t, std::string> cursors;  // module id → new polling cursor of this scenario
    // Set only by a caller that produced log_json and result_json with boost::json::serialize (the executor): the
    // store then checks their shape by their first character instead of parsing them again (≈ 23,000
    // instructions per run). Anything else is parsed and refused when it is not well-formed JSON.
    bool json_serialised = false;
};

struct DynamicMember {
    core::ConnectionId connection_id;
    std::string label;  // e.g. a department; unique within the dynamic connection
};

struct DynamicConnection {
    std::int64_t id = 0;
    core::TeamId team_id;
    std::string name;
    std::string connection_type;            // every member is of this type
    core::ConnectionId default_connection;  // 0 = none; must be a member
    std::vector<DynamicMember> members;     // in label order
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

class ScenarioStore {
  public:
    virtual ~ScenarioStore() = default;

    // Scenarios. Create assigns id, version 1 and times. hook_token is unique.
    virtual core::Result<Scenario> CreateScenario(const Scenario& s) = 0;
    virtual core::Result<Scenario> GetScenario(core::TeamId team, std::int64_t id) = 0;
    virtual core::Result<Scenario> FindScenario(std::int64_t id) = 0;  // any team
    virtual core::Result<std::optional<Scenario>> FindScenarioByHook(const std::string& hook_token) = 0;
    virtual core::Result<std::vector<Scenario>> ListScenarios(core::TeamId team, const Page& page) = 0;  // id order
    // Writes every field of s except id/team/created_*; fenced on expected_version (kConflict when it moved);
    // the stored version becomes expected_version + 1. The usage rows' scenario_name and is_active follow.
    virtual core::Result<Scenario> UpdateScenario(const Scenario& s, std::int64_t expected_version) = 0;
    // Deletes the scenario with its executions, cursors and usage rows.
    virtual core::Result<void> DeleteScenario(core::TeamId team, std::int64_t id) = 0;
    // After a run: a failure increments consecutive_errors, and when it reaches max_errors the scenario becomes
    // inactive and invalid with `reason`; a success resets the count. Atomic. Returns the row after. Only stopping
    // the scenario bumps version/updated_at (an editor open meanwhile must not overwrite the stop); counting does
    // not. max_errors <= 0 never stops it. kNotFound.
    virtual core::Result<Scenario> RecordRunOutcome(std::int64_t id, bool failed, int max_errors,
                                                    const std::string& reason) = 0;
    // Active scenarios whose next_run_at <= now, oldest first.
    virtual core::Result<std::vector<Scenario>> ListDueScenarios(std::int64_t now_ms, int limit) = 0;
    // Moves next_run_at from `expected` to `next` (nullopt = none) if it is still `expected`: of several nodes
    // seeing the same due scenario, exactly one gets true and starts the run.
    virtual core::Result<bool> AdvanceNextRun(std::int64_t id, std::int64_t expected,
                                              std::optional<std::int64_t> next) = 0;

    // The usage index of one scenario (connection_usage rows, see store.hpp), replaced at once, and the dynamic
    // connections it references. kNotFound for another team's scenario; kInvalidArgument when a connection or
    // dynamic connection is another team's, or a connection is listed twice. Ids that no longer exist are skipped
    // (a blueprint may still name a deleted connection). An empty scenario_name is filled in.
    virtual core::Result<void> ReplaceScenarioUsage(core::TeamId team, std::int64_t scenario_id,
                                                    const std::vector<ConnectionUsage>& usage,
                                                    const std::vector<std::int64_t>& dynamic_ids) = 0;
    virtual core::Result<std::vector<std::int64_t>> ListScenariosUsingDynamic(std::int64_t dynamic_id) = 0;

    // Executions.
    // Status queued, id/created_at set; or, with e.status kRunning and e.claimed_by set, inserted already claimed
    // by that holder (attempts 1, started_at now) so that no other worker can take it.
    virtual core::Result<Execution> EnqueueExecution(const Execution& e) = 0;
    // Claims up to `limit` queued executions with not_before <= now, oldest first: status running, claimed_by,
    // started_at = now, attempts + 1. Concurrent claimers never get the same row.
    virtual core::Result<std::vector<Execution>> ClaimExecutions(const std::string& holder, std::int64_t now_ms,
                                                                 int limit) = 0;
    // Claims one given queued execution, whatever its not_before (the webhook path runs its own row at once);
    // false when already taken, kNotFound when there is no such row.
    virtual core::Result<bool> ClaimExecution(std::int64_t id, const std::string& holder, std::int64_t now_ms) = 0;
    // Finishes a running execution held by `holder` and writes the cursors, in one transaction; false (and nothing
    // written) when the row is not running under that holder any more. kIncomplete/kQueued outcomes are not final:
    // with status kQueued the row goes back to the queue with not_before (a retry); kIncomplete keeps it for a
    // manual or automatic retry. A requeue (requeue_not_before given, or status kQueued: then not_before = now)
    // still writes the outcome fields and cursors but no finished_at, and clears claimed_by.
    virtual core::Result<bool> FinishExecution(std::int64_t id, const std::string& holder,
                                               const ExecutionOutcome& outcome,
                                               std::optional<std::int64_t> requeue_not_before = std::nullopt) = 0;
    // An execution that runs before anything of it is stored (a webhook answered by the run, whose caller waits):
    // ReserveExecutionId gives it its id up front (the run's {{var.execution.id}}), and RecordExecution stores it
    // once it has finished, outcome and cursor updates in one durable transaction, so a run costs one commit. A run
    // cut short by a crash leaves no row; its caller got no answer. e's team, scenario, trigger, input, created_at
    // and started_at are stored; returns the id stored (e.id, or a new one in the rare case that another process
    // sharing the SQLite file took e.id meanwhile). kNotFound when the team's scenario is gone.
    virtual core::Result<std::int64_t> ReserveExecutionId() = 0;
    virtual core::Result<std::int64_t> RecordExecution(const Execution& e, const ExecutionOutcome& outcome) = 0;
    // Running executions claimed (started_at) before `claimed_before`: back to queued. Returns how many.
    virtual core::Result<std::int64_t> RequeueStaleExecutions(std::int64_t claimed_before) = 0;
    virtual core::Result<Execution> GetExecution(core::TeamId team, std::int64_t id) = 0;
    // Newest first; kNotFound when the scenario is not the team's.
    virtual core::Result<std::vector<Execution>> ListExecutions(core::TeamId team, std::int64_t scenario_id,
                                                                const Page& page) = 0;
    virtual core::Result<std::int64_t> CountExecutions(std::optional<ExecutionStatus> status) = 0;

    // Polling-trigger cursors (written by FinishExecution); module id → cursor JSON.
    virtual core::Result<std::map<std::int64_t, std::string>> GetCursors(std::int64_t scenario_id) = 0;

    // Dynamic connections. Create/Update write members in the same transaction; names are unique per team;
    // a member must be a connection of the same team and of connection_type (kInvalidArgument otherwise, the team
    // checked in SQL too); labels are non-empty and unique; the default is a member or 0. Ordered by name.
    virtual core::Result<DynamicConnection> CreateDynamicConnection(const DynamicConnection& d) = 0;
    virtual core::Result<DynamicConnection> GetDynamicConnection(core::TeamId team, std::int64_t id) = 0;
    virtual core::Result<std::vector<DynamicConnection>> ListDynamicConnections(core::TeamId team) = 0;
    virtual core::Result<DynamicConnection> UpdateDynamicConnection(const DynamicConnection& d) = 0;
    virtual core::Result<void> DeleteDynamicConnection(core::TeamId team, std::int64_t id) = 0;
};

// Over the same Db as the Store (migration 3 creates its tables).
std::unique_ptr<ScenarioStore> MakeSqlScenarioStore(Db& db, const core::Clock& clock);

}  // namespace switchboard::store

// The ScenarioStore suite: every operation against SQLite and PostgreSQL.
#include "store/scenario_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <set>
#include <thread>

#include "backend_fixture.hpp"

namespace switchboard::store::testing {
namespace {

using core::ConnectionId;
using core::Errc;
using core::TeamId;
using core::UserId;

TEST(ExecutionStatusNames, RoundTrip) {
    for (ExecutionStatus s : {ExecutionStatus::kQueued, ExecutionStatus::kRunning, ExecutionStatus::kSuccess,
                              ExecutionStatus::kWarning, ExecutionStatus::kError, ExecutionStatus::kIncomplete}) {
        auto parsed = ParseExecutionStatus(ExecutionStatusName(s));
        ASSERT_TRUE(parsed.has_value()) << ExecutionStatusName(s);
        EXPECT_EQ(*parsed, s);
    }
    EXPECT_EQ(ExecutionStatusName(ExecutionStatus::kIncomplete), "incomplete");
    EXPECT_FALSE(ParseExecutionStatus("Running").has_value());
    EXPECT_FALSE(ParseExecutionStatus("").has_value());
}

class ScenarioStoreTest : public BackendTest {
  protected:
    void SetUp() override {
        BackendTest::SetUp();
        store_ = MakeSqlStore(Open(), clock_);
        ASSERT_EQ(Must(store_->Migrate()), Store::LatestSchemaVersion());
        scenarios_ = MakeSqlScenarioStore(store_->db(), clock_);
        team_ = Must(store_->CreateTeam("Acme")).id;
        other_ = Must(store_->CreateTeam("Other")).id;
    }

    Scenario NewScenario(TeamId team, const std::string& name, const std::string& hook = "") {
        Scenario s;
        s.team_id = team;
        s.name = name;
        s.blueprint_json = R"({"name":")" + name + R"(","flow":[{"id":1,"module":"gmail:watch"}]})";
        s.scheduling_json = R"({"type":"indefinitely","interval":900})";
        s.inputs_json = R"([{"name":"department","type":"text","required":true}])";
        s.hook_token = hook;
        s.created_by = UserId(0);
        return s;
    }

    Scenario Create(TeamId team, const std::string& name, const std::string& hook = "") {
        return Must(scenarios_->CreateScenario(NewScenario(team, name, hook)));
    }

    ConnectionId NewConnection(TeamId team, const std::string& name, const std::string& type = "google") {
        Connection c;
        c.team_id = team;
        c.name = name;
        c.app = "gmail";
        c.type = type;
        c.sealed = SealedData{"k1", "wrapped-" + name, "cipher-" + name};
        c.status = ConnectionStatus::kVerified;
        return Must(store_->CreateConnection(c)).id;
    }

    Execution Enqueue(const Scenario& s, std::int64_t not_before = 0, const std::string& trigger = "run") {
        Execution e;
        e.team_id = s.team_id;
        e.scenario_id = s.id;
        e.trigger = trigger;
        e.input_json = R"({"inputs":{"department":"sales"}})";
        e.not_before = not_before;
        return Must(scenarios_->EnqueueExecution(e));
    }

    // Rows of a table that mention a scenario (the table names are constants of this test).
    std::int64_t CountFor(const std::string& table, std::int64_t scenario_id) {
        return Must(store_->db().Exec("SELECT COUNT(*) FROM " + table + " WHERE scenario_id = $1", {scenario_id}))
            .rows.at(0)
            .Int(0);
    }

    std::vector<std::int64_t> Ids(const std::vector<Execution>& list) {
        std::vector<std::int64_t> out;
        for (const auto& e : list) out.push_back(e.id);
        return out;
    }

    std::unique_ptr<Store> store_;
    std::unique_ptr<ScenarioStore> scenarios_;
    TeamId team_;
    TeamId other_;
};

// ---- scenarios ----

TEST_P(ScenarioStoreTest, CreateGetFindAndList) {
    Scenario in = NewScenario(team_, "Leads to CRM");
    in.id = 99;         // assigned by the store
    in.version = 7;     // likewise
    in.created_at = 5;  // likewise
    in.active = true;
    in.next_run_at = 1'700'000'900'000;
    in.created_by = UserId(0);
    const Scenario s = Must(scenarios_->CreateScenario(in));
    EXPECT_GT(s.id, 0);
    EXPECT_NE(s.id, 99);
    EXPECT_EQ(s.team_id, team_);
    EXPECT_EQ(s.version, 1);
    EXPECT_EQ(s.created_at, clock_.NowMillis());
    EXPECT_EQ(s.updated_at, clock_.NowMillis());
    EXPECT_EQ(s.name, "Leads to CRM");
    EXPECT_EQ(s.blueprint_json, in.blueprint_json);
    EXPECT_EQ(s.scheduling_json, in.scheduling_json);
    EXPECT_EQ(s.inputs_json, in.inputs_json);
    EXPECT_TRUE(s.active);
    EXPECT_FALSE(s.invalid);
    EXPECT_EQ(s.next_run_at, in.next_run_at);
    EXPECT_EQ(s.hook_token, "");
    EXPECT_EQ(s.consecutive_errors, 0);

    const Scenario got = Must(scenarios_->GetScenario(team_, s.id));
    EXPECT_EQ(got.name, s.name);
    EXPECT_EQ(got.blueprint_json, s.blueprint_json);
    EXPECT_EQ(got.next_run_at, s.next_run_at);
    EXPECT_TRUE(got.active);
    EXPECT_EQ(Must(scenarios_->FindScenario(s.id)).team_id, team_);

    // Another team's scenario reads as missing; FindScenario is team-blind by contract.
    EXPECT_TRUE(IsError(scenarios_->GetScenario(other_, s.id), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->GetScenario(team_, s.id + 1000), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->FindScenario(s.id + 1000), Errc::kNotFound));

    const Scenario b = Create(team_, "B");
    const Scenario c = Create(team_, "C");
    Create(other_, "Theirs");
    auto all = Must(scenarios_->ListScenarios(team_, Page{}));
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].id, s.id);
    EXPECT_EQ(all[1].id, b.id);
    EXPECT_EQ(all[2].id, c.id);
    auto second = Must(scenarios_->ListScenarios(team_, Page{1, 1}));
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].id, b.id);
    EXPECT_EQ(Must(scenarios_->ListScenarios(other_, Page{})).size(), 1u);
}

TEST_P(ScenarioStoreTest, CreateRefusesBadInput) {
    Scenario bad = NewScenario(team_, "x");
    bad.blueprint_json = "{not json";
    EXPECT_TRUE(IsError(scenarios_->CreateScenario(bad), Errc::kInvalidArgument));
    bad = NewScenario(team_, "x");
    bad.inputs_json = "{}";
    EXPECT_TRUE(IsError(scenarios_->CreateScenario(bad), Errc::kInvalidArgument));
    bad = NewScenario(team_, "x");
    bad.scheduling_json = "[]";
    EXPECT_TRUE(IsError(scenarios_->CreateScenario(bad), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(scenarios_->CreateScenario(NewScenario(TeamId(424242), "x")), Errc::kNotFound));
    EXPECT_TRUE(Must(scenarios_->ListScenarios(team_, Page{})).empty());

    // Empty JSON texts stand for their defaults.
    Scenario empty = NewScenario(team_, "defaults");
    empty.blueprint_json.clear();
    empty.scheduling_json.clear();
    empty.inputs_json.clear();
    const Scenario s = Must(scenarios_->CreateScenario(empty));
    EXPECT_EQ(s.blueprint_json, "{}");
    EXPECT_EQ(s.scheduling_json, R"({"type":"on-demand"})");
    EXPECT_EQ(s.inputs_json, "[]");
}

TEST_P(ScenarioStoreTest, AnExecutionCanBeInsertedAlreadyClaimed) {
    const Scenario s = Create(team_, "Hook");
    Execution e;
    e.team_id = team_;
    e.scenario_id = s.id;
    e.trigger = "webhook";
    e.status = ExecutionStatus::kRunning;
    e.claimed_by = "node-a";
    const Execution mine = Must(scenarios_->EnqueueExecution(e));
    EXPECT_EQ(mine.status, ExecutionStatus::kRunning);
    EXPECT_EQ(mine.claimed_by, "node-a");
    EXPECT_EQ(mine.attempts, 1);
    EXPECT_TRUE(mine.started_at.has_value());
    // No worker can take it, and only its holder can finish it.
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-b", clock_.NowMillis() + 1000, 10)).empty());
    ExecutionOutcome done;
    EXPECT_FALSE(Must(scenarios_->FinishExecution(mine.id, "node-b", done)));
    EXPECT_TRUE(Must(scenarios_->FinishExecution(mine.id, "node-a", done)));
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, mine.id)).status, ExecutionStatus::kSuccess);
}

TEST_P(ScenarioStoreTest, AFinishedRunIsRecordedInOneWriteUnderItsReservedId) {
    const Scenario s = Create(team_, "Hook");
    const std::int64_t id = Must(scenarios_->ReserveExecutionId());
    // Ids reserved and ids of queued executions never collide.
    const Execution queued = Enqueue(s);
    EXPECT_NE(queued.id, id);
    EXPECT_NE(Must(scenarios_->ReserveExecutionId()), id);

    Execution e;
    e.id = id;
    e.team_id = team_;
    e.scenario_id = s.id;
    e.trigger = "webhook";
    e.input_json = R"({"inputs":{},"bundle":{"item":7}})";
    e.created_at = 1000;
    e.started_at = 1000;
    ExecutionOutcome outcome;
    outcome.status = ExecutionStatus::kWarning;
    outcome.operations = 3;
    outcome.error_type = "DataError";
    outcome.error_message = "ignored";
    outcome.error_module_id = 2;
    outcome.log_json = R"([{"moduleId":1}])";
    outcome.result_json = R"({"status":200})";
    outcome.cursors = {{1, R"({"id":10})"}};
    EXPECT_EQ(Must(scenarios_->RecordExecution(e, outcome)), id);

    const Execution stored = Must(scenarios_->GetExecution(team_, id));
    EXPECT_EQ(stored.status, ExecutionStatus::kWarning);
    EXPECT_EQ(stored.trigger, "webhook");
    EXPECT_EQ(stored.input_json, e.input_json);
    EXPECT_EQ(stored.operations, 3);
    EXPECT_EQ(stored.error_type, "DataError");
    EXPECT_EQ(stored.error_module_id, 2);
    EXPECT_EQ(stored.log_json, outcome.log_json);
    EXPECT_EQ(stored.result_json, outcome.result_json);
    EXPECT_EQ(stored.attempts, 1);
    EXPECT_EQ(stored.created_at, 1000);
    EXPECT_EQ(stored.started_at, std::optional<std::int64_t>(1000));
    EXPECT_TRUE(stored.finished_at.has_value());
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)), (std::map<std::int64_t, std::string>{{1, R"({"id":10})"}}));
    // Nothing queued or running is left of it: a worker finds only the queued execution.
    const auto claimable = Must(scenarios_->ClaimExecutions("node-b", clock_.NowMillis() + 1000, 10));
    ASSERT_EQ(claimable.size(), 1u);
    EXPECT_EQ(claimable[0].id, queued.id);
    // An id in use is never overwritten: recorded again, it gets a new one.
    EXPECT_NE(Must(scenarios_->RecordExecution(e, outcome)), id);
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, id)).status, ExecutionStatus::kWarning);

    // Bad input changes nothing: an unfinished status, malformed JSON, another team's scenario.
    ExecutionOutcome running;
    running.status = ExecutionStatus::kRunning;
    e.id = Must(scenarios_->ReserveExecutionId());
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, running), Errc::kInvalidArgument));
    ExecutionOutcome bad;
    for (const char* log : {"{not json", "[] x", "{}", "\"[]\"", "[1,]", "[/* c */]"}) {
        bad.log_json = log;
        EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, bad), Errc::kInvalidArgument)) << log;
    }
    bad.log_json = "[]";
    bad.result_json = "[]";  // an object or nothing
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, bad), Errc::kInvalidArgument));
    Execution foreign = e;
    foreign.team_id = other_;
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(foreign, ExecutionOutcome{}), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->GetExecution(team_, e.id), Errc::kNotFound));

    // JSON the caller serialised itself is not parsed again, but its shape is still checked.
    ExecutionOutcome serialised;
    serialised.json_serialised = true;
    serialised.log_json = "{}";
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, serialised), Errc::kInvalidArgument));
    serialised.log_json = "[]";
    serialised.result_json = "[1]";
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, serialised), Errc::kInvalidArgument));
    serialised.cursors = {{1, "{bad"}};  // cursors come from apps: always parsed
    serialised.result_json = R"({"a":1})";
    EXPECT_TRUE(IsError(scenarios_->RecordExecution(e, serialised), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(scenarios_->GetExecution(team_, e.id), Errc::kNotFound));
    serialised.cursors.clear();
    serialised.log_json = R"([{"moduleId":1,"input":"{\"a\":1}"}])";
    EXPECT_EQ(Must(scenarios_->RecordExecution(e, serialised)), e.id);
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, e.id)).log_json, serialised.log_json);
}

// The queue's indexes hold only waiting and running rows (migration 6), and the claim and the recovery use them.
TEST_P(ScenarioStoreTest, QueueIndexesHoldOnlyQueuedAndRunningExecutions) {
    const Scenario s = Create(team_, "Queue");
    for (int i = 0; i < 20; ++i) {
        Execution e;
        e.id = Must(scenarios_->ReserveExecutionId());
        e.team_id = team_;
        e.scenario_id = s.id;
        e.trigger = "webhook";
        e.created_at = clock_.NowMillis();
        ASSERT_EQ(Must(scenarios_->RecordExecution(e, ExecutionOutcome{})), e.id);
    }
    const Execution queued = Enqueue(s);
    const Execution running = Enqueue(s);
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(running.id, "node-a", clock_.NowMillis())));
    if (GetParam() == Backend::kSqlite) {
        // Entries of a partial index are only the rows matching its condition.
        const auto count = [&](const std::string& index, const std::string& status) {
            return Must(store_->db().Exec("SELECT COUNT(*) FROM executions INDEXED BY " + index + " WHERE status = '" +
                                          status + "'"))
                .rows.at(0)
                .Int(0);
        };
        EXPECT_EQ(count("executions_queued", "queued"), 1);
        EXPECT_EQ(count("executions_running", "running"), 1);
        // The store's own statements, with bound parameters as they run (a literal can get another plan).
        const auto plan = [&](const std::string& sql, const std::vector<Value>& params) {
            std::string text;
            for (const auto& row : Must(store_->db().Exec("EXPLAIN QUERY PLAN " + sql, params)).rows) {
                text += row.Text(3) + "; ";
            }
            return text;
        };
        const std::string claim = plan(
            "UPDATE executions SET status = 'running', claimed_by = $1, started_at = $2, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM executions WHERE status = 'queued' AND not_before <= $2 ORDER BY id LIMIT $3)"
            " AND status = 'queued' RETURNING id",
            {std::string("node"), std::int64_t{5}, std::int64_t{3}});
        EXPECT_NE(claim.find("USING INDEX executions_queued"), std::string::npos) << claim;
        EXPECT_EQ(claim.find("SCAN executions; "), std::string::npos) << claim;  // never the whole table
        const std::string recover = plan(
            "UPDATE executions SET status = 'queued', claimed_by = '' WHERE status = 'running' AND started_at < $1",
            {std::int64_t{5}});
        EXPECT_NE(recover.find("USING INDEX executions_running"), std::string::npos) << recover;
        EXPECT_TRUE(
            Must(store_->db().Exec("SELECT name FROM sqlite_master WHERE name = 'executions_claim'")).rows.empty());
    } else {
        auto defs = Must(store_->db().Exec(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'executions' ORDER BY indexname"));
        std::string all;
        for (const auto& row : defs.rows) all += row.Text(0) + ": " + row.Text(1) + "\n";
        EXPECT_NE(all.find("executions_queued: CREATE INDEX executions_queued ON"), std::string::npos) << all;
        EXPECT_NE(all.find("WHERE (status = 'queued'::text)"), std::string::npos) << all;
        EXPECT_NE(all.find("WHERE (status = 'running'::text)"), std::string::npos) << all;
        EXPECT_EQ(all.find("executions_claim"), std::string::npos) << all;
    }
    const auto claimed = Must(scenarios_->ClaimExecutions("node-b", clock_.NowMillis() + 1000, 10));
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, queued.id);
    EXPECT_EQ(Must(scenarios_->RequeueStaleExecutions(clock_.NowMillis() + 2000)), 2);
}

TEST_P(ScenarioStoreTest, IdsTakenBehindTheStoresBackAreSkipped) {
    const Scenario s = Create(team_, "Hook");
    const std::int64_t reserved = Must(scenarios_->ReserveExecutionId());
    // Another writer inserts the next ids itself, behind the store's back (SQLite: another process on the same
    // file, past this process's counter; PostgreSQL: explicit ids the identity sequence has not handed out yet).
    for (std::int64_t id = reserved; id < reserved + 3; ++id) {
        Must(store_->db().Exec(
            "INSERT INTO executions (id, team_id, scenario_id, status, trigger_type, input_json, operations,"
            " error_type, error_message, error_module_id, log_json, result_json, claimed_by, attempts, not_before,"
            " created_at) VALUES ($1, $2, $3, 'queued', 'run', '{}', 0, '', '', 0, '[]', '', '', 0, 0, 0)",
            {id, team_.value(), s.id}));
    }
    const Execution queued = Enqueue(s);
    EXPECT_GE(queued.id, reserved + 3);
    Execution e;
    e.id = reserved;  // taken meanwhile: recorded under a new id
    e.team_id = team_;
    e.scenario_id = s.id;
    e.trigger = "webhook";
    const std::int64_t recorded = Must(scenarios_->RecordExecution(e, ExecutionOutcome{}));
    EXPECT_GT(recorded, queued.id);
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, recorded)).status, ExecutionStatus::kSuccess);
}

TEST_P(ScenarioStoreTest, HookTokensAreUniqueAndFindTheirScenario) {
    const Scenario hooked = Create(team_, "Hooked", "tok-1");
    // Scenarios without a hook do not collide with each other.
    Create(team_, "No hook 1");
    Create(team_, "No hook 2");
    EXPECT_TRUE(IsError(scenarios_->CreateScenario(NewScenario(other_, "Thief", "tok-1")), Errc::kConflict));

    auto found = Must(scenarios_->FindScenarioByHook("tok-1"));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, hooked.id);
    EXPECT_EQ(found->hook_token, "tok-1");
    EXPECT_FALSE(Must(scenarios_->FindScenarioByHook("tok-2")).has_value());
    EXPECT_FALSE(Must(scenarios_->FindScenarioByHook("")).has_value());

    // Taking a used token on update conflicts too and changes nothing.
    Scenario other = Create(team_, "Other");
    other.hook_token = "tok-1";
    EXPECT_TRUE(IsError(scenarios_->UpdateScenario(other, other.version), Errc::kConflict));
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, other.id)).hook_token, "");
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, other.id)).version, 1);
}

// A webhook's lookup sees every write made through the store at once, on both backends (SQLite keeps the rows in
// memory and drops them on every scenario write); a change behind the store's back is seen within a second.
TEST_P(ScenarioStoreTest, HookLookupsSeeEveryWriteThroughTheStore) {
    const Scenario s = Create(team_, "Hooked", "tok-w");
    EXPECT_EQ(Must(scenarios_->FindScenarioByHook("tok-w"))->name, "Hooked");

    Scenario edit = s;
    edit.name = "Renamed";
    edit.active = true;
    const Scenario v2 = Must(scenarios_->UpdateScenario(edit, s.version));
    auto found = Must(scenarios_->FindScenarioByHook("tok-w"));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->name, "Renamed");
    EXPECT_TRUE(found->active);
    EXPECT_EQ(found->version, v2.version);

    // A run outcome (consecutive errors, and the stop at max_errors) is seen by the next lookup.
    Must(scenarios_->RecordRunOutcome(s.id, true, 0, ""));
    EXPECT_EQ(Must(scenarios_->FindScenarioByHook("tok-w"))->consecutive_errors, 1);
    Must(scenarios_->RecordRunOutcome(s.id, true, 2, "two failures"));
    found = Must(scenarios_->FindScenarioByHook("tok-w"));
    EXPECT_FALSE(found->active);
    EXPECT_EQ(found->consecutive_errors, 2);
    Must(scenarios_->RecordRunOutcome(s.id, false, 2, ""));
    EXPECT_EQ(Must(scenarios_->FindScenarioByHook("tok-w"))->consecutive_errors, 0);

    // Behind the store's back: seen at once on PostgreSQL, within a second on SQLite.
    const auto before = std::chrono::steady_clock::now();
    Must(store_->db().Exec("UPDATE scenarios SET name = 'Behind' WHERE id = $1", {s.id}));
    const std::string right_after = Must(scenarios_->FindScenarioByHook("tok-w"))->name;
    if (GetParam() == Backend::kPostgres) {
        EXPECT_EQ(right_after, "Behind");
    } else if (std::chrono::steady_clock::now() - before < std::chrono::milliseconds(500)) {
        EXPECT_EQ(right_after, "Renamed");  // served from memory
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(Must(scenarios_->FindScenarioByHook("tok-w"))->name, "Behind");

    Must(scenarios_->DeleteScenario(team_, s.id));
    EXPECT_FALSE(Must(scenarios_->FindScenarioByHook("tok-w")).has_value());
}

TEST_P(ScenarioStoreTest, UpdateIsFencedOnVersion) {
    const Scenario s = Create(team_, "Original");
    const ConnectionId conn = NewConnection(team_, "Gmail");
    Must(scenarios_->ReplaceScenarioUsage(team_, s.id,
                                          {ConnectionUsage{conn, team_, s.id, "Original", false, true, "[]"}}, {}));

    clock_.Advance(std::chrono::seconds(5));
    Scenario edit = s;
    edit.name = "Renamed";
    edit.blueprint_json = R"({"flow":[]})";
    edit.active = true;
    edit.invalid = true;
    edit.invalid_reason = "why";
    edit.consecutive_errors = 2;
    edit.hook_token = "hook-x";
    edit.next_run_at = 1234;
    edit.created_at = 1;  // not written
    const Scenario v2 = Must(scenarios_->UpdateScenario(edit, 1));
    EXPECT_EQ(v2.version, 2);
    EXPECT_EQ(v2.name, "Renamed");
    EXPECT_EQ(v2.blueprint_json, R"({"flow":[]})");
    EXPECT_TRUE(v2.active);
    EXPECT_TRUE(v2.invalid);
    EXPECT_EQ(v2.invalid_reason, "why");
    EXPECT_EQ(v2.consecutive_errors, 2);
    EXPECT_EQ(v2.hook_token, "hook-x");
    EXPECT_EQ(v2.next_run_at, 1234);
    EXPECT_EQ(v2.created_at, s.created_at);
    EXPECT_EQ(v2.updated_at, clock_.NowMillis());
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).name, "Renamed");

    // The usage index follows the name and the on/off state.
    auto usage = Must(store_->ListConnectionUsage(conn));
    ASSERT_EQ(usage.size(), 1u);
    EXPECT_EQ(usage[0].scenario_name, "Renamed");
    EXPECT_TRUE(usage[0].active);

    // An editor that loaded version 1 lost the race: nothing changes.
    Scenario stale = s;
    stale.name = "Stale";
    EXPECT_TRUE(IsError(scenarios_->UpdateScenario(stale, 1), Errc::kConflict));
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).name, "Renamed");
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).version, 2);

    // Clearing the hook and the schedule stores NULLs that read back as empty.
    Scenario clear = v2;
    clear.hook_token.clear();
    clear.next_run_at.reset();
    const Scenario v3 = Must(scenarios_->UpdateScenario(clear, 2));
    EXPECT_EQ(v3.version, 3);
    EXPECT_EQ(v3.hook_token, "");
    EXPECT_FALSE(v3.next_run_at.has_value());
    EXPECT_FALSE(Must(scenarios_->FindScenarioByHook("hook-x")).has_value());

    // Another team cannot update it, even with the right version; a missing one is not found.
    Scenario foreign = v3;
    foreign.team_id = other_;
    foreign.name = "Hijacked";
    EXPECT_TRUE(IsError(scenarios_->UpdateScenario(foreign, 3), Errc::kNotFound));
    Scenario missing = v3;
    missing.id = v3.id + 1000;
    EXPECT_TRUE(IsError(scenarios_->UpdateScenario(missing, 3), Errc::kNotFound));
    Scenario bad = v3;
    bad.blueprint_json = "[";
    EXPECT_TRUE(IsError(scenarios_->UpdateScenario(bad, 3), Errc::kInvalidArgument));
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).name, "Renamed");
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).version, 3);
}

TEST_P(ScenarioStoreTest, RunOutcomesStopTheScenarioAtMaxErrors) {
    Scenario in = NewScenario(team_, "Flaky");
    in.active = true;
    const Scenario s = Must(scenarios_->CreateScenario(in));
    const ConnectionId conn = NewConnection(team_, "Gmail");
    Must(scenarios_->ReplaceScenarioUsage(team_, s.id, {ConnectionUsage{conn, team_, s.id, "", true, true, "[]"}}, {}));

    Scenario r = Must(scenarios_->RecordRunOutcome(s.id, true, 3, "too many errors"));
    EXPECT_EQ(r.consecutive_errors, 1);
    EXPECT_TRUE(r.active);
    EXPECT_EQ(r.version, 1);  // counting is not an edit
    r = Must(scenarios_->RecordRunOutcome(s.id, false, 3, ""));
    EXPECT_EQ(r.consecutive_errors, 0);  // a success resets the count
    EXPECT_EQ(r.version, 1);

    clock_.Advance(std::chrono::seconds(1));
    EXPECT_EQ(Must(scenarios_->RecordRunOutcome(s.id, true, 3, "too many errors")).consecutive_errors, 1);
    EXPECT_EQ(Must(scenarios_->RecordRunOutcome(s.id, true, 3, "too many errors")).consecutive_errors, 2);
    EXPECT_TRUE(Must(scenarios_->GetScenario(team_, s.id)).active);
    r = Must(scenarios_->RecordRunOutcome(s.id, true, 3, "too many errors"));
    EXPECT_EQ(r.consecutive_errors, 3);
    EXPECT_FALSE(r.active);
    EXPECT_TRUE(r.invalid);
    EXPECT_EQ(r.invalid_reason, "too many errors");
    EXPECT_EQ(r.version, 2);  // stopping is: an editor holding version 1 must reload
    EXPECT_EQ(r.updated_at, clock_.NowMillis());
    EXPECT_FALSE(Must(store_->ListConnectionUsage(conn)).at(0).active);

    // Later failures (runs queued before the stop) count but neither bump the version nor change the reason.
    r = Must(scenarios_->RecordRunOutcome(s.id, true, 3, "another reason"));
    EXPECT_EQ(r.consecutive_errors, 4);
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.invalid_reason, "too many errors");

    // max_errors 0: never stopped.
    Scenario in2 = NewScenario(team_, "Tolerant");
    in2.active = true;
    const Scenario t = Must(scenarios_->CreateScenario(in2));
    for (int i = 0; i < 5; ++i) r = Must(scenarios_->RecordRunOutcome(t.id, true, 0, "x"));
    EXPECT_EQ(r.consecutive_errors, 5);
    EXPECT_TRUE(r.active);
    EXPECT_FALSE(r.invalid);

    EXPECT_TRUE(IsError(scenarios_->RecordRunOutcome(t.id + 1000, true, 3, "x"), Errc::kNotFound));
}

TEST_P(ScenarioStoreTest, DueScenariosAndAdvanceNextRun) {
    const std::int64_t now = clock_.NowMillis();
    auto make = [&](const std::string& name, bool active, std::optional<std::int64_t> next, bool invalid = false) {
        Scenario s = NewScenario(team_, name);
        s.active = active;
        s.invalid = invalid;
        s.next_run_at = next;
        return Must(scenarios_->CreateScenario(s));
    };
    const Scenario late = make("late", true, now - 1000);
    const Scenario later = make("later", true, now - 5000);
    const Scenario exact = make("exact", true, now);
    make("future", true, now + 1);
    make("inactive", false, now - 10000);
    make("unscheduled", true, std::nullopt);
    make("invalid", true, now - 10000, true);
    Scenario theirs = NewScenario(other_, "theirs");
    theirs.active = true;
    theirs.next_run_at = now - 3000;
    const Scenario their = Must(scenarios_->CreateScenario(theirs));

    auto due = Must(scenarios_->ListDueScenarios(now, 10));
    std::vector<std::int64_t> ids;
    for (const auto& s : due) ids.push_back(s.id);
    EXPECT_EQ(ids, (std::vector<std::int64_t>{later.id, their.id, late.id, exact.id}));
    EXPECT_EQ(Must(scenarios_->ListDueScenarios(now, 2)).size(), 2u);
    EXPECT_TRUE(Must(scenarios_->ListDueScenarios(now, 0)).empty());

    // Compare-and-set: the first mover wins, a second one that saw the same value loses.
    EXPECT_TRUE(Must(scenarios_->AdvanceNextRun(late.id, now - 1000, now + 60000)));
    EXPECT_FALSE(Must(scenarios_->AdvanceNextRun(late.id, now - 1000, now + 120000)));
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, late.id)).next_run_at, now + 60000);
    // To none: no longer due.
    EXPECT_TRUE(Must(scenarios_->AdvanceNextRun(exact.id, now, std::nullopt)));
    EXPECT_FALSE(Must(scenarios_->GetScenario(team_, exact.id)).next_run_at.has_value());
    EXPECT_EQ(Must(scenarios_->ListDueScenarios(now, 10)).size(), 2u);
    EXPECT_TRUE(IsError(scenarios_->AdvanceNextRun(late.id + 1000, 0, 1), Errc::kNotFound));
    // Scheduler bookkeeping is not an edit.
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, late.id)).version, 1);
}

TEST_P(ScenarioStoreTest, ConcurrentAdvanceNextRunHasOneWinner) {
    constexpr int kThreads = 4;
    constexpr int kRounds = 20;
    Scenario in = NewScenario(team_, "Scheduled");
    in.active = true;
    in.next_run_at = 1000;
    const Scenario s = Must(scenarios_->CreateScenario(in));
    std::vector<std::unique_ptr<Db>> dbs;
    std::vector<std::unique_ptr<ScenarioStore>> nodes;
    for (int i = 0; i < kThreads; ++i) {
        dbs.push_back(Open());
        nodes.push_back(MakeSqlScenarioStore(*dbs.back(), clock_));
    }
    for (int round = 0; round < kRounds; ++round) {
        const std::int64_t expected = 1000 + round;
        std::latch start(kThreads);
        std::vector<int> wins(kThreads, 0);
        std::vector<std::string> errors(kThreads);
        std::vector<std::thread> threads;
        for (int i = 0; i < kThreads; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                auto r = nodes[i]->AdvanceNextRun(s.id, expected, expected + 1);
                if (!r) {
                    errors[i] = Describe(r.error());
                } else {
                    wins[i] = *r ? 1 : 0;
                }
            });
        }
        for (auto& t : threads) t.join();
        for (const auto& e : errors) ASSERT_EQ(e, "");
        ASSERT_EQ(std::count(wins.begin(), wins.end(), 1), 1) << "round " << round;
    }
    EXPECT_EQ(Must(scenarios_->GetScenario(team_, s.id)).next_run_at, 1000 + kRounds);
}

// ---- usage index ----

TEST_P(ScenarioStoreTest, ReplaceScenarioUsageSwapsTheRowsAtOnce) {
    const Scenario s = Create(team_, "Uses");
    const Scenario other_scenario = Create(team_, "Also uses");
    const ConnectionId a = NewConnection(team_, "A");
    const ConnectionId b = NewConnection(team_, "B");
    const ConnectionId theirs = NewConnection(other_, "Theirs");
    DynamicConnection d;
    d.team_id = team_;
    d.name = "Per department";
    d.connection_type = "google";
    d.members = {{a, "sales"}};
    const DynamicConnection dyn = Must(scenarios_->CreateDynamicConnection(d));
    DynamicConnection td;
    td.team_id = other_;
    td.name = "Theirs";
    td.connection_type = "google";
    const DynamicConnection their_dyn = Must(scenarios_->CreateDynamicConnection(td));

    Must(scenarios_->ReplaceScenarioUsage(team_, s.id,
                                          {ConnectionUsage{a, team_, s.id, "", true, false, R"(["mail.read"])"},
                                           ConnectionUsage{b, TeamId(0), 0, "Custom", false, true, ""}},
                                          {dyn.id, dyn.id}));
    Must(scenarios_->ReplaceScenarioUsage(
        team_, other_scenario.id, {ConnectionUsage{a, team_, other_scenario.id, "", false, false, "[]"}}, {dyn.id}));
    auto used_a = Must(store_->ListConnectionUsage(a));
    ASSERT_EQ(used_a.size(), 2u);
    EXPECT_EQ(used_a[0].scenario_id, s.id);
    EXPECT_EQ(used_a[0].scenario_name, "Uses");  // filled in from the scenario
    EXPECT_EQ(used_a[0].team_id, team_);
    EXPECT_TRUE(used_a[0].active);
    EXPECT_EQ(used_a[0].required_scopes_json, R"(["mail.read"])");
    auto used_b = Must(store_->ListConnectionUsage(b));
    ASSERT_EQ(used_b.size(), 1u);
    EXPECT_EQ(used_b[0].scenario_name, "Custom");
    EXPECT_EQ(used_b[0].team_id, team_);
    EXPECT_EQ(used_b[0].required_scopes_json, "[]");
    EXPECT_EQ(Must(scenarios_->ListScenariosUsingDynamic(dyn.id)),
              (std::vector<std::int64_t>{s.id, other_scenario.id}));

    // Replaced: b and the dynamic connection are gone for s, the other scenario's rows stay.
    Must(scenarios_->ReplaceScenarioUsage(team_, s.id, {ConnectionUsage{a, team_, s.id, "", false, false, "[]"}}, {}));
    EXPECT_TRUE(Must(store_->ListConnectionUsage(b)).empty());
    EXPECT_EQ(Must(store_->ListConnectionUsage(a)).size(), 2u);
    EXPECT_FALSE(Must(store_->ListConnectionUsage(a))[0].active);
    EXPECT_EQ(Must(scenarios_->ListScenariosUsingDynamic(dyn.id)), (std::vector<std::int64_t>{other_scenario.id}));

    // Refused as a whole (nothing replaced): another team's connection or dynamic connection, a duplicate, bad
    // scopes, another team's scenario.
    auto refused = scenarios_->ReplaceScenarioUsage(team_, s.id,
                                                    {ConnectionUsage{b, team_, s.id, "", true, true, "[]"},
                                                     ConnectionUsage{theirs, team_, s.id, "", true, true, "[]"}},
                                                    {});
    ASSERT_TRUE(IsError(refused, Errc::kInvalidArgument));
    EXPECT_NE(refused.error().detail.find(std::to_string(theirs.value())), std::string::npos) << refused.error().detail;
    EXPECT_TRUE(IsError(scenarios_->ReplaceScenarioUsage(team_, s.id, {}, {their_dyn.id}), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(scenarios_->ReplaceScenarioUsage(team_, s.id,
                                                         {ConnectionUsage{b, team_, s.id, "", true, true, "[]"},
                                                          ConnectionUsage{b, team_, s.id, "", true, true, "[]"}},
                                                         {}),
                        Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(
        scenarios_->ReplaceScenarioUsage(team_, s.id, {ConnectionUsage{b, team_, s.id, "", true, true, "[1]"}}, {}),
        Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(scenarios_->ReplaceScenarioUsage(other_, s.id, {}, {}), Errc::kNotFound));
    EXPECT_TRUE(Must(store_->ListConnectionUsage(b)).empty());
    auto still = Must(store_->ListConnectionUsage(a));
    EXPECT_EQ(still.size(), 2u);

    // A blueprint may still name a deleted connection or dynamic connection: those ids are skipped, the rest is
    // written.
    Must(scenarios_->ReplaceScenarioUsage(team_, s.id,
                                          {ConnectionUsage{ConnectionId(987654), team_, s.id, "", true, true, "[]"},
                                           ConnectionUsage{b, team_, s.id, "", true, true, "[]"}},
                                          {987654, dyn.id}));
    EXPECT_EQ(CountFor("connection_usage", s.id), 1);
    EXPECT_EQ(Must(store_->ListConnectionUsage(b)).size(), 1u);
    EXPECT_EQ(Must(scenarios_->ListScenariosUsingDynamic(dyn.id)),
              (std::vector<std::int64_t>{s.id, other_scenario.id}));
    EXPECT_EQ(CountFor("scenario_dynamic_usage", s.id), 1);
}

// ---- executions ----

TEST_P(ScenarioStoreTest, EnqueueAndClaim) {
    const Scenario s = Create(team_, "Runs");
    const std::int64_t now = clock_.NowMillis();
    const Execution first = Enqueue(s, 0, "webhook");
    EXPECT_GT(first.id, 0);
    EXPECT_EQ(first.status, ExecutionStatus::kQueued);
    EXPECT_EQ(first.team_id, team_);
    EXPECT_EQ(first.scenario_id, s.id);
    EXPECT_EQ(first.trigger, "webhook");
    EXPECT_EQ(first.input_json, R"({"inputs":{"department":"sales"}})");
    EXPECT_EQ(first.created_at, now);
    EXPECT_EQ(first.attempts, 0);
    EXPECT_EQ(first.claimed_by, "");
    EXPECT_FALSE(first.started_at.has_value());
    EXPECT_FALSE(first.finished_at.has_value());
    const Execution second = Enqueue(s, now);
    const Execution delayed = Enqueue(s, now + 60000);
    const Execution third = Enqueue(s, now - 1);

    // Another team cannot enqueue into this scenario; bad input is refused.
    Execution foreign;
    foreign.team_id = other_;
    foreign.scenario_id = s.id;
    EXPECT_TRUE(IsError(scenarios_->EnqueueExecution(foreign), Errc::kNotFound));
    Execution bad;
    bad.team_id = team_;
    bad.scenario_id = s.id;
    bad.input_json = "[]";
    EXPECT_TRUE(IsError(scenarios_->EnqueueExecution(bad), Errc::kInvalidArgument));

    // Oldest first, limited, only what is due.
    clock_.Advance(std::chrono::seconds(1));
    const std::int64_t later = clock_.NowMillis();
    auto claimed = Must(scenarios_->ClaimExecutions("node-a", later, 2));
    EXPECT_EQ(Ids(claimed), (std::vector<std::int64_t>{first.id, second.id}));
    for (const auto& e : claimed) {
        EXPECT_EQ(e.status, ExecutionStatus::kRunning);
        EXPECT_EQ(e.claimed_by, "node-a");
        EXPECT_EQ(e.started_at, later);
        EXPECT_EQ(e.attempts, 1);
    }
    EXPECT_EQ(Ids(Must(scenarios_->ClaimExecutions("node-b", later, 10))), (std::vector<std::int64_t>{third.id}));
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-b", later, 10)).empty());
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-b", later, 0)).empty());
    EXPECT_TRUE(IsError(scenarios_->ClaimExecutions("", later, 10), Errc::kInvalidArgument));

    // The delayed row becomes claimable when its time comes.
    auto due = Must(scenarios_->ClaimExecutions("node-b", now + 60000, 10));
    EXPECT_EQ(Ids(due), (std::vector<std::int64_t>{delayed.id}));

    // A single row: once.
    const Execution hook = Enqueue(s, later, "webhook");
    EXPECT_TRUE(Must(scenarios_->ClaimExecution(hook.id, "node-c", later)));
    EXPECT_FALSE(Must(scenarios_->ClaimExecution(hook.id, "node-d", later)));
    const Execution got = Must(scenarios_->GetExecution(team_, hook.id));
    EXPECT_EQ(got.status, ExecutionStatus::kRunning);
    EXPECT_EQ(got.claimed_by, "node-c");
    EXPECT_EQ(got.attempts, 1);
    EXPECT_TRUE(IsError(scenarios_->ClaimExecution(hook.id + 1000, "node-c", later), Errc::kNotFound));
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-b", later, 10)).empty());
}

TEST_P(ScenarioStoreTest, FinishIsFencedOnTheHolder) {
    const Scenario s = Create(team_, "Runs");
    const Execution e = Enqueue(s);
    ASSERT_EQ(Must(scenarios_->ClaimExecutions("node-a", clock_.NowMillis(), 1)).size(), 1u);

    ExecutionOutcome outcome;
    outcome.status = ExecutionStatus::kWarning;
    outcome.operations = 4;
    outcome.error_type = "DataError";
    outcome.error_message = "field missing";
    outcome.error_module_id = 3;
    outcome.log_json = R"([{"module":1,"ops":1}])";
    outcome.result_json = R"({"status":202,"body":"ok"})";
    outcome.cursors = {{1, R"({"since":"2024-01-01"})"}};

    // Not the holder: nothing written, cursors included.
    EXPECT_FALSE(Must(scenarios_->FinishExecution(e.id, "node-b", outcome)));
    Execution now = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(now.status, ExecutionStatus::kRunning);
    EXPECT_EQ(now.operations, 0);
    EXPECT_FALSE(now.finished_at.has_value());
    EXPECT_TRUE(Must(scenarios_->GetCursors(s.id)).empty());

    clock_.Advance(std::chrono::seconds(2));
    EXPECT_TRUE(Must(scenarios_->FinishExecution(e.id, "node-a", outcome)));
    now = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(now.status, ExecutionStatus::kWarning);
    EXPECT_EQ(now.operations, 4);
    EXPECT_EQ(now.error_type, "DataError");
    EXPECT_EQ(now.error_message, "field missing");
    EXPECT_EQ(now.error_module_id, 3);
    EXPECT_EQ(now.log_json, outcome.log_json);
    EXPECT_EQ(now.result_json, outcome.result_json);
    EXPECT_EQ(now.finished_at, clock_.NowMillis());
    EXPECT_EQ(now.claimed_by, "node-a");
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)), (std::map<std::int64_t, std::string>{{1, outcome.cursors[1]}}));

    // Finished: a second finish (even by the holder) is refused and writes nothing.
    ExecutionOutcome again;
    again.status = ExecutionStatus::kError;
    again.cursors = {{1, R"({"since":"2030-01-01"})"}, {2, "7"}};
    EXPECT_FALSE(Must(scenarios_->FinishExecution(e.id, "node-a", again)));
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, e.id)).status, ExecutionStatus::kWarning);
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)).size(), 1u);
    EXPECT_FALSE(Must(scenarios_->FinishExecution(e.id + 1000, "node-a", again)));

    // Bad outcomes are refused before anything is written.
    const Execution f = Enqueue(s);
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(f.id, "node-a", clock_.NowMillis())));
    ExecutionOutcome running;
    running.status = ExecutionStatus::kRunning;
    EXPECT_TRUE(IsError(scenarios_->FinishExecution(f.id, "node-a", running), Errc::kInvalidArgument));
    ExecutionOutcome bad_cursor;
    bad_cursor.cursors = {{1, "{oops"}};
    EXPECT_TRUE(IsError(scenarios_->FinishExecution(f.id, "node-a", bad_cursor), Errc::kInvalidArgument));
    ExecutionOutcome bad_log;
    bad_log.log_json = "{}";
    EXPECT_TRUE(IsError(scenarios_->FinishExecution(f.id, "node-a", bad_log), Errc::kInvalidArgument));
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, f.id)).status, ExecutionStatus::kRunning);

    // An incomplete run is final for the queue (kept for a manual retry).
    ExecutionOutcome incomplete;
    incomplete.status = ExecutionStatus::kIncomplete;
    EXPECT_TRUE(Must(scenarios_->FinishExecution(f.id, "node-a", incomplete)));
    const Execution fin = Must(scenarios_->GetExecution(team_, f.id));
    EXPECT_EQ(fin.status, ExecutionStatus::kIncomplete);
    EXPECT_TRUE(fin.finished_at.has_value());
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-a", clock_.NowMillis() + 1000000, 10)).empty());
}

TEST_P(ScenarioStoreTest, RequeueAndStaleClaims) {
    const Scenario s = Create(team_, "Retries");
    const Execution e = Enqueue(s);
    const std::int64_t t0 = clock_.NowMillis();
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(e.id, "node-a", t0)));

    // A retry: back in the queue with a back-off, the outcome and cursors written, no finished_at.
    ExecutionOutcome retry;
    retry.status = ExecutionStatus::kError;
    retry.operations = 1;
    retry.error_type = "ConnectionError";
    retry.cursors = {{5, R"("abc")"}};
    EXPECT_TRUE(Must(scenarios_->FinishExecution(e.id, "node-a", retry, t0 + 30000)));
    Execution r = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(r.status, ExecutionStatus::kQueued);
    EXPECT_EQ(r.not_before, t0 + 30000);
    EXPECT_EQ(r.claimed_by, "");
    EXPECT_EQ(r.error_type, "ConnectionError");
    EXPECT_FALSE(r.finished_at.has_value());
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)).at(5), R"("abc")");
    // Its holder can no longer finish it.
    EXPECT_FALSE(Must(scenarios_->FinishExecution(e.id, "node-a", ExecutionOutcome{})));
    EXPECT_TRUE(Must(scenarios_->ClaimExecutions("node-b", t0 + 29999, 10)).empty());
    auto again = Must(scenarios_->ClaimExecutions("node-b", t0 + 30000, 10));
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].attempts, 2);

    // Status kQueued without a time: back in the queue at once.
    ExecutionOutcome queued;
    queued.status = ExecutionStatus::kQueued;
    clock_.Advance(std::chrono::seconds(40));
    EXPECT_TRUE(Must(scenarios_->FinishExecution(e.id, "node-b", queued)));
    r = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(r.status, ExecutionStatus::kQueued);
    EXPECT_EQ(r.not_before, clock_.NowMillis());

    // A node died holding rows: rows claimed before the cut-off go back, newer claims stay.
    const std::int64_t t1 = clock_.NowMillis();
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(e.id, "node-dead", t1)));
    const Execution fresh = Enqueue(s);
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(fresh.id, "node-alive", t1 + 5000)));
    EXPECT_EQ(Must(scenarios_->RequeueStaleExecutions(t1 + 1)), 1);
    r = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(r.status, ExecutionStatus::kQueued);
    EXPECT_EQ(r.claimed_by, "");
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, fresh.id)).status, ExecutionStatus::kRunning);
    // The dead node's late finish is fenced off.
    EXPECT_FALSE(Must(scenarios_->FinishExecution(e.id, "node-dead", ExecutionOutcome{})));
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, e.id)).status, ExecutionStatus::kQueued);
    EXPECT_EQ(Must(scenarios_->RequeueStaleExecutions(t1 + 1)), 0);
}

TEST_P(ScenarioStoreTest, CursorsAreWrittenInTheFinishTransaction) {
    const Scenario s = Create(team_, "Polling");
    const Execution e = Enqueue(s);
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(e.id, "node-a", clock_.NowMillis())));

    // Make the second cursor's write fail inside the database, after the execution row and the first cursor were
    // written in the same transaction.
    if (GetParam() == Backend::kSqlite) {
        Must(store_->db().ExecScript(
            "CREATE TRIGGER cursor_boom BEFORE INSERT ON trigger_cursors WHEN NEW.module_id = 666"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"));
    } else {
        Must(
            store_->db().ExecScript("CREATE FUNCTION cursor_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                                    " IF NEW.module_id = 666 THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;"
                                    " CREATE TRIGGER cursor_boom BEFORE INSERT ON trigger_cursors FOR EACH ROW EXECUTE "
                                    "FUNCTION cursor_boom()"));
    }
    ExecutionOutcome outcome;
    outcome.operations = 3;
    outcome.cursors = {{1, R"({"id":10})"}, {666, R"({"id":11})"}};
    EXPECT_FALSE(scenarios_->FinishExecution(e.id, "node-a", outcome).has_value());

    // Nothing of it stuck: the row is still running under its holder, no cursor was stored.
    Execution now = Must(scenarios_->GetExecution(team_, e.id));
    EXPECT_EQ(now.status, ExecutionStatus::kRunning);
    EXPECT_EQ(now.claimed_by, "node-a");
    EXPECT_EQ(now.operations, 0);
    EXPECT_FALSE(now.finished_at.has_value());
    EXPECT_TRUE(Must(scenarios_->GetCursors(s.id)).empty());

    // Without the failing module the same finish goes through, cursor and all; a later one updates it.
    outcome.cursors.erase(666);
    EXPECT_TRUE(Must(scenarios_->FinishExecution(e.id, "node-a", outcome)));
    EXPECT_EQ(Must(scenarios_->GetExecution(team_, e.id)).status, ExecutionStatus::kSuccess);
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)), (std::map<std::int64_t, std::string>{{1, R"({"id":10})"}}));
    const Execution next = Enqueue(s);
    ASSERT_TRUE(Must(scenarios_->ClaimExecution(next.id, "node-a", clock_.NowMillis())));
    ExecutionOutcome later;
    later.cursors = {{1, R"({"id":20})"}, {2, "[]"}};
    EXPECT_TRUE(Must(scenarios_->FinishExecution(next.id, "node-a", later)));
    EXPECT_EQ(Must(scenarios_->GetCursors(s.id)),
              (std::map<std::int64_t, std::string>{{1, R"({"id":20})"}, {2, "[]"}}));
}

TEST_P(ScenarioStoreTest, ExecutionsListCountAndTeamIsolation) {
    const Scenario s = Create(team_, "Mine");
    const Scenario t = Create(other_, "Theirs");
    std::vector<std::int64_t> mine;
    for (int i = 0; i < 5; ++i) mine.push_back(Enqueue(s).id);
    const Execution theirs = Enqueue(t);

    EXPECT_TRUE(IsError(scenarios_->GetExecution(other_, mine[0]), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->GetExecution(team_, theirs.id), Errc::kNotFound));
    EXPECT_EQ(Must(scenarios_->GetExecution(other_, theirs.id)).scenario_id, t.id);

    auto list = Must(scenarios_->ListExecutions(team_, s.id, Page{}));
    EXPECT_EQ(Ids(list), (std::vector<std::int64_t>{mine[4], mine[3], mine[2], mine[1], mine[0]}));
    EXPECT_EQ(Ids(Must(scenarios_->ListExecutions(team_, s.id, Page{2, 1}))),
              (std::vector<std::int64_t>{mine[3], mine[2]}));
    EXPECT_TRUE(Must(scenarios_->ListExecutions(team_, s.id, Page{10, 5})).empty());  // past the end of a real one
    EXPECT_TRUE(IsError(scenarios_->ListExecutions(other_, s.id, Page{}), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->ListExecutions(team_, t.id, Page{}), Errc::kNotFound));
    const Scenario idle = Create(team_, "Never ran");
    EXPECT_TRUE(Must(scenarios_->ListExecutions(team_, idle.id, Page{})).empty());

    EXPECT_EQ(Must(scenarios_->CountExecutions(std::nullopt)), 6);
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kQueued)), 6);
    ASSERT_EQ(Must(scenarios_->ClaimExecutions("n", clock_.NowMillis(), 2)).size(), 2u);
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kQueued)), 4);
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kRunning)), 2);
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kSuccess)), 0);

    // Another team cannot delete it either.
    EXPECT_TRUE(IsError(scenarios_->DeleteScenario(other_, s.id), Errc::kNotFound));
    EXPECT_EQ(Must(scenarios_->CountExecutions(std::nullopt)), 6);
}

TEST_P(ScenarioStoreTest, DeleteScenarioRemovesEverythingOfIt) {
    const Scenario s = Create(team_, "Doomed", "hook-doomed");
    const Scenario keep = Create(team_, "Kept");
    const ConnectionId conn = NewConnection(team_, "Gmail");
    DynamicConnection d;
    d.team_id = team_;
    d.name = "Dyn";
    d.connection_type = "google";
    d.members = {{conn, "all"}};
    const DynamicConnection dyn = Must(scenarios_->CreateDynamicConnection(d));
    for (const Scenario* sc : {&s, &keep}) {
        Must(scenarios_->ReplaceScenarioUsage(team_, sc->id,
                                              {ConnectionUsage{conn, team_, sc->id, "", true, true, "[]"}}, {dyn.id}));
        const Execution e = Enqueue(*sc);
        ASSERT_TRUE(Must(scenarios_->ClaimExecution(e.id, "n", clock_.NowMillis())));
        ExecutionOutcome o;
        o.cursors = {{1, "1"}};
        ASSERT_TRUE(Must(scenarios_->FinishExecution(e.id, "n", o)));
        Enqueue(*sc);
    }
    for (const std::string table : {"executions", "trigger_cursors", "connection_usage", "scenario_dynamic_usage"}) {
        ASSERT_GT(CountFor(table, s.id), 0) << table;
    }

    Must(scenarios_->DeleteScenario(team_, s.id));
    EXPECT_TRUE(IsError(scenarios_->GetScenario(team_, s.id), Errc::kNotFound));
    EXPECT_FALSE(Must(scenarios_->FindScenarioByHook("hook-doomed")).has_value());
    for (const std::string table : {"executions", "trigger_cursors", "connection_usage", "scenario_dynamic_usage"}) {
        EXPECT_EQ(CountFor(table, s.id), 0) << table;
        EXPECT_GT(CountFor(table, keep.id), 0) << table;  // the other scenario's rows stay
    }
    EXPECT_TRUE(Must(scenarios_->GetCursors(s.id)).empty());
    EXPECT_EQ(Must(scenarios_->ListScenariosUsingDynamic(dyn.id)), (std::vector<std::int64_t>{keep.id}));
    EXPECT_EQ(Must(store_->ListConnectionUsage(conn)).size(), 1u);
    EXPECT_EQ(Must(scenarios_->CountExecutions(std::nullopt)), 2);
    EXPECT_TRUE(IsError(scenarios_->DeleteScenario(team_, s.id), Errc::kNotFound));
    // The hook token is free again.
    EXPECT_EQ(Create(team_, "Reborn", "hook-doomed").hook_token, "hook-doomed");
}

// ---- dynamic connections ----

TEST_P(ScenarioStoreTest, DynamicConnections) {
    const ConnectionId sales = NewConnection(team_, "Sales mailbox");
    const ConnectionId support = NewConnection(team_, "Support mailbox");
    const ConnectionId hr = NewConnection(team_, "HR mailbox");
    const ConnectionId slack = NewConnection(team_, "Slack", "slack");
    const ConnectionId theirs = NewConnection(other_, "Their mailbox");

    DynamicConnection in;
    in.team_id = team_;
    in.name = "Department mailbox";
    in.connection_type = "google";
    in.default_connection = support;
    in.members = {{support, "support"}, {sales, "Sales"}, {hr, "hr"}};
    const DynamicConnection d = Must(scenarios_->CreateDynamicConnection(in));
    EXPECT_GT(d.id, 0);
    EXPECT_EQ(d.created_at, clock_.NowMillis());
    EXPECT_EQ(d.default_connection, support);
    ASSERT_EQ(d.members.size(), 3u);
    // Label order, byte-wise on both backends.
    EXPECT_EQ(d.members[0].label, "Sales");
    EXPECT_EQ(d.members[1].label, "hr");
    EXPECT_EQ(d.members[2].label, "support");

    const DynamicConnection got = Must(scenarios_->GetDynamicConnection(team_, d.id));
    EXPECT_EQ(got.name, "Department mailbox");
    EXPECT_EQ(got.connection_type, "google");
    EXPECT_EQ(got.default_connection, support);
    ASSERT_EQ(got.members.size(), 3u);
    EXPECT_EQ(got.members[0].connection_id, sales);
    EXPECT_EQ(got.members[0].label, "Sales");
    EXPECT_EQ(got.members[1].connection_id, hr);
    EXPECT_EQ(got.members[2].connection_id, support);
    EXPECT_TRUE(IsError(scenarios_->GetDynamicConnection(other_, d.id), Errc::kNotFound));

    // Refusals, none of which stores anything.
    DynamicConnection bad = in;
    bad.name = "Other name";
    bad.members.push_back({theirs, "theirs"});
    auto foreign = scenarios_->CreateDynamicConnection(bad);
    ASSERT_TRUE(IsError(foreign, Errc::kInvalidArgument));
    EXPECT_NE(foreign.error().detail.find(std::to_string(theirs.value())), std::string::npos) << foreign.error().detail;
    bad = in;
    bad.name = "Other name";
    bad.members.push_back({slack, "chat"});  // another connection type
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(bad), Errc::kInvalidArgument));
    bad = in;
    bad.name = "Other name";
    bad.default_connection = slack;  // not a member
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(bad), Errc::kInvalidArgument));
    bad = in;
    bad.name = "Other name";
    bad.members = {{sales, "x"}, {hr, "x"}};
    bad.default_connection = ConnectionId(0);
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(bad), Errc::kInvalidArgument));
    bad.members = {{sales, "x"}, {sales, "y"}};
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(bad), Errc::kInvalidArgument));
    bad.members = {{ConnectionId(987654), "x"}};
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(bad), Errc::kInvalidArgument));
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(in), Errc::kConflict));  // same name, same team
    DynamicConnection nowhere = in;
    nowhere.team_id = TeamId(777777);
    nowhere.members.clear();
    nowhere.default_connection = ConnectionId(0);
    EXPECT_TRUE(IsError(scenarios_->CreateDynamicConnection(nowhere), Errc::kNotFound));
    EXPECT_EQ(Must(scenarios_->ListDynamicConnections(team_)).size(), 1u);

    // The same name in another team is fine; an empty one lists with no members.
    DynamicConnection their_in;
    their_in.team_id = other_;
    their_in.name = "Department mailbox";
    their_in.connection_type = "google";
    their_in.members = {{theirs, "all"}};
    const DynamicConnection their_d = Must(scenarios_->CreateDynamicConnection(their_in));
    DynamicConnection empty_in;
    empty_in.team_id = team_;
    empty_in.name = "Another";
    empty_in.connection_type = "google";
    const DynamicConnection empty = Must(scenarios_->CreateDynamicConnection(empty_in));
    auto list = Must(scenarios_->ListDynamicConnections(team_));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].id, empty.id);  // name order
    EXPECT_TRUE(list[0].members.empty());
    EXPECT_EQ(list[0].default_connection, ConnectionId(0));
    EXPECT_EQ(list[1].id, d.id);
    EXPECT_EQ(list[1].members.size(), 3u);
    EXPECT_EQ(list[1].members[0].label, "Sales");
    EXPECT_EQ(Must(scenarios_->ListDynamicConnections(other_)).size(), 1u);

    // Update replaces members and default at once.
    clock_.Advance(std::chrono::seconds(3));
    DynamicConnection edit = got;
    edit.name = "Mailbox by department";
    edit.members = {{hr, "people"}, {sales, "sales"}};
    edit.default_connection = hr;
    const DynamicConnection updated = Must(scenarios_->UpdateDynamicConnection(edit));
    EXPECT_EQ(updated.updated_at, clock_.NowMillis());
    EXPECT_EQ(updated.created_at, d.created_at);
    const DynamicConnection reread = Must(scenarios_->GetDynamicConnection(team_, d.id));
    EXPECT_EQ(reread.name, "Mailbox by department");
    EXPECT_EQ(reread.default_connection, hr);
    ASSERT_EQ(reread.members.size(), 2u);
    EXPECT_EQ(reread.members[0].label, "people");
    EXPECT_EQ(reread.members[1].label, "sales");
    EXPECT_EQ(reread.updated_at, clock_.NowMillis());

    // Updates that must not happen: another team, a taken name, a foreign member.
    DynamicConnection hijack = edit;
    hijack.team_id = other_;
    hijack.members.clear();
    hijack.default_connection = ConnectionId(0);
    EXPECT_TRUE(IsError(scenarios_->UpdateDynamicConnection(hijack), Errc::kNotFound));
    DynamicConnection rename = edit;
    rename.name = "Another";
    EXPECT_TRUE(IsError(scenarios_->UpdateDynamicConnection(rename), Errc::kConflict));
    DynamicConnection smuggle = edit;
    smuggle.members.push_back({theirs, "theirs"});
    EXPECT_TRUE(IsError(scenarios_->UpdateDynamicConnection(smuggle), Errc::kInvalidArgument));
    EXPECT_EQ(Must(scenarios_->GetDynamicConnection(team_, d.id)).members.size(), 2u);
    EXPECT_EQ(Must(scenarios_->GetDynamicConnection(team_, d.id)).name, "Mailbox by department");

    // Delete: not across teams, then gone with its members and usage.
    const Scenario s = Create(team_, "Uses dyn");
    Must(scenarios_->ReplaceScenarioUsage(team_, s.id, {}, {d.id}));
    EXPECT_TRUE(IsError(scenarios_->DeleteDynamicConnection(other_, d.id), Errc::kNotFound));
    Must(scenarios_->DeleteDynamicConnection(team_, d.id));
    EXPECT_TRUE(IsError(scenarios_->GetDynamicConnection(team_, d.id), Errc::kNotFound));
    EXPECT_TRUE(IsError(scenarios_->DeleteDynamicConnection(team_, d.id), Errc::kNotFound));
    EXPECT_TRUE(Must(scenarios_->ListScenariosUsingDynamic(d.id)).empty());
    EXPECT_EQ(Must(store_->db().Exec("SELECT COUNT(*) FROM dynamic_connection_members WHERE dynamic_id = $1", {d.id}))
                  .rows.at(0)
                  .Int(0),
              0);
    EXPECT_EQ(Must(scenarios_->GetDynamicConnection(other_, their_d.id)).members.size(), 1u);
}

TEST_P(ScenarioStoreTest, DeletingAConnectionLeavesItsDynamicConnections) {
    const ConnectionId a = NewConnection(team_, "A");
    const ConnectionId b = NewConnection(team_, "B");
    DynamicConnection in;
    in.team_id = team_;
    in.name = "Dyn";
    in.connection_type = "google";
    in.members = {{a, "a"}, {b, "b"}};
    in.default_connection = a;
    const DynamicConnection d = Must(scenarios_->CreateDynamicConnection(in));

    Must(store_->DeleteConnection(team_, a));
    const DynamicConnection after = Must(scenarios_->GetDynamicConnection(team_, d.id));
    ASSERT_EQ(after.members.size(), 1u);
    EXPECT_EQ(after.members[0].connection_id, b);
    EXPECT_EQ(after.default_connection, ConnectionId(0));  // the default went with it
}

TEST_P(ScenarioStoreTest, TheDatabaseRefusesCrossTeamMembers) {
    // Even a writer that skipped the checks cannot put another team's connection into a dynamic connection.
    const ConnectionId theirs = NewConnection(other_, "Theirs");
    DynamicConnection in;
    in.team_id = team_;
    in.name = "Dyn";
    in.connection_type = "google";
    const DynamicConnection d = Must(scenarios_->CreateDynamicConnection(in));
    EXPECT_TRUE(IsError(store_->db().Exec("INSERT INTO dynamic_connection_members (dynamic_id, team_id, connection_id,"
                                          " label) VALUES ($1, $2, $3, 'x')",
                                          {d.id, team_.value(), theirs.value()}),
                        Errc::kConflict));
    EXPECT_TRUE(IsError(store_->db().Exec("INSERT INTO dynamic_connection_members (dynamic_id, team_id, connection_id,"
                                          " label) VALUES ($1, $2, $3, 'x')",
                                          {d.id, other_.value(), theirs.value()}),
                        Errc::kConflict));
    const Scenario s = Create(team_, "Mine");
    EXPECT_TRUE(IsError(store_->db().Exec("INSERT INTO executions (team_id, scenario_id, status, trigger_type,"
                                          " input_json, operations, error_type, error_message, error_module_id,"
                                          " log_json, result_json, claimed_by, attempts, not_before, created_at)"
                                          " VALUES ($1, $2, 'queued', 'run', '{}', 0, '', '', 0, '[]', '', '', 0, 0,"
                                          " 0)",
                                          {other_.value(), s.id}),
                        Errc::kConflict));
}

// ---- the queue under concurrency ----

TEST_P(ScenarioStoreTest, ConcurrentClaimersTakeEachExecutionOnce) {
    constexpr int kExecutions = 1000;
    constexpr int kThreads = 4;
    constexpr int kBatch = 7;
    const Scenario s = Create(team_, "Busy");
    const std::int64_t now = clock_.NowMillis();
    // Enqueued in one transaction to keep the set-up fast (EnqueueExecution is covered above).
    Must(store_->db().Transaction([&](Tx& tx) -> core::Result<void> {
        for (int i = 0; i < kExecutions; ++i) {
            auto r = tx.Exec(
                "INSERT INTO executions (team_id, scenario_id, status, trigger_type, input_json, operations,"
                " error_type, error_message, error_module_id, log_json, result_json, claimed_by, attempts,"
                " not_before, created_at) VALUES ($1, $2, 'queued', 'run', '{}', 0, '', '', 0, '[]', '', '', 0, $3,"
                " $3)",
                {team_.value(), s.id, now});
            if (!r) return r.error();
        }
        return {};
    }));
    ASSERT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kQueued)), kExecutions);

    // Each claimer has its own Db, as separate nodes would.
    std::vector<std::unique_ptr<Db>> dbs;
    std::vector<std::unique_ptr<ScenarioStore>> nodes;
    for (int i = 0; i < kThreads; ++i) {
        dbs.push_back(Open(2));
        nodes.push_back(MakeSqlScenarioStore(*dbs.back(), clock_));
    }
    std::latch start(kThreads);
    std::vector<std::vector<Execution>> claimed(kThreads);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            const std::string holder = "node-" + std::to_string(i);
            start.arrive_and_wait();
            // Bounded: far more rounds than needed, so a claimer that never sees the queue drain cannot hang.
            for (int round = 0; round < kExecutions; ++round) {
                auto batch = nodes[i]->ClaimExecutions(holder, now, kBatch);
                if (!batch) {
                    errors[i] = Describe(batch.error());
                    return;
                }
                if (batch->empty()) return;
                if (static_cast<int>(batch->size()) > kBatch) {
                    errors[i] = "batch larger than the limit";
                    return;
                }
                for (auto& e : *batch) claimed[i].push_back(std::move(e));
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) ASSERT_EQ(errors[i], "") << "claimer " << i;

    std::map<std::int64_t, std::string> owner;
    std::size_t total = 0;
    for (int i = 0; i < kThreads; ++i) {
        total += claimed[i].size();
        for (const Execution& e : claimed[i]) {
            EXPECT_EQ(e.claimed_by, "node-" + std::to_string(i));
            EXPECT_EQ(e.attempts, 1) << "execution " << e.id << " claimed more than once";
            const bool fresh = owner.emplace(e.id, e.claimed_by).second;
            EXPECT_TRUE(fresh) << "execution " << e.id << " claimed twice";
        }
    }
    EXPECT_EQ(total, static_cast<std::size_t>(kExecutions));
    EXPECT_EQ(owner.size(), static_cast<std::size_t>(kExecutions));
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kQueued)), 0);
    EXPECT_EQ(Must(scenarios_->CountExecutions(ExecutionStatus::kRunning)), kExecutions);
    // The database agrees with what each claimer was told.
    auto rows =
        Must(store_->db().Exec("SELECT id, claimed_by, attempts FROM executions WHERE scenario_id = $1", {s.id}));
    ASSERT_EQ(rows.rows.size(), static_cast<std::size_t>(kExecutions));
    for (const Row& row : rows.rows) {
        auto it = owner.find(row.Int(0));
        ASSERT_NE(it, owner.end()) << "execution " << row.Int(0) << " was claimed by nobody";
        EXPECT_EQ(row.Text(1), it->second);
        EXPECT_EQ(row.Int(2), 1);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, ScenarioStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace switchboard::store::testing

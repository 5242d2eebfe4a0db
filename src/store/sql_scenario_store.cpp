// ScenarioStore in portable SQL over a Db (tables of migration 3).
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "store/scenario_store.hpp"

namespace switchboard::store {

namespace {
constexpr std::pair<ExecutionStatus, std::string_view> kExecutionStatusNames[] = {
    {ExecutionStatus::kQueued, "queued"},   {ExecutionStatus::kRunning, "running"},
    {ExecutionStatus::kSuccess, "success"}, {ExecutionStatus::kWarning, "warning"},
    {ExecutionStatus::kError, "error"},     {ExecutionStatus::kIncomplete, "incomplete"},
};
}  // namespace

std::string_view ExecutionStatusName(ExecutionStatus s) {
    for (const auto& [status, name] : kExecutionStatusNames) {
        if (status == s) return name;
    }
    return "error";
}

std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view s) {
    for (const auto& [status, name] : kExecutionStatusNames) {
        if (name == s) return status;
    }
    return std::nullopt;
}

namespace {

constexpr int kMaxPageLimit = 10000;

constexpr std::string_view kScenarioColumns =
    "id, team_id, name, blueprint_json, scheduling_json, inputs_json, is_active, is_invalid, invalid_reason,"
    " consecutive_errors, hook_token, next_run_at, created_by, created_at, updated_at, version";
constexpr std::string_view kExecutionColumns =
    "id, team_id, scenario_id, status, trigger_type, input_json, operations, error_type, error_message,"
    " error_module_id, log_json, result_json, claimed_by, attempts, not_before, created_at, started_at, finished_at";
// A dynamic connection with one of its members per row (NULL member columns when it has none).
constexpr std::string_view kDynamicSelect =
    "SELECT d.id, d.team_id, d.name, d.connection_type, d.default_connection_id, d.created_at, d.updated_at,"
    " m.connection_id, m.label FROM dynamic_connections d"
    " LEFT JOIN dynamic_connection_members m ON m.dynamic_id = d.id";

// The claim of queued executions. PostgreSQL locks the rows it picks and skips rows another claimer has locked, so
// concurrent claimers take different rows. The pick is a MATERIALIZED CTE joined to the UPDATE: written as
// `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` the planner may rescan the subquery per outer row and claim
// more than n rows. SQLite has no row locks (nor FOR UPDATE): the statement runs inside a BEGIN IMMEDIATE
// transaction, which holds the database's single write lock from before the rows are chosen, and evaluates the
// uncorrelated subquery once. The outer status tests are redundant with the pick's, and kept as a guard.
constexpr std::string_view kClaimSqlite =
    "UPDATE executions SET status = 'running', claimed_by = $1, started_at = $2, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM executions WHERE status = 'queued' AND not_before <= $2 ORDER BY id LIMIT $3)"
    " AND status = 'queued' RETURNING ";
constexpr std::string_view kClaimPostgres =
    "WITH picked AS MATERIALIZED (SELECT id AS picked_id FROM executions WHERE status = 'queued' AND not_before <= $2"
    " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"
    " UPDATE executions SET status = 'running', claimed_by = $1, started_at = $2, attempts = attempts + 1"
    " FROM picked WHERE executions.id = picked.picked_id AND executions.status = 'queued' RETURNING ";

// RecordRunOutcome: the failure that reaches max_errors ($2 > 0) stops a scenario that is not stopped yet.
constexpr std::string_view kStops = "($2 > 0 AND consecutive_errors + 1 >= $2 AND (is_active <> 0 OR is_invalid = 0))";

std::string Sql(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) out += p;
    return out;
}

Page Clamp(const Page& page) { return Page{std::clamp(page.limit, 1, kMaxPageLimit), std::max(0, page.offset)}; }

Value NullIfZero(std::int64_t id) { return id == 0 ? Value(nullptr) : Value(id); }
Value NullIfEmpty(const std::string& s) { return s.empty() ? Value(nullptr) : Value(s); }
Value Opt(const std::optional<std::int64_t>& v) { return v ? Value(*v) : Value(nullptr); }

enum class JsonShape { kObject, kArray, kArrayOfStrings, kAny };

// A JSON syntax check that builds nothing: records only what the document is ('{', '[' or 's' for a scalar).
struct ShapeHandler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    int depth = 0;
    char top = 0;

    bool Open(char c) {
        if (depth++ == 0) top = c;
        return true;
    }
    bool Close() {
        --depth;
        return true;
    }
    bool Scalar() {
        if (depth == 0) top = 's';
        return true;
    }
    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return Open('{'); }
    bool on_object_end(std::size_t, boost::system::error_code&) { return Close(); }
    bool on_array_begin(boost::system::error_code&) { return Open('['); }
    bool on_array_end(std::size_t, boost::system::error_code&) { return Close(); }
    bool on_key_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_key(std::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return Scalar(); }
    bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_double(double, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return Scalar(); }
    bool on_null(boost::system::error_code&) { return Scalar(); }
    bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_comment(std::string_view, boost::system::error_code&) { return true; }
};

// JSON columns are emitted verbatim by the API and parsed by the engine, so only well-formed JSON of the expected
// shape is stored. An empty text stands for `empty_as` (refused when that is empty too).
core::Result<std::string> CheckJson(const std::string& text, std::string_view field, JsonShape shape,
                                    std::string_view empty_as) {
    if (text.empty()) {
        if (empty_as.empty()) return core::InvalidArgument(std::string(field) + " is empty");
        return std::string(empty_as);
    }
    boost::json::parse_options options;
    options.max_depth = 1000;  // blueprints nest routers inside routers; the default (32) is too shallow
    boost::system::error_code ec;
    if (shape != JsonShape::kArrayOfStrings) {
        // Validated without building the document (execution logs are checked on every run).
        boost::json::basic_parser<ShapeHandler> checker(options);
        const std::size_t used = checker.write_some(false, text.data(), text.size(), ec);
        if (!ec && used != text.size()) ec = boost::json::error::extra_data;
        if (ec) return core::InvalidArgument(std::string(field) + " is not valid JSON: " + ec.message());
        const char top = checker.handler().top;
        if (shape == JsonShape::kObject && top != '{') {
            return core::InvalidArgument(std::string(field) + " must be a JSON object");
        }
        if (shape == JsonShape::kArray && top != '[') {
            return core::InvalidArgument(std::string(field) + " must be a JSON array");
        }
        return text;
    }
    boost::json::value v = boost::json::parse(text, ec, {}, options);
    if (ec) return core::InvalidArgument(std::string(field) + " is not valid JSON: " + ec.message());
    switch (shape) {
        case JsonShape::kObject:
            if (!v.is_object()) return core::InvalidArgument(std::string(field) + " must be a JSON object");
            break;
        case JsonShape::kArray:
            if (!v.is_array()) return core::InvalidArgument(std::string(field) + " must be a JSON array");
            break;
        case JsonShape::kArrayOfStrings:
            if (!v.is_array()) return core::InvalidArgument(std::string(field) + " must be a JSON array");
            for (const auto& item : v.as_array()) {
                if (!item.is_string()) return core::InvalidArgument(std::string(field) + " must contain only strings");
            }
            break;
        case JsonShape::kAny:
            break;
    }
    return text;
}

// The JSON columns of a scenario, checked and normalised.
struct ScenarioJson {
    std::string blueprint;
    std::string scheduling;
    std::string inputs;
};

core::Result<ScenarioJson> CheckScenarioJson(const Scenario& s) {
    auto blueprint = CheckJson(s.blueprint_json, "blueprint_json", JsonShape::kObject, "{}");
    if (!blueprint) return blueprint.error();
    auto scheduling = CheckJson(s.scheduling_json, "scheduling_json", JsonShape::kObject, R"({"type":"on-demand"})");
    if (!scheduling) return scheduling.error();
    auto inputs = CheckJson(s.inputs_json, "inputs_json", JsonShape::kArray, "[]");
    if (!inputs) return inputs.error();
    return ScenarioJson{std::move(*blueprint), std::move(*scheduling), std::move(*inputs)};
}

Scenario ScenarioFrom(const Row& r) {
    Scenario s;
    s.id = r.Int(0);
    s.team_id = core::TeamId(r.Int(1));
    s.name = r.Text(2);
    s.blueprint_json = r.Text(3);
    s.scheduling_json = r.Text(4);
    s.inputs_json = r.Text(5);
    s.active = r.Int(6) != 0;
    s.invalid = r.Int(7) != 0;
    s.invalid_reason = r.Text(8);
    s.consecutive_errors = static_cast<int>(r.Int(9));
    s.hook_token = r.IsNull(10) ? std::string() : r.Text(10);
    s.next_run_at = r.OptInt(11);
    s.created_by = core::UserId(r.OptInt(12).value_or(0));
    s.created_at = r.Int(13);
    s.updated_at = r.Int(14);
    s.version = r.Int(15);
    return s;
}

core::Result<Execution> ExecutionFrom(const Row& r) {
    Execution e;
    e.id = r.Int(0);
    e.team_id = core::TeamId(r.Int(1));
    e.scenario_id = r.Int(2);
    auto status = ParseExecutionStatus(r.Text(3));
    if (!status) return core::Internal("stored execution has unknown status \"" + r.Text(3) + "\"");
    e.status = *status;
    e.trigger = r.Text(4);
    e.input_json = r.Text(5);
    e.operations = static_cast<int>(r.Int(6));
    e.error_type = r.Text(7);
    e.error_message = r.Text(8);
    e.error_module_id = r.Int(9);
    e.log_json = r.Text(10);
    e.result_json = r.Text(11);
    e.claimed_by = r.Text(12);
    e.attempts = static_cast<int>(r.Int(13));
    e.not_before = r.Int(14);
    e.created_at = r.Int(15);
    e.started_at = r.OptInt(16);
    e.finished_at = r.OptInt(17);
    return e;
}

core::Result<std::vector<Execution>> ExecutionsFrom(const QueryResult& r) {
    std::vector<Execution> out;
    out.reserve(r.rows.size());
    for (const Row& row : r.rows) {
        auto e = ExecutionFrom(row);
        if (!e) return e.error();
        out.push_back(std::move(*e));
    }
    return out;
}

// Groups the rows of kDynamicSelect (ordered so that one dynamic connection's rows are adjacent).
std::vector<DynamicConnection> DynamicConnectionsFrom(const QueryResult& r) {
    std::vector<DynamicConnection> out;
    for (const Row& row : r.rows) {
        if (out.empty() || out.back().id != row.Int(0)) {
            DynamicConnection d;
            d.id = row.Int(0);
            d.team_id = core::TeamId(row.Int(1));
            d.name = row.Text(2);
            d.connection_type = row.Text(3);
            d.default_connection = core::ConnectionId(row.OptInt(4).value_or(0));
            d.created_at = row.Int(5);
            d.updated_at = row.Int(6);
            out.push_back(std::move(d));
        }
        if (!row.IsNull(7)) out.back().members.push_back(DynamicMember{core::ConnectionId(row.Int(7)), row.Text(8)});
    }
    return out;
}

core::Error ScenarioNotFound(std::int64_t id) {
    return core::NotFound("scenario " + std::to_string(id) + " does not exist");
}
core::Error ExecutionNotFound(std::int64_t id) {
    return core::NotFound("execution " + std::to_string(id) + " does not exist");
}
core::Error DynamicNotFound(std::int64_t id) {
    return core::NotFound("dynamic connection " + std::to_string(id) + " does not exist");
}

// What can be checked without the database: names, labels, duplicates, the default among the members.
core::Result<void> CheckDynamicShape(const DynamicConnection& d) {
    if (d.name.empty()) return core::InvalidArgument("a dynamic connection needs a name");
    if (d.connection_type.empty()) return core::InvalidArgument("a dynamic connection needs a connection type");
    std::set<std::int64_t> ids;
    std::set<std::string> labels;
    for (const DynamicMember& m : d.members) {
        if (!m.connection_id.valid()) {
            return core::InvalidArgument("member connection id " + std::to_string(m.connection_id.value()) +
                                         " is not valid");
        }
        if (m.label.empty()) {
            return core::InvalidArgument("member connection " + std::to_string(m.connection_id.value()) +
                                         " needs a label");
        }
        if (!ids.insert(m.connection_id.value()).second) {
            return core::InvalidArgument("connection " + std::to_string(m.connection_id.value()) +
                                         " is a member twice");
        }
        if (!labels.insert(m.label).second) {
            return core::InvalidArgument("label \"" + m.label + "\" is used by two members");
        }
    }
    if (d.default_connection.value() != 0 && ids.count(d.default_connection.value()) == 0) {
        return core::InvalidArgument("default connection " + std::to_string(d.default_connection.value()) +
                                     " is not a member");
    }
    return {};
}

// Inside the write transaction, so that the rows checked are the rows the members will reference (the foreign
// keys on (connection_id, team_id) hold the team rule in SQL as well).
core::Result<void> CheckDynamicMembers(Tx& tx, const DynamicConnection& d) {
    for (const DynamicMember& m : d.members) {
        auto r = tx.Exec("SELECT type FROM connections WHERE id = $1 AND team_id = $2",
                         {m.connection_id.value(), d.team_id.value()});
        if (!r) return r.error();
        if (r->rows.empty()) {
            return core::InvalidArgument("connection " + std::to_string(m.connection_id.value()) +
                                         " is not a connection of team " + std::to_string(d.team_id.value()));
        }
        if (const std::string type = r->rows[0].Text(0); type != d.connection_type) {
            return core::InvalidArgument("connection " + std::to_string(m.connection_id.value()) + " is of type \"" +
                                         type + "\", not \"" + d.connection_type + "\"");
        }
    }
    return {};
}

// The UNIQUE (team_id, name) constraint still decides between two writers racing for the same name.
core::Result<void> CheckDynamicNameFree(Tx& tx, const DynamicConnection& d, std::int64_t own_id) {
    auto r = tx.Exec("SELECT COUNT(*) FROM dynamic_connections WHERE team_id = $1 AND name = $2 AND id <> $3",
                     {d.team_id.value(), d.name, own_id});
    if (!r) return r.error();
    if (r->rows.at(0).Int(0) > 0) return core::Conflict("a dynamic connection named \"" + d.name + "\" already exists");
    return {};
}

// Whether row `id` of `table` (a constant) exists and belongs to `team`: false when it does not exist,
// kInvalidArgument when it is another team's.
core::Result<bool> OwnerTeam(Tx& tx, std::string_view table, std::int64_t id, core::TeamId team,
                             std::string_view what) {
    auto r = tx.Exec(Sql({"SELECT team_id FROM ", table, " WHERE id = $1"}), {id});
    if (!r) return r.error();
    if (r->rows.empty()) return false;
    if (r->rows[0].Int(0) != team.value()) {
        return core::InvalidArgument(std::string(what) + " " + std::to_string(id) + " is not a " + std::string(what) +
                                     " of team " + std::to_string(team.value()));
    }
    return true;
}

core::Result<void> InsertDynamicMembers(Tx& tx, std::int64_t dynamic_id, const DynamicConnection& d) {
    for (const DynamicMember& m : d.members) {
        auto r = tx.Exec(
            "INSERT INTO dynamic_connection_members (dynamic_id, team_id, connection_id, label) VALUES ($1, $2, $3, "
            "$4)",
            {dynamic_id, d.team_id.value(), m.connection_id.value(), m.label});
        if (!r) return r.error();
    }
    return {};
}

std::vector<DynamicMember> SortedMembers(std::vector<DynamicMember> members) {
    // std::string compares bytes as unsigned char, like COLLATE "C" and SQLite's BINARY.
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
    return members;
}

class SqlScenarioStore final : public ScenarioStore {
  public:
    SqlScenarioStore(Db& db, const core::Clock& clock) : db_(db), clock_(clock) {}

    // ---- scenarios ----

    core::Result<Scenario> CreateScenario(const Scenario& s) override {
        const ScenarioWrite writing(*this);
        auto json = CheckScenarioJson(s);
        if (!json) return json.error();
        const std::int64_t now = clock_.NowMillis();
        Scenario out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto team = tx.Exec("SELECT COUNT(*) FROM teams WHERE id = $1", {s.team_id.value()});
            if (!team) return team.error();
            if (team->rows.at(0).Int(0) == 0) {
                return core::NotFound("team " + std::to_string(s.team_id.value()) + " does not exist");
            }
            auto r = tx.Exec(
                Sql({"INSERT INTO scenarios (team_id, name, blueprint_json, scheduling_json, inputs_json,"
                     " is_active, is_invalid, invalid_reason, consecutive_errors, hook_token, next_run_at,"
                     " created_by, created_at, updated_at, version)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1) RETURNING ",
                     kScenarioColumns}),
                {s.team_id.value(), s.name, json->blueprint, json->scheduling, json->inputs, std::int64_t{s.active},
                 std::int64_t{s.invalid}, s.invalid_reason, std::int64_t{s.consecutive_errors},
                 NullIfEmpty(s.hook_token), Opt(s.next_run_at), NullIfZero(s.created_by.value()), now});
            if (!r) return HookConflict(r.error());
            out = ScenarioFrom(r->rows.at(0));
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<Scenario> GetScenario(core::TeamId team, std::int64_t id) override {
        auto r = db_.Exec(Sql({"SELECT ", kScenarioColumns, " FROM scenarios WHERE team_id = $1 AND id = $2"}),
                          {team.value(), id});
        if (!r) return r.error();
        // Another team's scenario is reported exactly like a missing one.
        if (r->rows.empty()) return ScenarioNotFound(id);
        return ScenarioFrom(r->rows[0]);
    }

    core::Result<Scenario> FindScenario(std::int64_t id) override {
        auto r = db_.Exec(Sql({"SELECT ", kScenarioColumns, " FROM scenarios WHERE id = $1"}), {id});
        if (!r) return r.error();
        if (r->rows.empty()) return ScenarioNotFound(id);
        return ScenarioFrom(r->rows[0]);
    }

    core::Result<std::optional<Scenario>> FindScenarioByHook(const std::string& hook_token) override {
        if (hook_token.empty()) return std::optional<Scenario>();
        // Every webhook call looks its scenario up. On SQLite (one serving process) the row is kept in memory:
        // every scenario write through this store drops all of them at once (before and after it commits), and a
        // lookup that began before a write cannot store what it read (the write counter moved). A change made
        // behind this store's back (another process on the file, a team's deletion cascading to its scenarios)
        // is seen within kHookCacheTtl. PostgreSQL, shared by several nodes, always reads.
        const bool cacheable = db_.backend() == Backend::kSqlite;
        const auto now = std::chrono::steady_clock::now();
        const std::uint64_t ticket = scenario_writes_.load();
        if (cacheable) {
            std::lock_guard lock(hooks_mutex_);
            if (auto it = hooks_.find(hook_token); it != hooks_.end() && now - it->second.stored_at < kHookCacheTtl) {
                return std::optional<Scenario>(it->second.scenario);
            }
        }
        auto r = db_.Exec(Sql({"SELECT ", kScenarioColumns, " FROM scenarios WHERE hook_token = $1"}), {hook_token});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<Scenario>();
        Scenario found = ScenarioFrom(r->rows[0]);
        if (cacheable) {
            std::lock_guard lock(hooks_mutex_);
            if (scenario_writes_.load() == ticket) {
                if (hooks_.size() >= kHookCacheEntries) hooks_.clear();
                hooks_.insert_or_assign(hook_token, HookEntry{found, now});
            }
        }
        return std::optional<Scenario>(std::move(found));
    }

    core::Result<std::vector<Scenario>> ListScenarios(core::TeamId team, const Page& page) override {
        const Page p = Clamp(page);
        auto r = db_.Exec(
            Sql({"SELECT ", kScenarioColumns, " FROM scenarios WHERE team_id = $1 ORDER BY id LIMIT $2 OFFSET $3"}),
            {team.value(), std::int64_t{p.limit}, std::int64_t{p.offset}});
        if (!r) return r.error();
        std::vector<Scenario> out;
        out.reserve(r->rows.size());
        for (const Row& row : r->rows) out.push_back(ScenarioFrom(row));
        return out;
    }

    core::Result<Scenario> UpdateScenario(const Scenario& s, std::int64_t expected_version) override {
        const ScenarioWrite writing(*this);
        auto json = CheckScenarioJson(s);
        if (!json) return json.error();
        const std::int64_t now = clock_.NowMillis();
        Scenario out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto r = tx.Exec(
                Sql({"UPDATE scenarios SET name = $1, blueprint_json = $2, scheduling_json = $3, inputs_json = $4,"
                     " is_active = $5, is_invalid = $6, invalid_reason = $7, consecutive_errors = $8, hook_token = $9,"
                     " next_run_at = $10, updated_at = $11, version = version + 1"
                     " WHERE team_id = $12 AND id = $13 AND version = $14 RETURNING ",
                     kScenarioColumns}),
                {s.name, json->blueprint, json->scheduling, json->inputs, std::int64_t{s.active},
                 std::int64_t{s.invalid}, s.invalid_reason, std::int64_t{s.consecutive_errors},
                 NullIfEmpty(s.hook_token), Opt(s.next_run_at), now, s.team_id.value(), s.id, expected_version});
            if (!r) return HookConflict(r.error());
            if (r->rows.empty()) {
                auto current =
                    tx.Exec("SELECT version FROM scenarios WHERE team_id = $1 AND id = $2", {s.team_id.value(), s.id});
                if (!current) return current.error();
                if (current->rows.empty()) return ScenarioNotFound(s.id);
                return core::Conflict("scenario " + std::to_string(s.id) + " was changed meanwhile (version " +
                                      std::to_string(current->rows[0].Int(0)) + ", expected " +
                                      std::to_string(expected_version) + "); reload and try again");
            }
            out = ScenarioFrom(r->rows[0]);
            // The usage index repeats the name and the on/off state (for "used in N scenarios" and delete checks).
            auto usage =
                tx.Exec("UPDATE connection_usage SET scenario_name = $1, is_active = $2 WHERE scenario_id = $3",
                        {out.name, std::int64_t{out.active}, out.id});
            if (!usage) return usage.error();
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<void> DeleteScenario(core::TeamId team, std::int64_t id) override {
        const ScenarioWrite writing(*this);
        return db_.Transaction([&](Tx& tx) -> core::Result<void> {
            // Executions, cursors and scenario_dynamic_usage go with the row (ON DELETE CASCADE; SQLite runs with
            // foreign_keys on). connection_usage predates scenarios and has no key to them.
            auto r = tx.Exec("DELETE FROM scenarios WHERE team_id = $1 AND id = $2", {team.value(), id});
            if (!r) return r.error();
            if (r->affected == 0) return ScenarioNotFound(id);
            auto usage = tx.Exec("DELETE FROM connection_usage WHERE scenario_id = $1", {id});
            if (!usage) return usage.error();
            return {};
        });
    }

    core::Result<Scenario> RecordRunOutcome(std::int64_t id, bool failed, int max_errors,
                                            const std::string& reason) override {
        const ScenarioWrite writing(*this);
        const std::int64_t now = clock_.NowMillis();
        Scenario out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            // One statement decides and writes (SET expressions all see the row as it was).
            auto r =
                failed ? tx.Exec(Sql({"UPDATE scenarios SET consecutive_errors = consecutive_errors + 1,"
                                      " is_active = CASE WHEN ",
                                      kStops, " THEN 0 ELSE is_active END, is_invalid = CASE WHEN ", kStops,
                                      " THEN 1 ELSE is_invalid END, invalid_reason = CASE WHEN ", kStops,
                                      " THEN $3 ELSE invalid_reason END, updated_at = CASE WHEN ", kStops,
                                      " THEN $4 ELSE updated_at END, version = CASE WHEN ", kStops,
                                      " THEN version + 1 ELSE version END WHERE id = $1 RETURNING ", kScenarioColumns}),
                                 {id, std::int64_t{max_errors}, reason, now})
                       : tx.Exec(Sql({"UPDATE scenarios SET consecutive_errors = 0 WHERE id = $1 RETURNING ",
                                      kScenarioColumns}),
                                 {id});
            if (!r) return r.error();
            if (r->rows.empty()) return ScenarioNotFound(id);
            out = ScenarioFrom(r->rows[0]);
            if (failed && !out.active) {
                auto usage = tx.Exec("UPDATE connection_usage SET is_active = 0 WHERE scenario_id = $1", {id});
                if (!usage) return usage.error();
            }
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<std::vector<Scenario>> ListDueScenarios(std::int64_t now_ms, int limit) override {
        if (limit <= 0) return std::vector<Scenario>();
        auto r = db_.Exec(Sql({"SELECT ", kScenarioColumns,
                               " FROM scenarios WHERE is_active = 1 AND next_run_at <= $1 AND is_invalid = 0"
                               " ORDER BY next_run_at, id LIMIT $2"}),
                          {now_ms, std::int64_t{std::clamp(limit, 1, kMaxPageLimit)}});
        if (!r) return r.error();
        std::vector<Scenario> out;
        out.reserve(r->rows.size());
        for (const Row& row : r->rows) out.push_back(ScenarioFrom(row));
        return out;
    }

    core::Result<bool> AdvanceNextRun(std::int64_t id, std::int64_t expected,
                                      std::optional<std::int64_t> next) override {
        const ScenarioWrite writing(*this);
        auto r = db_.Exec("UPDATE scenarios SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3",
                          {Opt(next), id, expected});
        if (!r) return r.error();
        if (r->affected > 0) return true;
        auto exists = db_.Exec("SELECT COUNT(*) FROM scenarios WHERE id = $1", {id});
        if (!exists) return exists.error();
        if (exists->rows.at(0).Int(0) == 0) return ScenarioNotFound(id);
        return false;
    }

    core::Result<void> ReplaceScenarioUsage(core::TeamId team, std::int64_t scenario_id,
                                            const std::vector<ConnectionUsage>& usage,
                                            const std::vector<std::int64_t>& dynamic_ids) override {
        std::vector<std::string> scopes;
        std::set<std::int64_t> connections;
        for (const ConnectionUsage& u : usage) {
            if ((u.team_id.value() != 0 && u.team_id != team) || (u.scenario_id != 0 && u.scenario_id != scenario_id)) {
                return core::InvalidArgument("usage of connection " + std::to_string(u.connection_id.value()) +
                                             " names another team or scenario");
            }
            if (!connections.insert(u.connection_id.value()).second) {
                return core::InvalidArgument("connection " + std::to_string(u.connection_id.value()) +
                                             " is listed twice in the usage of scenario " +
                                             std::to_string(scenario_id));
            }
            auto required = CheckJson(u.required_scopes_json, "required_scopes_json", JsonShape::kArrayOfStrings, "[]");
            if (!required) return required.error();
            scopes.push_back(std::move(*required));
        }
        const std::set<std::int64_t> dynamics(dynamic_ids.begin(), dynamic_ids.end());
        return db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto scenario =
                tx.Exec("SELECT name FROM scenarios WHERE team_id = $1 AND id = $2", {team.value(), scenario_id});
            if (!scenario) return scenario.error();
            if (scenario->rows.empty()) return ScenarioNotFound(scenario_id);
            const std::string scenario_name = scenario->rows[0].Text(0);
            // A blueprint may still name a connection deleted since (its rows went with it): such ids are skipped.
            // Another team's id is refused, so the index never links a scenario to a foreign row.
            std::vector<bool> exists(usage.size(), false);
            for (std::size_t i = 0; i < usage.size(); ++i) {
                auto owner = OwnerTeam(tx, "connections", usage[i].connection_id.value(), team, "connection");
                if (!owner) return owner.error();
                exists[i] = *owner;
            }
            std::vector<std::int64_t> live_dynamics;
            for (std::int64_t dynamic_id : dynamics) {
                auto owner = OwnerTeam(tx, "dynamic_connections", dynamic_id, team, "dynamic connection");
                if (!owner) return owner.error();
                if (*owner) live_dynamics.push_back(dynamic_id);
            }
            if (auto del = tx.Exec("DELETE FROM connection_usage WHERE scenario_id = $1", {scenario_id}); !del) {
                return del.error();
            }
            for (std::size_t i = 0; i < usage.size(); ++i) {
                if (!exists[i]) continue;
                const ConnectionUsage& u = usage[i];
                auto r = tx.Exec(
                    "INSERT INTO connection_usage (connection_id, team_id, scenario_id, scenario_name, is_active,"
                    " is_scheduled, required_scopes_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    {u.connection_id.value(), team.value(), scenario_id,
                     u.scenario_name.empty() ? scenario_name : u.scenario_name, std::int64_t{u.active},
                     std::int64_t{u.scheduled}, scopes[i]});
                if (!r) return r.error();
            }
            if (auto del = tx.Exec("DELETE FROM scenario_dynamic_usage WHERE scenario_id = $1", {scenario_id}); !del) {
                return del.error();
            }
            for (std::int64_t dynamic_id : live_dynamics) {
                auto r =
                    tx.Exec("INSERT INTO scenario_dynamic_usage (scenario_id, dynamic_id, team_id) VALUES ($1, $2, $3)",
                            {scenario_id, dynamic_id, team.value()});
                if (!r) return r.error();
            }
            return {};
        });
    }

    core::Result<std::vector<std::int64_t>> ListScenariosUsingDynamic(std::int64_t dynamic_id) override {
        auto r = db_.Exec("SELECT scenario_id FROM scenario_dynamic_usage WHERE dynamic_id = $1 ORDER BY scenario_id",
                          {dynamic_id});
        if (!r) return r.error();
        std::vector<std::int64_t> out;
        out.reserve(r->rows.size());
        for (const Row& row : r->rows) out.push_back(row.Int(0));
        return out;
    }

    // ---- executions ----

    core::Result<Execution> EnqueueExecution(const Execution& e) override {
        auto input = CheckJson(e.input_json, "input_json", JsonShape::kObject, "{}");
        if (!input) return input.error();
        const std::int64_t now = clock_.NowMillis();
        Execution out;
        // Queued, or already claimed by the caller (status running with claimed_by): the webhook path runs its
        // own execution at once, and no other worker may take it in between. Nobody has been told about a claimed
        // row yet (its run's durable finish follows), so it is committed without waiting for the disk; a queued
        // one is acknowledged (202) as soon as this returns, so it is durable.
        const bool claimed = e.status == ExecutionStatus::kRunning && !e.claimed_by.empty();
        for (int attempt = 0;; ++attempt) {
            // SQLite: the id comes from this process's counter, which ReserveExecutionId shares (PostgreSQL: the
            // identity sequence, which nextval shares).
            Value id = nullptr;
            if (db_.backend() == Backend::kSqlite) {
                auto next = ReserveExecutionId();
                if (!next) return next.error();
                id = *next;
            }
            bool id_taken = false;
            auto done = db_.Transaction(
                [&](Tx& tx) -> core::Result<void> {
                    id_taken = false;
                    // The foreign key (scenario_id, team_id) checks that the team's scenario exists.
                    auto r = tx.Exec(
                        Sql({"INSERT INTO executions (id, team_id, scenario_id, status, trigger_type, input_json,"
                             " operations, error_type, error_message, error_module_id, log_json, result_json,"
                             " claimed_by, attempts, not_before, created_at, started_at)"
                             " VALUES (",
                             db_.backend() == Backend::kSqlite
                                 ? "$11"
                                 : "COALESCE($11, nextval(pg_get_serial_sequence('executions', 'id')))",
                             ", $1, $2, $7, $3, $4, 0, '', '', 0, '[]', '', $8, $9, $5, $6, $10) RETURNING ",
                             kExecutionColumns}),
                        {e.team_id.value(), e.scenario_id, e.trigger, *input, e.not_before, now,
                         std::string(claimed ? "running" : "queued"), claimed ? e.claimed_by : std::string(),
                         std::int64_t{claimed ? 1 : 0}, claimed ? Value(now) : Value(nullptr), id});
                    if (!r) {
                        id_taken = IsExecutionIdTaken(r.error());
                        if (r.error().code == core::Errc::kConflict && !id_taken)
                            return ScenarioNotFound(e.scenario_id);
                        return r.error();
                    }
                    auto created = ExecutionFrom(r->rows.at(0));
                    if (!created) return created.error();
                    out = std::move(*created);
                    return {};
                },
                claimed ? store::Durability::kDeferred : store::Durability::kDurable);
            if (!done && id_taken && attempt < 3) {
                ForgetExecutionIds();
                continue;
            }
            if (!done) return done.error();
            return out;
        }
    }

    core::Result<std::int64_t> ReserveExecutionId() override {
        if (db_.backend() == Backend::kPostgres) {
            auto r = db_.Exec("SELECT nextval(pg_get_serial_sequence('executions', 'id'))");
            if (!r) return r.error();
            return r->rows.at(0).Int(0);
        }
        std::lock_guard lock(ids_mutex_);
        if (next_execution_id_ == 0) {
            // Above every id in use and every id ever handed out by AUTOINCREMENT (rows deleted since included).
            auto r = db_.Exec(
                "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM executions"
                " UNION ALL SELECT seq AS m FROM sqlite_sequence WHERE name = 'executions')");
            if (!r) return r.error();
            next_execution_id_ = r->rows.at(0).OptInt(0).value_or(0) + 1;
        }
        return next_execution_id_++;
    }

    core::Result<std::int64_t> RecordExecution(const Execution& e, const ExecutionOutcome& outcome) override {
        if (e.id <= 0) return core::InvalidArgument("a recorded execution needs a reserved id");
        if (outcome.status == ExecutionStatus::kQueued || outcome.status == ExecutionStatus::kRunning) {
            return core::InvalidArgument("a recorded execution has finished");
        }
        auto input = CheckJson(e.input_json, "input_json", JsonShape::kObject, "{}");
        if (!input) return input.error();
        auto checked = CheckOutcomeJson(outcome);
        if (!checked) return checked.error();
        const std::int64_t now = clock_.NowMillis();
        std::int64_t id = e.id;
        for (int attempt = 0;; ++attempt) {
            bool id_taken = false;
            auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
                id_taken = false;
                auto r = tx.Exec(
                    "INSERT INTO executions (id, team_id, scenario_id, status, trigger_type, input_json, operations,"
                    " error_type, error_message, error_module_id, log_json, result_json, claimed_by, attempts,"
                    " not_before, created_at, started_at, finished_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', 1, $13, $13, $14, $15)",
                    {id, e.team_id.value(), e.scenario_id, std::string(ExecutionStatusName(outcome.status)), e.trigger,
                     *input, std::int64_t{outcome.operations}, outcome.error_type, outcome.error_message,
                     outcome.error_module_id, checked->log, checked->result, e.created_at,
                     e.started_at.value_or(e.created_at), now});
                if (!r) {
                    id_taken = IsExecutionIdTaken(r.error());
                    if (r.error().code == core::Errc::kConflict && !id_taken) return ScenarioNotFound(e.scenario_id);
                    return r.error();
                }
                return WriteCursors(tx, e.scenario_id, outcome.cursors, now);
            });
            if (!done && id_taken && attempt < 3) {
                ForgetExecutionIds();
                auto next = ReserveExecutionId();
                if (!next) return next.error();
                id = *next;
                continue;
            }
            if (!done) return done.error();
            return id;
        }
    }

    core::Result<std::vector<Execution>> ClaimExecutions(const std::string& holder, std::int64_t now_ms,
                                                         int limit) override {
        if (holder.empty()) return core::InvalidArgument("a claim needs a holder");
        if (limit <= 0) return std::vector<Execution>();
        const std::string_view claim = db_.backend() == Backend::kPostgres ? kClaimPostgres : kClaimSqlite;
        std::vector<Execution> out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            out.clear();
            auto r = tx.Exec(Sql({claim, kExecutionColumns}),
                             {holder, now_ms, std::int64_t{std::min(limit, kMaxPageLimit)}});
            if (!r) return r.error();
            auto claimed = ExecutionsFrom(*r);
            if (!claimed) return claimed.error();
            out = std::move(*claimed);
            return {};
        });
        if (!done) return done.error();
        // RETURNING does not promise an order.
        std::sort(out.begin(), out.end(), [](const Execution& a, const Execution& b) { return a.id < b.id; });
        return out;
    }

    core::Result<bool> ClaimExecution(std::int64_t id, const std::string& holder, std::int64_t now_ms) override {
        if (holder.empty()) return core::InvalidArgument("a claim needs a holder");
        auto r = db_.Exec(
            "UPDATE executions SET status = 'running', claimed_by = $1, started_at = $2, attempts = attempts + 1"
            " WHERE id = $3 AND status = 'queued'",
            {holder, now_ms, id});
        if (!r) return r.error();
        if (r->affected > 0) return true;
        auto exists = db_.Exec("SELECT COUNT(*) FROM executions WHERE id = $1", {id});
        if (!exists) return exists.error();
        if (exists->rows.at(0).Int(0) == 0) return ExecutionNotFound(id);
        return false;
    }

    core::Result<bool> FinishExecution(std::int64_t id, const std::string& holder, const ExecutionOutcome& outcome,
                                       std::optional<std::int64_t> requeue_not_before) override {
        if (holder.empty()) return core::InvalidArgument("a finish needs the holder of the claim");
        const bool requeue = requeue_not_before.has_value() || outcome.status == ExecutionStatus::kQueued;
        if (!requeue && outcome.status == ExecutionStatus::kRunning) {
            return core::InvalidArgument("an execution cannot finish with status running");
        }
        auto checked = CheckOutcomeJson(outcome);
        if (!checked) return checked.error();
        const std::string& log = checked->log;
        const std::string& result = checked->result;
        const std::int64_t now = clock_.NowMillis();
        bool finished = false;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            finished = false;
            // The fence: only the holder of a running claim writes; anyone else changes nothing at all.
            auto r = requeue ? tx.Exec(
                                   "UPDATE executions SET status = 'queued', operations = $1, error_type = $2,"
                                   " error_message = $3, error_module_id = $4, log_json = $5, result_json = $6,"
                                   " not_before = $7, claimed_by = ''"
                                   " WHERE id = $8 AND status = 'running' AND claimed_by = $9 RETURNING scenario_id",
                                   {std::int64_t{outcome.operations}, outcome.error_type, outcome.error_message,
                                    outcome.error_module_id, log, result, requeue_not_before.value_or(now), id, holder})
                             : tx.Exec(
                                   "UPDATE executions SET status = $1, operations = $2, error_type = $3,"
                                   " error_message = $4, error_module_id = $5, log_json = $6, result_json = $7,"
                                   " finished_at = $8"
                                   " WHERE id = $9 AND status = 'running' AND claimed_by = $10 RETURNING scenario_id",
                                   {std::string(ExecutionStatusName(outcome.status)), std::int64_t{outcome.operations},
                                    outcome.error_type, outcome.error_message, outcome.error_module_id, log, result,
                                    now, id, holder});
            if (!r) return r.error();
            if (r->rows.empty()) return {};
            if (auto c = WriteCursors(tx, r->rows[0].Int(0), outcome.cursors, now); !c) return c.error();
            finished = true;
            return {};
        });
        if (!done) return done.error();
        return finished;
    }

    core::Result<std::int64_t> RequeueStaleExecutions(std::int64_t claimed_before) override {
        auto r = db_.Exec(
            "UPDATE executions SET status = 'queued', claimed_by = '' WHERE status = 'running' AND started_at < $1",
            {claimed_before});
        if (!r) return r.error();
        return r->affected;
    }

    core::Result<Execution> GetExecution(core::TeamId team, std::int64_t id) override {
        auto r = db_.Exec(Sql({"SELECT ", kExecutionColumns, " FROM executions WHERE team_id = $1 AND id = $2"}),
                          {team.value(), id});
        if (!r) return r.error();
        if (r->rows.empty()) return ExecutionNotFound(id);
        return ExecutionFrom(r->rows[0]);
    }

    core::Result<std::vector<Execution>> ListExecutions(core::TeamId team, std::int64_t scenario_id,
                                                        const Page& page) override {
        const Page p = Clamp(page);
        auto r = db_.Exec(Sql({"SELECT ", kExecutionColumns,
                               " FROM executions WHERE team_id = $1 AND scenario_id = $2"
                               " ORDER BY id DESC LIMIT $3 OFFSET $4"}),
                          {team.value(), scenario_id, std::int64_t{p.limit}, std::int64_t{p.offset}});
        if (!r) return r.error();
        if (r->rows.empty()) {
            // Nothing listed: tell an empty page of the team's scenario from a scenario the team cannot see.
            auto scenario =
                db_.Exec("SELECT COUNT(*) FROM scenarios WHERE team_id = $1 AND id = $2", {team.value(), scenario_id});
            if (!scenario) return scenario.error();
            if (scenario->rows.at(0).Int(0) == 0) return ScenarioNotFound(scenario_id);
        }
        return ExecutionsFrom(*r);
    }

    core::Result<std::int64_t> CountExecutions(std::optional<ExecutionStatus> status) override {
        auto r = status ? db_.Exec("SELECT COUNT(*) FROM executions WHERE status = $1",
                                   {std::string(ExecutionStatusName(*status))})
                        : db_.Exec("SELECT COUNT(*) FROM executions");
        if (!r) return r.error();
        return r->rows.at(0).Int(0);
    }

    core::Result<std::map<std::int64_t, std::string>> GetCursors(std::int64_t scenario_id) override {
        auto r = db_.Exec("SELECT module_id, cursor_json FROM trigger_cursors WHERE scenario_id = $1", {scenario_id});
        if (!r) return r.error();
        std::map<std::int64_t, std::string> out;
        for (const Row& row : r->rows) out.emplace(row.Int(0), row.Text(1));
        return out;
    }

    // ---- dynamic connections ----

    core::Result<DynamicConnection> CreateDynamicConnection(const DynamicConnection& d) override {
        if (auto shape = CheckDynamicShape(d); !shape) return shape.error();
        const std::int64_t now = clock_.NowMillis();
        DynamicConnection out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto team = tx.Exec("SELECT COUNT(*) FROM teams WHERE id = $1", {d.team_id.value()});
            if (!team) return team.error();
            if (team->rows.at(0).Int(0) == 0) {
                return core::NotFound("team " + std::to_string(d.team_id.value()) + " does not exist");
            }
            if (auto free = CheckDynamicNameFree(tx, d, 0); !free) return free.error();
            if (auto members = CheckDynamicMembers(tx, d); !members) return members.error();
            auto r = tx.Exec(
                "INSERT INTO dynamic_connections (team_id, name, connection_type, default_connection_id, created_at,"
                " updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                {d.team_id.value(), d.name, d.connection_type, NullIfZero(d.default_connection.value()), now});
            if (!r) return r.error();
            const std::int64_t id = r->rows.at(0).Int(0);
            if (auto members = InsertDynamicMembers(tx, id, d); !members) return members.error();
            out = d;
            out.id = id;
            out.created_at = now;
            out.updated_at = now;
            out.members = SortedMembers(d.members);
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<DynamicConnection> GetDynamicConnection(core::TeamId team, std::int64_t id) override {
        auto r =
            db_.Exec(Sql({kDynamicSelect, " WHERE d.team_id = $1 AND d.id = $2 ORDER BY m.label"}), {team.value(), id});
        if (!r) return r.error();
        auto list = DynamicConnectionsFrom(*r);
        if (list.empty()) return DynamicNotFound(id);
        return std::move(list.front());
    }

    core::Result<std::vector<DynamicConnection>> ListDynamicConnections(core::TeamId team) override {
        auto r =
            db_.Exec(Sql({kDynamicSelect, " WHERE d.team_id = $1 ORDER BY d.name, d.id, m.label"}), {team.value()});
        if (!r) return r.error();
        return DynamicConnectionsFrom(*r);
    }

    core::Result<DynamicConnection> UpdateDynamicConnection(const DynamicConnection& d) override {
        if (auto shape = CheckDynamicShape(d); !shape) return shape.error();
        const std::int64_t now = clock_.NowMillis();
        DynamicConnection out;
        auto done = db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto existing = tx.Exec("SELECT created_at FROM dynamic_connections WHERE team_id = $1 AND id = $2",
                                    {d.team_id.value(), d.id});
            if (!existing) return existing.error();
            if (existing->rows.empty()) return DynamicNotFound(d.id);
            const std::int64_t created_at = existing->rows[0].Int(0);
            if (auto free = CheckDynamicNameFree(tx, d, d.id); !free) return free.error();
            if (auto members = CheckDynamicMembers(tx, d); !members) return members.error();
            auto r = tx.Exec(
                "UPDATE dynamic_connections SET name = $1, connection_type = $2, default_connection_id = $3,"
                " updated_at = $4 WHERE team_id = $5 AND id = $6",
                {d.name, d.connection_type, NullIfZero(d.default_connection.value()), now, d.team_id.value(), d.id});
            if (!r) return r.error();
            auto del = tx.Exec("DELETE FROM dynamic_connection_members WHERE dynamic_id = $1", {d.id});
            if (!del) return del.error();
            if (auto members = InsertDynamicMembers(tx, d.id, d); !members) return members.error();
            out = d;
            out.created_at = created_at;
            out.updated_at = now;
            out.members = SortedMembers(d.members);
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<void> DeleteDynamicConnection(core::TeamId team, std::int64_t id) override {
        // Members and scenario_dynamic_usage rows go with it (ON DELETE CASCADE).
        auto r = db_.Exec("DELETE FROM dynamic_connections WHERE team_id = $1 AND id = $2", {team.value(), id});
        if (!r) return r.error();
        if (r->affected == 0) return DynamicNotFound(id);
        return {};
    }

  private:
    // Marks a write to the scenarios table for the hook cache, when it begins and once it is over (whatever its
    // outcome): a lookup that overlaps it in any way finds the counter moved and neither serves nor stores a row.
    class ScenarioWrite {
      public:
        explicit ScenarioWrite(SqlScenarioStore& store) : store_(store) { store_.ScenariosChanged(); }
        ~ScenarioWrite() { store_.ScenariosChanged(); }
        ScenarioWrite(const ScenarioWrite&) = delete;
        ScenarioWrite& operator=(const ScenarioWrite&) = delete;

      private:
        SqlScenarioStore& store_;
    };
    void ScenariosChanged() {
        std::lock_guard lock(hooks_mutex_);
        scenario_writes_.fetch_add(1);
        hooks_.clear();
    }

    static constexpr std::chrono::milliseconds kHookCacheTtl{1000};
    static constexpr std::size_t kHookCacheEntries = 1024;
    struct HookEntry {
        Scenario scenario;
        std::chrono::steady_clock::time_point stored_at;
    };
    std::mutex hooks_mutex_;
    // Hook token → its scenario (SQLite only). Every write empties it under hooks_mutex_, so what it holds was
    // stored since the last write.
    std::unordered_map<std::string, HookEntry> hooks_;
    std::atomic<std::uint64_t> scenario_writes_{0};

    // The only unique key of scenarios a caller can hit is the hook token.
    static core::Error HookConflict(core::Error e) {
        if (e.code == core::Errc::kConflict && e.detail.find("hook_token") != std::string::npos) {
            return core::Conflict("another scenario already uses this webhook token");
        }
        return e;
    }

    struct OutcomeJson {
        std::string log;
        std::string result;
    };
    // The outcome's JSON fields, checked (the API shows them verbatim, the engine parses the cursors).
    static core::Result<OutcomeJson> CheckOutcomeJson(const ExecutionOutcome& outcome) {
        OutcomeJson out;
        if (outcome.json_serialised) {
            if (!outcome.log_json.starts_with('[')) return core::InvalidArgument("log_json must be a JSON array");
            if (!outcome.result_json.empty() && !outcome.result_json.starts_with('{')) {
                return core::InvalidArgument("result_json must be a JSON object");
            }
            out.log = outcome.log_json;
            out.result = outcome.result_json;
        } else {
            auto log = CheckJson(outcome.log_json, "log_json", JsonShape::kArray, "[]");
            if (!log) return log.error();
            out.log = std::move(*log);
            if (!outcome.result_json.empty()) {
                auto result = CheckJson(outcome.result_json, "result_json", JsonShape::kObject, "");
                if (!result) return result.error();
                out.result = std::move(*result);
            }
        }
        for (const auto& [module_id, cursor] : outcome.cursors) {
            auto c = CheckJson(cursor, "cursor of module " + std::to_string(module_id), JsonShape::kAny, "");
            if (!c) return c.error();
        }
        return out;
    }

    static core::Result<void> WriteCursors(Tx& tx, std::int64_t scenario_id,
                                           const std::map<std::int64_t, std::string>& cursors, std::int64_t now) {
        for (const auto& [module_id, cursor] : cursors) {
            auto c = tx.Exec(
                "INSERT INTO trigger_cursors (scenario_id, module_id, cursor_json, updated_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (scenario_id, module_id) DO UPDATE SET"
                " cursor_json = excluded.cursor_json, updated_at = excluded.updated_at",
                {scenario_id, module_id, cursor, now});
            if (!c) return c.error();
        }
        return {};
    }

    // An explicit execution id that is already in use (SQLite: another process on the same file took it).
    static bool IsExecutionIdTaken(const core::Error& e) {
        return e.code == core::Errc::kConflict && (e.detail.find("executions.id") != std::string::npos ||
                                                   e.detail.find("executions_pkey") != std::string::npos);
    }
    void ForgetExecutionIds() {
        std::lock_guard lock(ids_mutex_);
        next_execution_id_ = 0;  // seeded again from the table
    }

    Db& db_;
    const core::Clock& clock_;
    std::mutex ids_mutex_;
    std::int64_t next_execution_id_ = 0;  // SQLite: the next id this process hands out (0: not seeded yet)
};

}  // namespace

std::unique_ptr<ScenarioStore> MakeSqlScenarioStore(Db& db, const core::Clock& clock) {
    return std::make_unique<SqlScenarioStore>(db, clock);
}

}  // namespace switchboard::store

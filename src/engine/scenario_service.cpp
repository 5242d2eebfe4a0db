#include "engine/scenario_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

namespace switchboard::engine {

namespace json = boost::json;
using accounts::Caller;
using accounts::Permission;
using core::Result;

namespace {

constexpr std::size_t kMaxNameLength = 256;

Result<std::string> Name(const json::value& v) {
    if (!v.is_string()) return core::InvalidArgument("name must be a text");
    std::string name(v.as_string());
    if (name.find_first_not_of(" \t\r\n") == std::string::npos) return core::InvalidArgument("name must not be empty");
    if (name.size() > kMaxNameLength) return core::InvalidArgument("name must be at most 256 characters");
    return name;
}

// A JSON value given as itself or as JSON text (Make's API sends blueprints and scheduling as text).
Result<json::value> Unwrap(const json::value& v, std::string_view what) {
    if (!v.is_string()) return v;
    json::error_code ec;
    json::value parsed = json::parse(v.as_string(), ec);
    if (ec) return core::InvalidArgument(std::string(what) + " is not valid JSON: " + ec.message());
    return parsed;
}

}  // namespace

Result<ScenarioChange> ParseScenarioChange(const json::object& body) {
    ScenarioChange c;
    if (const auto* n = body.if_contains("name")) {
        auto name = Name(*n);
        if (!name) return name.error();
        c.name = std::move(*name);
    }
    if (const auto* b = body.if_contains("blueprint")) {
        auto v = Unwrap(*b, "blueprint");
        if (!v) return v.error();
        c.blueprint = std::move(*v);
    }
    if (const auto* s = body.if_contains("scheduling")) {
        auto v = Unwrap(*s, "scheduling");
        if (!v) return v.error();
        c.scheduling = std::move(*v);
    }
    if (const auto* i = body.if_contains("interface")) {
        auto v = Unwrap(*i, "interface");
        if (!v) return v.error();
        if (!v->is_object() || !v->as_object().contains("input")) {
            return core::InvalidArgument("interface must be an object with an input array");
        }
        c.inputs = v->as_object().at("input");
    }
    if (const auto* i = body.if_contains("inputs")) c.inputs = *i;
    for (const auto& [k, v] : body) {
        static const std::set<std::string_view> kKnown{"name",   "blueprint", "scheduling", "interface",
                                                       "inputs", "teamId",    "folderId",   "description"};
        if (!kKnown.contains(k)) return core::InvalidArgument("unknown field '" + std::string(k) + "'");
    }
    return c;
}

Result<DynamicChange> ParseDynamicChange(const json::object& body) {
    DynamicChange c;
    if (const auto* n = body.if_contains("name")) {
        auto name = Name(*n);
        if (!name) return name.error();
        c.name = std::move(*name);
    }
    auto id_of = [](const json::value& v, std::string_view what) -> Result<std::int64_t> {
        if (v.is_null()) return 0;
        if (v.is_int64() && v.as_int64() >= 0) return v.as_int64();
        if (v.is_uint64()) return static_cast<std::int64_t>(v.as_uint64());
        return core::InvalidArgument(std::string(what) + " must be a connection id");
    };
    for (const char* key : {"connectionType", "accountName", "type"}) {
        if (const auto* t = body.if_contains(key)) {
            if (!t->is_string() || t->as_string().empty()) {
                return core::InvalidArgument(std::string(key) + " must be a connection type name");
            }
            c.connection_type = std::string(t->as_string());
        }
    }
    if (const auto* d = body.if_contains("defaultConnectionId")) {
        auto id = id_of(*d, "defaultConnectionId");
        if (!id) return id.error();
        c.default_connection = *id;
    }
    if (const auto* m = body.if_contains("connections")) {
        if (!m->is_array()) return core::InvalidArgument("connections must be an array of {connectionId, label}");
        std::vector<store::DynamicMember> members;
        std::set<std::string> labels;
        std::set<std::int64_t> ids;
        for (const auto& item : m->as_array()) {
            if (!item.is_object())
                return core::InvalidArgument("connections must be an array of {connectionId, label}");
            const auto& o = item.as_object();
            const auto* cid = o.if_contains("connectionId");
            if (!cid) return core::InvalidArgument("every member needs a connectionId");
            auto id = id_of(*cid, "connectionId");
            if (!id) return id.error();
            if (*id <= 0) return core::InvalidArgument("connectionId must be a connection id");
            std::string label;
            if (const auto* l = o.if_contains("label")) {
                if (!l->is_string()) return core::InvalidArgument("label must be a text");
                label = std::string(l->as_string());
            }
            if (label.empty()) label = std::to_string(*id);
            if (label.size() > 128) return core::InvalidArgument("label must be at most 128 characters");
            if (!labels.insert(label).second) return core::InvalidArgument("label '" + label + "' is used twice");
            if (!ids.insert(*id).second) {
                return core::InvalidArgument("connection " + std::to_string(*id) + " is listed twice");
            }
            members.push_back({core::ConnectionId(*id), label});
        }
        c.members = std::move(members);
    }
    return c;
}

void ScenarioService::Audit(const Caller& caller, core::TeamId team, std::string action, std::string target,
                            json::object detail) {
    accounts_.Audit(team, caller.user, std::move(action), std::move(target), json::serialize(detail));
}

Result<store::Scenario> ScenarioService::Load(const Caller& caller, std::int64_t id, Permission p) {
    auto row = scenarios_.FindScenario(id);
    if (!row) return row.error();
    auto allowed = accounts_.AuthorizeRow(caller, row->team_id, p, "scenario " + std::to_string(id));
    if (!allowed) return allowed.error();
    return row;
}

Result<store::Scenario> ScenarioService::Authorize(const Caller& caller, std::int64_t id, Permission p) {
    return Load(caller, id, p);
}

ScenarioView ScenarioService::View(store::Scenario row) {
    ScenarioView v;
    if (!row.hook_token.empty()) v.hook_url = HookUrl(row.hook_token);
    std::set<std::string> apps;
    // The blueprint as runs see it (cached per version), not parsed again for every view.
    if (auto compiled = Compiled(row)) {
        const Blueprint& bp = (*compiled)->blueprint;
        ForEachModule(bp, [&](const ModuleNode& m) {
            const std::string app = m.module.substr(0, m.module.find(':'));
            if (app != "builtin") apps.insert(app);
        });
        if (!bp.flow.empty()) v.first_module = bp.flow.front().module;
    }
    v.used_packages.assign(apps.begin(), apps.end());
    v.row = std::move(row);
    return v;
}

Result<Schedule> ScenarioService::ScheduleOf(const store::Scenario& row) {
    json::error_code ec;
    json::value v = json::parse(row.scheduling_json, ec);
    if (ec) return core::Internal("stored scheduling of scenario " + std::to_string(row.id) + " is not JSON");
    return ParseSchedule(v);
}

Result<std::shared_ptr<const CompiledScenario>> ScenarioService::Compiled(const store::Scenario& row) {
    {
        std::lock_guard lock(cache_mutex_);
        if (auto it = cache_.find(row.id); it != cache_.end() && it->second.first == row.version) {
            return it->second.second;
        }
    }
    json::error_code ec;
    json::value bp = json::parse(row.blueprint_json, ec);
    if (ec) return core::Internal("stored blueprint of scenario " + std::to_string(row.id) + " is not JSON");
    auto parsed = ParseBlueprint(bp);
    if (!parsed) return parsed.error();
    json::value in = json::parse(row.inputs_json, ec);
    if (ec) in = json::array{};
    auto inputs = ParseInputs(in);
    if (!inputs) return inputs.error();
    auto compiled = Compile(std::move(*parsed), std::move(*inputs));
    if (!compiled) return compiled.error();
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() > 10'000) cache_.clear();
    cache_[row.id] = {row.version, *compiled};
    return *compiled;
}

Result<std::shared_ptr<const CompiledScenario>> ScenarioService::Check(store::Scenario& row) {
    json::error_code ec;
    json::value bp_json = json::parse(row.blueprint_json, ec);
    if (ec) return core::InvalidArgument("blueprint is not valid JSON");
    auto bp = ParseBlueprint(bp_json);
    if (!bp) return bp.error();
    if (bp->flow.empty()) return core::InvalidArgument("blueprint.flow must contain at least one module");
    auto unknown = UnknownModules(
        *bp, [&](const std::string& name) { return DescribeModule(catalog_, registry_, name).has_value(); });
    if (!unknown.empty()) {
        core::Error e = core::InvalidArgument("the blueprint uses modules Switchboard does not know");
        for (const auto& u : unknown) e.suberrors.push_back(u);
        std::string list;
        for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
        e.detail = "unknown modules: " + list;
        return e;
    }
    // Connections: each must exist in this team and fit the module.
    std::optional<core::Error> failed;
    ForEachModule(*bp, [&](const ModuleNode& m) {
        if (failed) return;
        const auto info = DescribeModule(catalog_, registry_, m.module);
        const std::string who = "module " + std::to_string(m.id) + " (" + m.module + ")";
        if (info->IsTrigger() && &m != &bp->flow.front()) {
            failed = core::InvalidArgument(who + " is a trigger: it must be the first module");
            return;
        }
        auto ref = ConnectionOf(m);
        if (!ref) {
            failed = core::InvalidArgument(who + ": " + ref.error().detail);
            return;
        }
        if (!*ref) return;
        if (!info->TakesConnection()) {
            failed = core::InvalidArgument(who + " takes no connection");
            return;
        }
        std::string type;
        if ((*ref)->dynamic) {
            auto d = scenarios_.GetDynamicConnection(row.team_id, (*ref)->id);
            if (!d) {
                failed = core::InvalidArgument(who + ": dynamic connection " + std::to_string((*ref)->id) +
                                               " does not exist in this team");
                return;
            }
            type = d->connection_type;
        } else {
            auto c = store_.FindConnection(core::ConnectionId((*ref)->id));
            if (!c || c->team_id != row.team_id) {
                failed = core::InvalidArgument(who + ": connection " + std::to_string((*ref)->id) +
                                               " does not exist in this team");
                return;
            }
            type = c->type;
        }
        const catalog::ConnectionType* t = catalog_.FindConnectionType(type);
        if (!info->connection_type.empty() && type != info->connection_type) {
            failed =
                core::InvalidArgument(who + " needs a connection of type " + info->connection_type + ", not " + type);
        } else if (info->connection_type.empty() && (!t || t->app != info->connection_app)) {
            failed =
                core::InvalidArgument(who + " needs a connection of the " + info->connection_app + " app, not " + type);
        }
    });
    if (failed) return *failed;

    json::value sched_json = json::parse(row.scheduling_json, ec);
    if (ec) return core::InvalidArgument("scheduling is not valid JSON");
    const bool instant =
        bp->flow.front().module == kWebhook ||
        DescribeModule(catalog_, registry_, bp->flow.front().module)->type == catalog::ModuleType::kInstant;
    if (instant) sched_json = json::object{{"type", "immediately"}};
    auto schedule = ParseSchedule(sched_json);
    if (!schedule) return schedule.error();
    row.scheduling_json = json::serialize(ScheduleToJson(*schedule));
    if (instant && row.hook_token.empty()) row.hook_token = random_.Token(24);
    if (!instant) row.hook_token.clear();
    row.next_run_at = row.active && IsScheduled(*schedule) ? NextRun(*schedule, clock_.NowMillis()) : std::nullopt;

    json::value in = json::parse(row.inputs_json, ec);
    if (ec) return core::InvalidArgument("inputs are not valid JSON");
    auto inputs = ParseInputs(in);
    if (!inputs) return inputs.error();
    row.inputs_json = json::serialize(InputsToJson(*inputs));
    row.blueprint_json = json::serialize(bp_json);
    return Compile(std::move(*bp), std::move(*inputs));
}

Result<void> ScenarioService::WriteUsage(const store::Scenario& row, const CompiledScenario& compiled) {
    std::map<std::int64_t, std::set<std::string>> scopes;  // connection id → scopes needed
    std::set<std::int64_t> dynamic_ids;
    std::optional<core::Error> failed;
    ForEachModule(compiled.blueprint, [&](const ModuleNode& m) {
        auto ref = ConnectionOf(m);
        if (!ref || !*ref || failed) return;
        const auto info = DescribeModule(catalog_, registry_, m.module);
        std::vector<std::string> need = info ? info->scope : std::vector<std::string>{};
        std::vector<std::int64_t> ids;
        if ((*ref)->dynamic) {
            dynamic_ids.insert((*ref)->id);
            auto d = scenarios_.GetDynamicConnection(row.team_id, (*ref)->id);
            if (!d) return;
            for (const auto& mem : d->members) ids.push_back(mem.connection_id.value());
        } else {
            ids.push_back((*ref)->id);
        }
        for (auto id : ids) scopes[id].insert(need.begin(), need.end());
    });
    auto schedule = ScheduleOf(row);
    const bool scheduled = row.active && schedule && (IsScheduled(*schedule) || !row.hook_token.empty());
    std::vector<store::ConnectionUsage> usage;
    for (const auto& [id, need] : scopes) {
        store::ConnectionUsage u;
        u.connection_id = core::ConnectionId(id);
        u.team_id = row.team_id;
        u.scenario_id = row.id;
        u.scenario_name = row.name;
        u.active = row.active;
        u.scheduled = scheduled;
        json::array s;
        for (const auto& x : need) s.push_back(json::string(x));
        u.required_scopes_json = json::serialize(s);
        usage.push_back(std::move(u));
    }
    return scenarios_.ReplaceScenarioUsage(row.team_id, row.id, usage,
                                           std::vector<std::int64_t>(dynamic_ids.begin(), dynamic_ids.end()));
}

Result<std::vector<ScenarioView>> ScenarioService::List(const Caller& caller, core::TeamId team,
                                                        const store::Page& page) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kRead); !a) return a.error();
    auto rows = scenarios_.ListScenarios(team, page);
    if (!rows) return rows.error();
    std::vector<ScenarioView> out;
    for (auto& r : *rows) out.push_back(View(std::move(r)));
    return out;
}

Result<ScenarioView> ScenarioService::Get(const Caller& caller, std::int64_t id) {
    auto row = Load(caller, id, Permission::kRead);
    if (!row) return row.error();
    return View(std::move(*row));
}

Result<ScenarioView> ScenarioService::Create(const Caller& caller, core::TeamId team, const ScenarioChange& change) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kWrite); !a) return a.error();
    if (!change.blueprint) return core::InvalidArgument("blueprint is required");
    store::Scenario row;
    row.team_id = team;
    row.created_by = caller.user;
    row.blueprint_json = json::serialize(*change.blueprint);
    if (change.name) {
        row.name = *change.name;
    } else if (change.blueprint->is_object() && change.blueprint->as_object().contains("name") &&
               change.blueprint->as_object().at("name").is_string()) {
        row.name = std::string(change.blueprint->as_object().at("name").as_string());
    }
    if (row.name.empty()) return core::InvalidArgument("name is required");
    if (change.scheduling) row.scheduling_json = json::serialize(*change.scheduling);
    if (change.inputs) row.inputs_json = json::serialize(*change.inputs);
    auto compiled = Check(row);
    if (!compiled) return compiled.error();
    auto created = scenarios_.CreateScenario(row);
    if (!created) return created.error();
    if (auto u = WriteUsage(*created, **compiled); !u) return u.error();
    Audit(caller, team, "scenario.create", "scenario:" + std::to_string(created->id), {{"name", created->name}});
    return View(std::move(*created));
}

Result<ScenarioView> ScenarioService::Update(const Caller& caller, std::int64_t id, const ScenarioChange& change) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    const std::int64_t version = row->version;
    if (change.name) row->name = *change.name;
    if (change.blueprint) row->blueprint_json = json::serialize(*change.blueprint);
    if (change.scheduling) row->scheduling_json = json::serialize(*change.scheduling);
    if (change.inputs) row->inputs_json = json::serialize(*change.inputs);
    auto compiled = Check(*row);
    if (!compiled) return compiled.error();
    auto updated = scenarios_.UpdateScenario(*row, version);
    if (!updated) return updated.error();
    if (auto u = WriteUsage(*updated, **compiled); !u) return u.error();
    Audit(caller, updated->team_id, "scenario.update", "scenario:" + std::to_string(id), {{"name", updated->name}});
    return View(std::move(*updated));
}

Result<void> ScenarioService::Delete(const Caller& caller, std::int64_t id) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    if (auto d = scenarios_.DeleteScenario(row->team_id, id); !d) return d.error();
    {
        std::lock_guard lock(cache_mutex_);
        cache_.erase(id);
    }
    Audit(caller, row->team_id, "scenario.delete", "scenario:" + std::to_string(id), {{"name", row->name}});
    return {};
}

Result<ScenarioView> ScenarioService::Start(const Caller& caller, std::int64_t id) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    const std::int64_t version = row->version;
    row->active = true;
    row->invalid = false;
    row->invalid_reason.clear();
    row->consecutive_errors = 0;
    auto compiled = Check(*row);
    if (!compiled) return compiled.error();
    auto updated = scenarios_.UpdateScenario(*row, version);
    if (!updated) return updated.error();
    if (auto u = WriteUsage(*updated, **compiled); !u) return u.error();
    Audit(caller, updated->team_id, "scenario.start", "scenario:" + std::to_string(id), {{"name", updated->name}});
    return View(std::move(*updated));
}

Result<ScenarioView> ScenarioService::Stop(const Caller& caller, std::int64_t id) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    const std::int64_t version = row->version;
    row->active = false;
    row->next_run_at.reset();
    auto compiled = Compiled(*row);
    if (!compiled) return compiled.error();
    auto updated = scenarios_.UpdateScenario(*row, version);
    if (!updated) return updated.error();
    if (auto u = WriteUsage(*updated, **compiled); !u) return u.error();
    Audit(caller, updated->team_id, "scenario.stop", "scenario:" + std::to_string(id), {{"name", updated->name}});
    return View(std::move(*updated));
}

Result<ScenarioView> ScenarioService::Clone(const Caller& caller, std::int64_t id, const std::string& name) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    ScenarioChange change;
    change.name = name.empty() ? row->name + " (copy)" : name;
    json::error_code ec;
    change.blueprint = json::parse(row->blueprint_json, ec);
    change.scheduling = json::parse(row->scheduling_json, ec);
    change.inputs = json::parse(row->inputs_json, ec);
    return Create(caller, row->team_id, change);
}

void ScenarioService::RecordOutcome(const store::Scenario& row, bool failed, const std::string& error_type,
                                    const std::string& error_message) {
    // A success with no failure counted changes nothing: no write on the hot path.
    if (!failed && row.consecutive_errors == 0) return;
    auto compiled = Compiled(row);
    const int max_errors = compiled ? (*compiled)->blueprint.settings.max_errors : 3;
    std::string reason;
    if (failed) {
        reason = "scheduling was turned off after " + std::to_string(max_errors) +
                 " consecutive failed runs; the last failed with " + error_type + ": " + error_message;
    }
    auto after = scenarios_.RecordRunOutcome(row.id, failed, max_errors, reason);
    if (!after) {
        spdlog::warn("scenario {}: run outcome not recorded: {}", row.id, after.error().detail);
        return;
    }
    if (failed && after->invalid && row.active) {
        spdlog::warn("scenario {} stopped: {}", row.id, after->invalid_reason);
        accounts_.Audit(row.team_id, core::UserId(0), "scenario.disabled", "scenario:" + std::to_string(row.id),
                        json::serialize(json::object{{"reason", after->invalid_reason}}));
        if (compiled) (void)WriteUsage(*after, **compiled);
    }
}

Result<std::vector<UsageView>> ScenarioService::Usage(const Caller& caller, core::ConnectionId connection) {
    auto row = store_.FindConnection(connection);
    if (!row) return row.error();
    auto allowed = accounts_.AuthorizeRow(caller, row->team_id, Permission::kRead,
                                          "connection " + std::to_string(connection.value()));
    if (!allowed) return allowed.error();
    auto usage = store_.ListConnectionUsage(connection);
    if (!usage) return usage.error();
    std::vector<UsageView> out;
    for (auto& u : *usage) {
        UsageView v;
        v.required_scopes = connections::ScopeList(u.required_scopes_json);
        v.usage = std::move(u);
        out.push_back(std::move(v));
    }
    return out;
}

// Dynamic connections.

Result<void> ScenarioService::CheckMembers(core::TeamId team, const std::string& type,
                                           const std::vector<store::DynamicMember>& members, std::int64_t default_id) {
    if (!catalog_.FindConnectionType(type)) return core::InvalidArgument("connection type " + type + " does not exist");
    bool default_found = default_id == 0;
    for (const auto& m : members) {
        auto c = store_.FindConnection(m.connection_id);
        if (!c || c->team_id != team) {
            return core::InvalidArgument("connection " + std::to_string(m.connection_id.value()) +
                                         " does not exist in this team");
        }
        if (c->type != type) {
            return core::InvalidArgument("connection " + std::to_string(m.connection_id.value()) + " is of type " +
                                         c->type + ", not " + type);
        }
        if (m.connection_id.value() == default_id) default_found = true;
    }
    if (!default_found) return core::InvalidArgument("defaultConnectionId must be one of the member connections");
    return {};
}

Result<void> ScenarioService::RefreshUsageOfDynamic(std::int64_t dynamic_id) {
    auto ids = scenarios_.ListScenariosUsingDynamic(dynamic_id);
    if (!ids) return ids.error();
    for (auto sid : *ids) {
        auto row = scenarios_.FindScenario(sid);
        if (!row) continue;
        auto compiled = Compiled(*row);
        if (!compiled) continue;
        if (auto u = WriteUsage(*row, **compiled); !u) return u.error();
    }
    return {};
}

Result<std::vector<store::DynamicConnection>> ScenarioService::ListDynamic(const Caller& caller, core::TeamId team) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kRead); !a) return a.error();
    return scenarios_.ListDynamicConnections(team);
}

Result<store::DynamicConnection> ScenarioService::GetDynamic(const Caller& caller, std::int64_t id) {
    // The team is not in the path: find it through the caller's teams.
    auto teams = store_.ListTeamsOfUser(caller.user);
    if (!teams) return teams.error();
    for (const auto& t : *teams) {
        auto d = scenarios_.GetDynamicConnection(t.id, id);
        if (d) {
            if (auto a = accounts_.Authorize(caller, t.id, Permission::kRead); !a) return a.error();
            return d;
        }
        if (d.error().code != core::Errc::kNotFound) return d.error();
    }
    return core::NotFound("dynamic connection " + std::to_string(id) + " does not exist");
}

Result<store::DynamicConnection> ScenarioService::CreateDynamic(const Caller& caller, core::TeamId team,
                                                                const DynamicChange& change) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kWrite); !a) return a.error();
    if (!change.name) return core::InvalidArgument("name is required");
    if (!change.connection_type) return core::InvalidArgument("connectionType is required");
    store::DynamicConnection d;
    d.team_id = team;
    d.name = *change.name;
    d.connection_type = *change.connection_type;
    if (change.members) d.members = *change.members;
    d.default_connection = core::ConnectionId(change.default_connection.value_or(0));
    if (auto ok = CheckMembers(team, d.connection_type, d.members, d.default_connection.value()); !ok)
        return ok.error();
    auto created = scenarios_.CreateDynamicConnection(d);
    if (!created) return created.error();
    Audit(caller, team, "dynamic_connection.create", "dynamic_connection:" + std::to_string(created->id),
          {{"name", created->name}});
    return created;
}

Result<store::DynamicConnection> ScenarioService::UpdateDynamic(const Caller& caller, std::int64_t id,
                                                                const DynamicChange& change) {
    auto current = GetDynamic(caller, id);
    if (!current) return current.error();
    if (auto a = accounts_.Authorize(caller, current->team_id, Permission::kWrite); !a) return a.error();
    store::DynamicConnection d = *current;
    if (change.name) d.name = *change.name;
    if (change.connection_type && *change.connection_type != d.connection_type) {
        auto users = scenarios_.ListScenariosUsingDynamic(id);
        if (!users) return users.error();
        if (!users->empty()) return core::Conflict("the connection type cannot change while scenarios use it");
        d.connection_type = *change.connection_type;
    }
    if (change.members) d.members = *change.members;
    if (change.default_connection) d.default_connection = core::ConnectionId(*change.default_connection);
    if (auto ok = CheckMembers(d.team_id, d.connection_type, d.members, d.default_connection.value()); !ok) {
        return ok.error();
    }
    auto updated = scenarios_.UpdateDynamicConnection(d);
    if (!updated) return updated.error();
    if (auto u = RefreshUsageOfDynamic(id); !u) return u.error();
    Audit(caller, d.team_id, "dynamic_connection.update", "dynamic_connection:" + std::to_string(id),
          {{"name", updated->name}});
    return updated;
}

Result<void> ScenarioService::DeleteDynamic(const Caller& caller, std::int64_t id, bool confirmed) {
    auto current = GetDynamic(caller, id);
    if (!current) return current.error();
    if (auto a = accounts_.Authorize(caller, current->team_id, Permission::kWrite); !a) return a.error();
    auto users = scenarios_.ListScenariosUsingDynamic(id);
    if (!users) return users.error();
    if (!users->empty() && !confirmed) {
        core::Error e = core::Conflict("the dynamic connection is used in " + std::to_string(users->size()) +
                                       " scenario(s); repeat with confirmed=true");
        e.message = "Dynamic connection in use";
        for (auto sid : *users) {
            auto s = scenarios_.FindScenario(sid);
            e.suberrors.push_back("scenario " + std::to_string(sid) + (s ? " \"" + s->name + "\"" : ""));
        }
        return e;
    }
    if (auto d = scenarios_.DeleteDynamicConnection(current->team_id, id); !d) return d.error();
    for (auto sid : *users) {
        auto row = scenarios_.FindScenario(sid);
        if (!row) continue;
        auto compiled = Compiled(*row);
        if (compiled) (void)WriteUsage(*row, **compiled);
    }
    Audit(caller, current->team_id, "dynamic_connection.delete", "dynamic_connection:" + std::to_string(id),
          {{"name", current->name}});
    return {};
}

}  // namespace switchboard::engine

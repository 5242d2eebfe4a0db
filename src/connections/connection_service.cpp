#include "connections/connection_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "connections/parameters.hpp"

namespace switchboard::connections {

namespace json = boost::json;
using accounts::Caller;
using accounts::Permission;
using core::Result;

namespace {

std::vector<std::string> ScopesOf(const store::Connection& c) {
    std::vector<std::string> out;
    json::error_code ec;
    json::value v = json::parse(c.scopes_json, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& s : v.as_array()) {
        if (s.is_string()) out.emplace_back(s.as_string());
    }
    return out;
}

std::string ScopesJson(const std::vector<std::string>& scopes) {
    json::array a;
    for (const auto& s : scopes) a.emplace_back(s);
    return json::serialize(a);
}

core::Error VerifyFailed(const std::string& reason) {
    core::Error e = core::InvalidArgument(reason.empty() ? "the app refused the credentials" : reason);
    e.message = "Connection verification failed";
    return e;
}

core::Error OAuthNotOffered(const catalog::ConnectionType& type) {
    return core::InvalidArgument("connection type " + type.name +
                                 " uses OAuth 2, whose consent flow this server does not offer yet; use a connection "
                                 "type with an API key or token");
}

struct OpenedCredentials {
    json::object parameters;
    json::object data;
};

Result<OpenedCredentials> ParseCredentials(const core::Secret& secret) {
    json::error_code ec;
    json::value v = json::parse(secret.Reveal(), ec);
    if (ec || !v.is_object()) return core::Internal("stored credential set is not a JSON object");
    OpenedCredentials out;
    if (auto* p = v.as_object().if_contains("parameters"); p && p->is_object()) out.parameters = p->as_object();
    if (auto* d = v.as_object().if_contains("data"); d && d->is_object()) out.data = d->as_object();
    return out;
}

}  // namespace

Result<void> ValidateConnectionName(const std::string& name) {
    const bool blank = std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); });
    if (name.empty() || blank || name.size() > 128) {
        return core::InvalidArgument("the connection name must be 1 to 128 characters");
    }
    return {};
}

std::string ConnectionService::CredentialJson(const json::object& parameters, const json::object& data) {
    return json::serialize(json::object{{"parameters", parameters}, {"data", data}});
}

void ConnectionService::Audit(const Caller& caller, const store::Connection& c, std::string action,
                              json::object detail) {
    detail["name"] = c.name;
    detail["type"] = c.type;
    store::AuditEvent e;
    e.team_id = c.team_id;
    e.user_id = caller.user;
    e.action = std::move(action);
    e.target = "connection:" + std::to_string(c.id.value());
    e.detail_json = json::serialize(detail);
    if (auto r = store_.AppendAudit(e); !r) spdlog::warn("audit event {} not stored: {}", e.action, r.error().detail);
}

ConnectionView ConnectionService::View(store::Connection row, int used_in) const {
    ConnectionView v;
    v.type = catalog_.FindConnectionType(row.type);
    v.app = catalog_.FindApp(row.app);
    v.used_in = used_in;
    v.row = std::move(row);
    return v;
}

Result<const catalog::ConnectionType*> ConnectionService::TypeOf(const store::Connection& row) const {
    const auto* type = catalog_.FindConnectionType(row.type);
    if (!type) {
        return core::Error::Make(core::Errc::kConflict, "App not available",
                                 "connection type " + row.type + " is no longer in the app catalog");
    }
    return type;
}

Result<store::Connection> ConnectionService::Load(const Caller& caller, core::ConnectionId id, Permission p) {
    auto row = store_.FindConnection(id);
    if (!row) return row.error();
    auto allowed = accounts_.Authorize(caller, row->team_id, p);
    if (!allowed) {
        // Outside the team the connection does not exist; inside, the role is what is missing.
        auto member = accounts_.Authorize(caller, row->team_id, Permission::kRead);
        if (!member) return core::NotFound("connection " + std::to_string(id.value()) + " does not exist");
        return allowed.error();
    }
    return row;
}

Result<std::vector<ConnectionView>> ConnectionService::List(const Caller& caller, core::TeamId team,
                                                            const store::ConnectionQuery& query,
                                                            const store::Page& page) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kRead); !a) return a.error();
    auto rows = store_.ListConnections(team, query, page);
    if (!rows) return rows.error();
    auto usage = store_.CountConnectionUsage(team);
    if (!usage) return usage.error();
    std::vector<ConnectionView> out;
    out.reserve(rows->size());
    for (auto& r : *rows) {
        const auto it = usage->find(r.id.value());
        out.push_back(View(std::move(r), it == usage->end() ? 0 : it->second));
    }
    return out;
}

Result<ConnectionView> ConnectionService::Get(const Caller& caller, core::ConnectionId id) {
    auto row = Load(caller, id, Permission::kRead);
    if (!row) return row.error();
    auto usage = store_.ListConnectionUsage(id);
    if (!usage) return usage.error();
    return View(std::move(*row), static_cast<int>(usage->size()));
}

Result<ConnectionView> ConnectionService::Create(const Caller& caller, core::TeamId team, const CreateInput& input) {
    if (auto a = accounts_.Authorize(caller, team, Permission::kWrite); !a) return a.error();
    if (auto n = ValidateConnectionName(input.name); !n) return n.error();
    const catalog::ConnectionType* type = catalog_.FindConnectionType(input.type);
    if (!type) {
        core::Error e = core::InvalidArgument("unknown connection type '" + input.type + "'");
        e.message = "Invalid connection type";
        return e;
    }
    if (type->IsOAuth()) return OAuthNotOffered(*type);
    const catalog::App* app = catalog_.FindApp(type->app);
    if (!app) return core::Internal("connection type " + type->name + " has no app");

    std::vector<std::string> granted = type->default_scope;
    for (const auto& s : input.scopes) {
        if (!type->scopes.empty() && !type->KnowsScope(s)) {
            core::Error e = core::InvalidArgument("scope '" + s + "' is not a scope of " + type->name);
            e.message = "Invalid scope";
            return e;
        }
        if (std::find(granted.begin(), granted.end(), s) == granted.end()) granted.push_back(s);
    }

    auto checked = CheckParameters(type->parameters, input.parameters);
    if (!checked) return checked.error();

    NewConnection nc;
    nc.team = team;
    nc.name = input.name;
    nc.app = app->name;
    nc.type = type->name;
    nc.scopes_json = ScopesJson(granted);
    nc.created_by = caller.user;
    json::object data;
    if (verifier_.HasVerifyRequest(*type)) {
        auto v = verifier_.Verify(*app, *type, checked->values, {});
        if (!v) return v.error();
        if (!v->skipped && !v->verified) return VerifyFailed(v->message);
        nc.status = v->skipped ? store::ConnectionStatus::kUnverified : store::ConnectionStatus::kVerified;
        if (!v->skipped) nc.verified_at = clock_.NowMillis();
        nc.metadata_json = v->metadata.is_object() ? json::serialize(v->metadata) : "{}";
        nc.uid = v->uid;
        data = std::move(v->data);
    } else {
        nc.status = store::ConnectionStatus::kUnverified;
    }
    auto created = credentials_.Create(nc, core::Secret(CredentialJson(checked->values, data)));
    if (!created) return created.error();
    Audit(caller, *created, "connection.create", {{"verified", created->status == store::ConnectionStatus::kVerified}});
    return View(std::move(*created));
}

Result<ConnectionView> ConnectionService::Rename(const Caller& caller, core::ConnectionId id, const std::string& name) {
    if (auto n = ValidateConnectionName(name); !n) return n.error();
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    if (auto r = store_.RenameConnection(row->team_id, id, name); !r) return r.error();
    json::object detail{{"from", row->name}};
    row->name = name;
    Audit(caller, *row, "connection.rename", std::move(detail));
    return Get(caller, id);
}

Result<std::vector<EditableField>> ConnectionService::EditableData(const Caller& caller, core::ConnectionId id) {
    auto row = Load(caller, id, Permission::kRead);
    if (!row) return row.error();
    auto type = TypeOf(*row);
    if (!type) return type.error();
    json::object current;
    if (auto opened = credentials_.Open(*row)) {
        if (auto creds = ParseCredentials(*opened)) current = NonSecretValues((*type)->parameters, creds->parameters);
    }
    std::vector<EditableField> out;
    for (const auto& p : (*type)->parameters) {
        if (!p.editable) continue;
        EditableField f;
        f.parameter = &p;
        if (const auto* v = current.if_contains(p.name)) f.value = *v;
        out.push_back(std::move(f));
    }
    return out;
}

Result<ConnectionView> ConnectionService::SetData(const Caller& caller, core::ConnectionId id,
                                                  const json::object& parameters) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    auto type = TypeOf(*row);
    if (!type) return type.error();
    if ((*type)->IsOAuth()) return OAuthNotOffered(**type);
    const catalog::App* app = catalog_.FindApp((*type)->app);
    if (!app) return core::Internal("connection type " + (*type)->name + " has no app");

    // The previous values matter only for non-editable fields; a broken row has none to offer.
    std::optional<OpenedCredentials> previous;
    if (auto opened = credentials_.Open(*row)) {
        if (auto creds = ParseCredentials(*opened)) previous = std::move(*creds);
    }
    auto checked = CheckParameters((*type)->parameters, parameters, previous ? &previous->parameters : nullptr);
    if (!checked) return checked.error();

    store::ConnectionReplacement rep;
    rep.scopes_json = row->scopes_json;
    json::object data;
    if (verifier_.HasVerifyRequest(**type)) {
        auto v = verifier_.Verify(*app, **type, checked->values, {});
        if (!v) return v.error();
        if (!v->skipped && !v->verified) return VerifyFailed(v->message);
        rep.status = v->skipped ? store::ConnectionStatus::kUnverified : store::ConnectionStatus::kVerified;
        if (!v->skipped) rep.last_verified_at = clock_.NowMillis();
        rep.metadata_json = v->metadata.is_object() ? json::serialize(v->metadata) : "{}";
        rep.uid = v->uid;
        data = std::move(v->data);
    } else {
        rep.status = store::ConnectionStatus::kUnverified;
    }
    auto replaced = credentials_.Replace(*row, core::Secret(CredentialJson(checked->values, data)), rep);
    if (!replaced) return replaced.error();
    Audit(caller, *replaced, "connection.edit", {{"version", replaced->version}});
    return Get(caller, id);
}

Result<TestResult> ConnectionService::Test(const Caller& caller, core::ConnectionId id) {
    auto row = Load(caller, id, Permission::kRun);
    if (!row) return row.error();
    auto type = TypeOf(*row);
    if (!type) return type.error();
    constexpr std::string_view kNothingToAsk =
        "there is no verify request for this connection; the credentials are intact";
    TestResult out;
    auto opened = credentials_.Open(*row);
    if (!opened) {
        out.message = "the stored credentials cannot be opened; edit the connection to enter them again";
    } else if ((*type)->IsOAuth()) {
        out.message = "OAuth connections cannot be verified by this server yet";
    } else if (!verifier_.HasVerifyRequest(**type)) {
        out.verified = true;
        out.message = kNothingToAsk;
    } else {
        auto creds = ParseCredentials(*opened);
        if (!creds) return creds.error();
        const catalog::App* app = catalog_.FindApp((*type)->app);
        if (!app) return core::Internal("connection type " + (*type)->name + " has no app");
        auto v = verifier_.Verify(*app, **type, creds->parameters, creds->data);
        if (!v) return v.error();
        if (v->skipped) {
            out.verified = true;
            out.message = kNothingToAsk;
        } else {
            out.verified = v->verified;
            out.message = v->message;
            const auto status = v->verified ? store::ConnectionStatus::kVerified : store::ConnectionStatus::kFailed;
            if (auto s = store_.SetConnectionStatus(row->team_id, id, status, v->verified ? "" : v->message,
                                                    clock_.NowMillis());
                !s) {
                return s.error();
            }
        }
    }
    Audit(caller, *row, "connection.verify", {{"verified", out.verified}, {"message", out.message}});
    auto view = Get(caller, id);
    if (!view) return view.error();
    out.connection = std::move(*view);
    return out;
}

Result<bool> ConnectionService::Scoped(const Caller& caller, core::ConnectionId id,
                                       const std::vector<std::string>& scopes) {
    auto row = Load(caller, id, Permission::kRead);
    if (!row) return row.error();
    const auto granted = ScopesOf(*row);
    const std::set<std::string> have(granted.begin(), granted.end());
    return std::all_of(scopes.begin(), scopes.end(), [&](const auto& s) { return have.contains(s); });
}

Result<void> ConnectionService::Delete(const Caller& caller, core::ConnectionId id, bool confirmed) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    auto usage = store_.ListConnectionUsage(id);
    if (!usage) return usage.error();
    if (!usage->empty() && !confirmed) {
        core::Error e = core::Conflict("the connection is used in " + std::to_string(usage->size()) +
                                       " scenario(s), which will stop working without it; repeat with confirmed=true");
        e.message = "Connection in use";
        for (const auto& u : *usage) {
            std::string state = u.active ? "active" : "inactive";
            if (u.scheduled) state += ", scheduled";
            e.suberrors.push_back("scenario " + std::to_string(u.scenario_id) + " \"" + u.scenario_name + "\" (" +
                                  state + ")");
        }
        return e;
    }
    if (auto d = store_.DeleteConnection(row->team_id, id); !d) return d.error();
    Audit(caller, *row, "connection.delete", {{"scenarios", usage->size()}});
    return {};
}

}  // namespace switchboard::connections

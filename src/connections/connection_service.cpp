#include "connections/connection_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "connections/parameters.hpp"
#include "core/encoding.hpp"

namespace switchboard::connections {

namespace json = boost::json;
using accounts::Caller;
using accounts::Permission;
using core::Result;

namespace {

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
    return core::InvalidArgument("connection type " + type.name + " uses OAuth 2, which this server is not set up for");
}

core::Error ChangeByReauthorizing(const catalog::ConnectionType& type) {
    return core::InvalidArgument("connection type " + type.name +
                                 " uses OAuth 2: change it with POST /api/v2/connections/{id}/reauthorize");
}

std::vector<std::string> Union(std::vector<std::string> a, const std::vector<std::string>& b) {
    for (const auto& s : b) {
        if (std::find(a.begin(), a.end(), s) == a.end()) a.push_back(s);
    }
    return a;
}

std::string MetadataJson(const json::value& metadata) {
    return metadata.is_object() ? json::serialize(metadata) : "{}";
}

}  // namespace

std::vector<std::string> ScopeList(std::string_view scopes_json) {
    std::vector<std::string> out;
    json::error_code ec;
    json::value v = json::parse(scopes_json, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& s : v.as_array()) {
        if (s.is_string()) out.emplace_back(s.as_string());
    }
    return out;
}

Result<void> ValidateConnectionName(const std::string& name) {
    const bool blank = std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); });
    if (name.empty() || blank || name.size() > 128) {
        return core::InvalidArgument("the connection name must be 1 to 128 characters");
    }
    return {};
}

void ConnectionService::Audit(const Caller& caller, const store::Connection& c, std::string action,
                              json::object detail) {
    detail["name"] = c.name;
    detail["type"] = c.type;
    AuditTeam(caller, c.team_id, std::move(action), "connection:" + std::to_string(c.id.value()), std::move(detail));
}

void ConnectionService::AuditTeam(const Caller& caller, core::TeamId team, std::string action, std::string target,
                                  json::object detail) {
    accounts_.Audit(team, caller.user, std::move(action), std::move(target), json::serialize(detail));
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
    auto allowed = accounts_.AuthorizeRow(caller, row->team_id, p, "connection " + std::to_string(id.value()));
    if (!allowed) return allowed.error();
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
    const catalog::App* app = catalog_.FindApp(type->app);
    if (!app) return core::Internal("connection type " + type->name + " has no app");

    std::vector<std::string> granted = type->default_scope;
    for (const auto& s : input.scopes) {
        const bool is_default = std::find(granted.begin(), granted.end(), s) != granted.end();
        if (!is_default && !type->KnowsScope(s)) {
            core::Error e = core::InvalidArgument("scope '" + s + "' is not a scope of " + type->name);
            e.message = "Invalid scope";
            return e;
        }
        if (std::find(granted.begin(), granted.end(), s) == granted.end()) granted.push_back(s);
    }

    auto checked = CheckParameters(type->parameters, input.parameters);
    if (!checked) return checked.error();
    if (type->IsOAuth()) return CreateOAuth(caller, team, input.name, *app, *type, checked->values, granted);

    store::Connection nc;
    nc.team_id = team;
    nc.name = input.name;
    nc.app = app->name;
    nc.type = type->name;
    nc.scopes_json = ScopesJson(granted);
    nc.requested_scopes_json = nc.scopes_json;
    nc.created_by = caller.user;
    json::object data;
    if (verifier_.HasVerifyRequest(*type)) {
        auto v = verifier_.Verify(*app, *type, checked->values, {});
        if (!v) return v.error();
        if (!v->skipped && !v->verified) {
            AuditTeam(caller, team, "connection.create.refused", "connection:new",
                      {{"type", type->name}, {"message", v->message}});
            return VerifyFailed(v->message);
        }
        nc.status = v->skipped ? store::ConnectionStatus::kUnverified : store::ConnectionStatus::kVerified;
        if (!v->skipped) nc.last_verified_at = clock_.NowMillis();
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
        if (auto creds = ParseCredentialSet(*opened)) current = NonSecretValues((*type)->parameters, creds->parameters);
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
    if ((*type)->IsOAuth()) return ChangeByReauthorizing(**type);
    const catalog::App* app = catalog_.FindApp((*type)->app);
    if (!app) return core::Internal("connection type " + (*type)->name + " has no app");

    // The previous values matter only for non-editable fields; a broken row has none to offer.
    std::optional<CredentialSet> previous;
    if (auto opened = credentials_.Open(*row)) {
        if (auto creds = ParseCredentialSet(*opened)) previous = std::move(*creds);
    }
    auto checked = CheckParameters((*type)->parameters, parameters, previous ? &previous->parameters : nullptr);
    if (!checked) return checked.error();

    store::ConnectionReplacement rep;
    rep.scopes_json = row->scopes_json;
    rep.requested_scopes_json = row->requested_scopes_json;
    json::object data;
    if (verifier_.HasVerifyRequest(**type)) {
        auto v = verifier_.Verify(*app, **type, checked->values, {});
        if (!v) return v.error();
        if (!v->skipped && !v->verified) {
            Audit(caller, *row, "connection.edit.refused", {{"message", v->message}});
            return VerifyFailed(v->message);
        }
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

Result<void> ConnectionService::ClearStaleFailure(const store::Connection& row) {
    // The credentials open and there is nothing to ask the app: an old failure or break no longer holds.
    if (row.status != store::ConnectionStatus::kBroken && row.status != store::ConnectionStatus::kFailed) return {};
    auto r = store_.SetConnectionStatus(row.team_id, row.id, store::ConnectionStatus::kUnverified, "", std::nullopt,
                                        row.version);
    if (!r) return r.error();
    return {};
}

Result<std::pair<bool, std::string>> ConnectionService::TestOAuth(const store::Connection& original,
                                                                  const catalog::ConnectionType& type) {
    const catalog::App* app = catalog_.FindApp(type.app);
    if (!app || !oauth_) return OAuthNotOffered(type);
    // A use of the connection: refresh first when the token is due, and once more if the app answers 401.
    store::Connection row = original;
    if (row.status == store::ConnectionStatus::kNeedsReauthorization) {
        return std::make_pair(false, std::string(kAccountValidationError) + ": " + row.status_detail);
    }
    if (row.status == store::ConnectionStatus::kVerified) {
        auto fresh = RefreshIfDue(row.id);
        if (fresh) {
            row = std::move(*fresh);
        } else {
            // A revoked grant ends here; a transient failure does not, while the current token is still valid.
            const bool still_valid = row.token_expires_at && *row.token_expires_at > clock_.NowMillis();
            if (fresh.error().message == kAccountValidationError) {
                return std::make_pair(false, std::string(kAccountValidationError) + ": " + fresh.error().detail);
            }
            if (!still_valid) return std::make_pair(false, fresh.error().detail);
        }
    }
    for (int attempt = 0;; ++attempt) {
        auto opened = credentials_.Open(row);
        if (!opened) return std::make_pair(false, std::string("the stored credentials cannot be opened"));
        auto creds = ParseCredentialSet(*opened);
        if (!creds) return creds.error();
        auto info = oauth_->Info(*app, type, creds->parameters, creds->data);
        if (!info && attempt == 0 && oauth::RefusedWithStatus(info.error(), 401) &&
            row.status == store::ConnectionStatus::kVerified) {
            auto fresh = RefreshIfDue(row.id, row.version);
            if (!fresh) return std::make_pair(false, fresh.error().detail);
            row = std::move(*fresh);
            continue;
        }
        const bool ok = info.has_value();
        const std::string message = ok ? "" : info.error().detail;
        const auto status = ok ? store::ConnectionStatus::kVerified : store::ConnectionStatus::kFailed;
        if (auto st = store_.SetConnectionStatus(row.team_id, row.id, status, message, clock_.NowMillis(), row.version);
            !st) {
            return st.error();
        }
        return std::make_pair(ok, message);
    }
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
        auto checked = TestOAuth(*row, **type);
        if (!checked) return checked.error();
        out.verified = checked->first;
        out.message = checked->second;
    } else if (!verifier_.HasVerifyRequest(**type)) {
        out.verified = true;
        out.message = kNothingToAsk;
        if (auto st = ClearStaleFailure(*row); !st) return st.error();
    } else {
        auto creds = ParseCredentialSet(*opened);
        if (!creds) return creds.error();
        const catalog::App* app = catalog_.FindApp((*type)->app);
        if (!app) return core::Internal("connection type " + (*type)->name + " has no app");
        auto v = verifier_.Verify(*app, **type, creds->parameters, creds->data);
        if (!v) return v.error();
        if (v->skipped) {
            out.verified = true;
            out.message = kNothingToAsk;
            if (auto st = ClearStaleFailure(*row); !st) return st.error();
        } else {
            out.verified = v->verified;
            out.message = v->message;
            const auto status = v->verified ? store::ConnectionStatus::kVerified : store::ConnectionStatus::kFailed;
            if (auto s = store_.SetConnectionStatus(row->team_id, id, status, v->verified ? "" : v->message,
                                                    clock_.NowMillis(), row->version);
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
    const auto granted = ScopeList(row->scopes_json);
    const std::set<std::string> have(granted.begin(), granted.end());
    return std::all_of(scopes.begin(), scopes.end(), [&](const auto& s) { return have.contains(s); });
}

Result<std::string> ConnectionService::Delete(const Caller& caller, core::ConnectionId id, bool confirmed) {
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
    // Revoke at the provider first; a failure is reported, never a reason to keep the connection.
    std::string warning;
    const auto* type = catalog_.FindConnectionType(row->type);
    const auto* app = type ? catalog_.FindApp(type->app) : nullptr;
    if (type && app && type->IsOAuth() && oauth_ && row->status != store::ConnectionStatus::kPending) {
        auto opened = credentials_.Open(*row);
        auto creds = opened ? ParseCredentialSet(*opened) : Result<CredentialSet>(opened.error());
        auto revoked =
            creds ? oauth_->Invalidate(*app, *type, creds->parameters, creds->data) : Result<void>(creds.error());
        if (!revoked) warning = "the token could not be revoked at " + app->label + ": " + revoked.error().detail;
    }
    if (auto d = store_.DeleteConnection(row->team_id, id); !d) return d.error();
    json::object detail{{"scenarios", usage->size()}};
    if (!warning.empty()) detail["revocation"] = warning;
    Audit(caller, *row, "connection.delete", std::move(detail));
    return warning;
}

Result<std::string> ConnectionService::StartConsent(const Caller& caller, const store::Connection& row,
                                                    const catalog::App& app, const catalog::ConnectionType& type,
                                                    const json::object& parameters,
                                                    const std::vector<std::string>& scopes,
                                                    const std::string& purpose) {
    auto start = oauth_->Authorize(app, type, parameters, scopes);
    if (!start) return start.error();
    store::OAuthState st;
    st.state_hash = core::Sha256Hex(start->state);
    st.team_id = row.team_id;
    st.user_id = caller.user;
    st.connection_id = row.id;
    st.app = app.name;
    if (!start->code_verifier.empty() || !start->temp.empty()) {
        // The PKCE verifier and preauthorize's temp, sealed together until the callback.
        auto sealed = credentials_.SealAside(
            row,
            core::Secret(json::serialize(json::object{{"verifier", start->code_verifier}, {"temp", start->temp}})));
        if (!sealed) return sealed.error();
        st.sealed_verifier = std::move(*sealed);
    }
    st.scopes_json = ScopesJson(scopes);
    st.purpose = purpose;
    st.created_at = clock_.NowMillis();
    st.expires_at = st.created_at + kConsentWindowMs;
    (void)store_.DeleteExpiredOAuthStates(st.created_at);
    if (auto r = store_.CreateOAuthState(st); !r) return r.error();
    return start->url;
}

Result<ConnectionView> ConnectionService::CreateOAuth(const Caller& caller, core::TeamId team, const std::string& name,
                                                      const catalog::App& app, const catalog::ConnectionType& type,
                                                      const json::object& parameters,
                                                      const std::vector<std::string>& scopes) {
    if (!oauth_) return OAuthNotOffered(type);
    store::Connection nc;
    nc.team_id = team;
    nc.name = name;
    nc.app = app.name;
    nc.type = type.name;
    nc.created_by = caller.user;
    nc.scopes_json = ScopesJson(scopes);
    nc.requested_scopes_json = nc.scopes_json;
    if (type.kind == catalog::ConnectionKind::kOAuthClientCredentials) {
        // No window: the client-credentials grant runs now, and a refusal stores nothing.
        auto grant = oauth_->ClientCredentials(app, type, parameters, scopes);
        if (!grant) return VerifyFailed(grant.error().detail);
        nc.status = store::ConnectionStatus::kVerified;
        nc.last_verified_at = clock_.NowMillis();
        nc.metadata_json = MetadataJson(grant->metadata);
        nc.uid = grant->uid;
        nc.scopes_json = ScopesJson(grant->granted_scopes);
        nc.expire_at = grant->expire_at;
        nc.token_expires_at = oauth::TokenExpiry(grant->data);
        auto created = credentials_.Create(nc, core::Secret(CredentialJson(parameters, grant->data)));
        if (!created) return created.error();
        Audit(caller, *created, "connection.create", {{"verified", true}});
        return View(std::move(*created));
    }
    nc.status = store::ConnectionStatus::kPending;
    nc.status_detail = "waiting for consent at " + app.label;
    auto created = credentials_.Create(nc, core::Secret(CredentialJson(parameters, {})));
    if (!created) return created.error();
    auto url = StartConsent(caller, *created, app, type, parameters, scopes, "create");
    if (!url) {
        (void)store_.DeleteConnection(team, created->id);
        return url.error();
    }
    Audit(caller, *created, "connection.create", {{"pending", true}});
    ConnectionView view = View(std::move(*created));
    view.authorize_url = std::move(*url);
    return view;
}

Result<std::vector<WouldBreak>> ConnectionService::ScopesInUseMissing(core::ConnectionId id,
                                                                      const std::vector<std::string>& scopes) {
    auto usage = store_.ListConnectionUsage(id);
    if (!usage) return usage.error();
    const std::set<std::string> have(scopes.begin(), scopes.end());
    std::vector<WouldBreak> out;
    for (const auto& u : *usage) {
        WouldBreak w{u.scenario_id, u.scenario_name, {}};
        for (const auto& s : ScopeList(u.required_scopes_json)) {
            if (!have.contains(s)) w.missing_scopes.push_back(s);
        }
        if (!w.missing_scopes.empty()) out.push_back(std::move(w));
    }
    return out;
}

Result<ConnectionService::ReauthorizeStart> ConnectionService::Reauthorize(const Caller& caller, core::ConnectionId id,
                                                                           const std::vector<std::string>& extra) {
    auto row = Load(caller, id, Permission::kWrite);
    if (!row) return row.error();
    auto type = TypeOf(*row);
    if (!type) return type.error();
    if (!(*type)->IsOAuth()) return core::InvalidArgument("only OAuth connections are reauthorized; use set-data");
    if ((*type)->kind == catalog::ConnectionKind::kOAuthClientCredentials) {
        return core::InvalidArgument("client-credentials connections need no consent; use test to renew");
    }
    const catalog::App* app = catalog_.FindApp((*type)->app);
    if (!app || !oauth_) return OAuthNotOffered(**type);
    for (const auto& s : extra) {
        if (!(*type)->KnowsScope(s)) {
            core::Error e = core::InvalidArgument("scope '" + s + "' is not a scope of " + (*type)->name);
            e.message = "Invalid scope";
            return e;
        }
    }
    auto opened = credentials_.Open(*row);
    if (!opened) return opened.error();
    auto creds = ParseCredentialSet(*opened);
    if (!creds) return creds.error();
    const auto scopes = Union(Union((*type)->default_scope, ScopeList(row->scopes_json)), extra);
    auto would_break = ScopesInUseMissing(id, scopes);
    if (!would_break) return would_break.error();
    auto url = StartConsent(caller, *row, *app, **type, creds->parameters, scopes, "reauthorize");
    if (!url) return url.error();
    Audit(caller, *row, "connection.reauthorize.start", {{"scopes", json::value_from(scopes)}});
    return ReauthorizeStart{std::move(*url), std::move(*would_break)};
}

ConsentOutcome ConnectionService::CompleteConsent(const std::string& app_name, const json::object& query) {
    ConsentOutcome out;
    const auto* state = query.if_contains("state");
    if (!state || !state->is_string() || state->as_string().empty()) {
        out.message = "The authorization answer has no state; start again from Switchboard.";
        return out;
    }
    auto st = store_.ConsumeOAuthState(core::Sha256Hex(state->as_string()));
    if (!st) {
        out.message = "This authorization link is unknown or was already used; start again from Switchboard.";
        return out;
    }
    out.connection = st->connection_id;
    auto row = store_.FindConnection(st->connection_id);
    if (!row || row->team_id != st->team_id) {
        out.message = "The connection being authorized no longer exists.";
        return out;
    }
    const Caller caller{st->user_id, "", {}};
    auto fail = [&](std::string message) {
        if (st->purpose == "create") {
            (void)store_.SetConnectionStatus(row->team_id, row->id, store::ConnectionStatus::kFailed, message,
                                             std::nullopt);
        }
        Audit(caller, *row, "connection.authorize", {{"ok", false}, {"message", message}});
        out.message = std::move(message);
        return out;
    };
    if (st->expires_at < clock_.NowMillis()) return fail("The authorization took longer than 10 minutes; start again.");
    if (st->app != app_name) return fail("The authorization answer came back for another app.");
    auto type = TypeOf(*row);
    const catalog::App* app = type ? catalog_.FindApp((*type)->app) : nullptr;
    if (!type || !app || !oauth_) return fail("The app of this connection is not available.");
    auto opened = credentials_.Open(*row);
    if (!opened) return fail("The stored settings of this connection cannot be opened.");
    auto creds = ParseCredentialSet(*opened);
    if (!creds) return fail("The stored settings of this connection cannot be read.");
    std::string verifier;
    json::object kept_temp;
    if (!st->sealed_verifier.empty()) {
        auto v = credentials_.OpenAside(*row, st->sealed_verifier);
        if (!v) return fail("The authorization state cannot be opened; start again.");
        json::error_code ec;
        json::value aside = json::parse(v->Reveal(), ec);
        if (ec || !aside.is_object()) return fail("The authorization state cannot be read; start again.");
        if (const auto* ver = aside.as_object().if_contains("verifier"); ver && ver->is_string()) {
            verifier = std::string(ver->as_string());
        }
        if (const auto* t = aside.as_object().if_contains("temp"); t && t->is_object()) kept_temp = t->as_object();
    }
    const auto scopes = ScopeList(st->scopes_json);
    auto grant = oauth_->ExchangeCode(*app, **type, creds->parameters, scopes, query, verifier, kept_temp);
    if (!grant) return fail(grant.error().detail);

    // A grant that lacks scopes scenarios rely on is not committed: the old credentials stay, and the user
    // learns which scenarios would break.
    if (auto lost = ScopesInUseMissing(row->id, grant->granted_scopes); lost && !lost->empty()) {
        std::string list;
        for (const auto& w : *lost) {
            list += (list.empty() ? "" : "; ") + std::string("scenario \"") + w.scenario_name + "\" needs";
            for (const auto& s : w.missing_scopes) list += " " + s;
        }
        return fail("The provider granted fewer scopes than scenarios using this connection need (" + list +
                    "); nothing was changed.");
    }
    store::ConnectionReplacement rep;
    rep.status = store::ConnectionStatus::kVerified;
    rep.last_verified_at = clock_.NowMillis();
    rep.metadata_json = MetadataJson(grant->metadata);
    rep.uid = grant->uid;
    rep.scopes_json = ScopesJson(grant->granted_scopes);
    rep.requested_scopes_json = ScopesJson(scopes);
    rep.expire_at = grant->expire_at;
    rep.token_expires_at = oauth::TokenExpiry(grant->data);
    if (grant->partial) {
        std::string missing;
        const std::set<std::string> have(grant->granted_scopes.begin(), grant->granted_scopes.end());
        for (const auto& s : scopes) {
            if (!have.contains(s)) missing += (missing.empty() ? "" : ", ") + s;
        }
        rep.status_detail = "partial grant: the provider did not grant " + missing;
    }
    auto replaced = credentials_.Replace(*row, core::Secret(CredentialJson(creds->parameters, grant->data)), rep);
    if (!replaced) return fail("The new credentials could not be stored: " + replaced.error().detail);
    Audit(caller, *replaced, st->purpose == "create" ? "connection.authorize" : "connection.reauthorize",
          {{"ok", true}, {"scopes", json::value_from(grant->granted_scopes)}, {"partial", grant->partial}});
    out.ok = true;
    out.message = "Connection authorized.";
    return out;
}

}  // namespace switchboard::connections

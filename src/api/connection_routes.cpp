// /api/v2/connections… (Make's connections API) and /api/v2/audit. Deviations from Make: docs/api.md.
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "api/api.hpp"
#include "api/handler_util.hpp"
#include "api/json_views.hpp"
#include "api/request_util.hpp"
#include "core/clock.hpp"

namespace switchboard::api {

namespace json = boost::json;
using accounts::Caller;
using core::Result;
using http_server::Request;
using http_server::Response;

namespace {

std::string_view AccountType(const catalog::ConnectionType* type) {
    return type && type->IsOAuth() ? "oauth" : "basic";
}

json::object ConnectionJson(const connections::ConnectionView& v) {
    const store::Connection& c = v.row;
    json::value metadata = ParseOr(c.metadata_json, json::object{});
    if (metadata.is_object() && metadata.as_object().empty()) metadata = nullptr;
    json::value scopes = ParseOr(c.scopes_json, json::array{});
    const bool editable = v.type && std::any_of(v.type->parameters.begin(), v.type->parameters.end(),
                                                [](const auto& p) { return p.editable; });
    json::object o;
    o["id"] = c.id.value();
    o["name"] = c.name;
    o["accountName"] = c.type;
    o["accountLabel"] = v.type ? json::value(v.type->label) : json::value(c.type);
    o["accountType"] = AccountType(v.type);
    o["packageName"] = c.app;
    o["appLabel"] = v.app ? json::value(v.app->label) : json::value(c.app);
    o["theme"] = v.app ? json::value(v.app->theme) : json::value(nullptr);
    o["teamId"] = c.team_id.value();
    o["metadata"] = metadata;
    o["uid"] = c.uid.empty() ? json::value(nullptr) : json::value(c.uid);
    o["expire"] = Time(c.expire_at);
    o["scopes"] = scopes;
    json::value requested = ParseOr(c.requested_scopes_json, json::array{});
    bool partial = false;
    if (requested.is_array() && scopes.is_array()) {
        for (const auto& r : requested.as_array()) {
            const auto& g = scopes.as_array();
            if (std::find(g.begin(), g.end(), r) == g.end()) partial = true;
        }
    }
    o["requestedScopes"] = requested;
    o["partialGrant"] = partial;
    o["scopesCnt"] = scopes.is_array() ? scopes.as_array().size() : 0;
    o["editable"] = editable;
    o["status"] = store::ConnectionStatusName(c.status);
    o["statusMessage"] = c.status_detail.empty() ? json::value(nullptr) : json::value(c.status_detail);
    o["lastVerified"] = Time(c.last_verified_at);
    o["createdBy"] = c.created_by.valid() ? json::value(c.created_by.value()) : json::value(nullptr);
    o["created"] = core::FormatIso8601(c.created_at);
    o["updated"] = core::FormatIso8601(c.updated_at);
    o["usedIn"] = v.used_in;
    o["version"] = c.version;
    return o;
}

// cols[]=a&cols[]=b keeps only those keys (cols[]=* or none: all).
json::object SelectColumns(json::object o, const Request& req) {
    auto cols = req.QueryAll("cols[]");
    if (cols.empty() || std::find(cols.begin(), cols.end(), "*") != cols.end()) return o;
    json::object out;
    for (auto c : cols) {
        if (auto* v = o.if_contains(c)) out[c] = *v;
    }
    return out;
}

Result<std::pair<store::ConnectionQuery, store::Page>> ListQuery(const Request& req) {
    store::ConnectionQuery q;
    for (auto t : req.QueryAll("type[]")) q.types.emplace_back(t);
    for (auto t : req.QueryAll("type")) q.types.emplace_back(t);
    auto limit = IntQuery(req, "pg[limit]", 100, 1, 10000);
    if (!limit) return limit.error();
    auto offset = IntQuery(req, "pg[offset]", 0, 0, 1'000'000'000);
    if (!offset) return offset.error();
    if (auto sort = req.Query("pg[sortBy]")) {
        static const std::map<std::string_view, store::ConnectionSort> kSorts{
            {"name", store::ConnectionSort::kName},
            {"id", store::ConnectionSort::kId},
            {"created", store::ConnectionSort::kCreated},
            {"updated", store::ConnectionSort::kUpdated}};
        auto it = kSorts.find(*sort);
        if (it == kSorts.end()) return core::InvalidArgument("pg[sortBy] must be one of name, id, created, updated");
        q.sort_by = it->second;
    }
    if (auto dir = req.Query("pg[sortDir]")) {
        if (*dir != "asc" && *dir != "desc") return core::InvalidArgument("pg[sortDir] must be asc or desc");
        q.descending = *dir == "desc";
    }
    return std::make_pair(q, store::Page{*limit, *offset});
}

Result<std::vector<std::string>> StringArray(const json::object& body, std::string_view key) {
    std::vector<std::string> out;
    const json::value* v = body.if_contains(key);
    if (!v || v->is_null()) return out;
    if (!v->is_array()) return core::InvalidArgument("'" + std::string(key) + "' must be an array of strings");
    for (const auto& s : v->as_array()) {
        if (!s.is_string()) return core::InvalidArgument("'" + std::string(key) + "' must be an array of strings");
        out.emplace_back(s.as_string());
    }
    return out;
}

// Make's body: {"accountName": <display name>, "accountType": <type>, "scopes": [...], <parameters…>};
// also {"name", "type", "scopes", "data": {…}}.
Result<connections::CreateInput> CreateInputFrom(const json::object& body) {
    connections::CreateInput in;
    auto scopes = StringArray(body, "scopes");
    if (!scopes) return scopes.error();
    in.scopes = std::move(*scopes);
    // Make's form is recognised by accountType, so an app parameter called "name", "type" or "data" still works.
    if (!body.contains("accountType")) {
        auto name = StringField(body, "name", true);
        if (!name) return name.error();
        auto type = StringField(body, "type", true);
        if (!type) return type.error();
        in.name = *name;
        in.type = *type;
        if (const auto* d = body.if_contains("data"); d && !d->is_null()) {
            if (!d->is_object()) return core::InvalidArgument("'data' must be an object");
            in.parameters = d->as_object();
        }
        return in;
    }
    auto name = StringField(body, "accountName", true);
    if (!name) return name.error();
    auto type = StringField(body, "accountType", true);
    if (!type) return type.error();
    in.name = *name;
    in.type = *type;
    for (const auto& [k, v] : body) {
        if (k != "accountName" && k != "accountType" && k != "scopes") in.parameters[k] = v;
    }
    return in;
}

Result<core::ConnectionId> ConnId(const Request& req) {
    auto id = PathId(req, "connectionId");
    if (!id) return id.error();
    return core::ConnectionId{*id};
}

std::string HtmlEscape(std::string_view s) {
    std::string out;
    for (char ch : s) {
        switch (ch) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += ch;
        }
    }
    return out;
}

// A small page that tells the window that opened it how consent ended, then closes itself.
Response ConsentPage(const connections::ConsentOutcome& outcome) {
    json::object msg{{"type", "switchboard:oauth"},
                     {"ok", outcome.ok},
                     {"connectionId", outcome.connection.value()},
                     {"message", outcome.message}};
    std::string payload = json::serialize(msg);
    // Safe inside <script>: no "</" can close the element.
    for (std::size_t pos = 0; (pos = payload.find('<', pos)) != std::string::npos;) payload.replace(pos, 1, "\\u003c");
    std::string html =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Switchboard</title></head><body><p>" +
        HtmlEscape(outcome.message) + (outcome.ok ? " You can close this window." : "") +
        "</p><script>(function(){var m=" + payload +
        ";if(window.opener){window.opener.postMessage(m,window.location.origin);window.close();}})();</script>"
        "</body></html>";
    Response r{outcome.ok ? 200 : 400, "text/html; charset=utf-8", {}, std::move(html)};
    r.headers.emplace_back("cache-control", "no-store");
    r.headers.emplace_back("content-security-policy", "default-src 'none'; script-src 'unsafe-inline'");
    return r;
}

json::array WouldBreakJson(const std::vector<connections::WouldBreak>& list) {
    json::array out;
    for (const auto& w : list) {
        out.push_back({{"scenarioId", w.scenario_id},
                       {"scenarioName", w.scenario_name},
                       {"missingScopes", json::value_from(w.missing_scopes)}});
    }
    return out;
}

}  // namespace

void AddConnectionRoutes(http_server::Router& router, ApiDeps deps) {
    auto& acc = deps.accounts;
    auto* svc = deps.connections;
    if (!svc) return;

    router.Add("GET", "/api/v2/connections", Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto team = QueryId(req, "teamId");
                   if (!team) return team.error();
                   auto q = ListQuery(req);
                   if (!q) return q.error();
                   auto list = svc->List(c, core::TeamId{*team}, q->first, q->second);
                   if (!list) return list.error();
                   json::array out;
                   for (const auto& v : *list) out.push_back(SelectColumns(ConnectionJson(v), req));
                   return JsonResponse(200, json::object{{"connections", std::move(out)}});
               }));

    router.Add("POST", "/api/v2/connections", Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto team = QueryId(req, "teamId");
                   if (!team) return team.error();
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto input = CreateInputFrom(*body);
                   if (!input) return input.error();
                   auto created = svc->Create(c, core::TeamId{*team}, *input);
                   if (!created) return created.error();
                   json::object out{{"connection", ConnectionJson(*created)}};
                   // OAuth: the consent window opens this URL; the connection stays pending until it completes.
                   if (!created->authorize_url.empty()) out["authorizeUrl"] = created->authorize_url;
                   return JsonResponse(201, out);
               }));

    router.Add("GET", "/api/v2/connections/{connectionId}",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto v = svc->Get(c, *id);
                   if (!v) return v.error();
                   return JsonResponse(200, json::object{{"connection", SelectColumns(ConnectionJson(*v), req)}});
               }));

    router.Add("PATCH", "/api/v2/connections/{connectionId}",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto name = StringField(*body, "name", true);
                   if (!name) return name.error();
                   auto v = svc->Rename(c, *id, *name);
                   if (!v) return v.error();
                   return JsonResponse(200, json::object{{"connection", ConnectionJson(*v)}, {"newName", *name}});
               }));

    router.Add("GET", "/api/v2/connections/{connectionId}/editable-data-schema",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto fields = svc->EditableData(c, *id);
                   if (!fields) return fields.error();
                   json::array out;
                   for (const auto& f : *fields) {
                       const auto& p = *f.parameter;
                       json::object o{{"name", p.name},         {"type", catalog::ToString(p.type)},
                                      {"label", p.label},       {"help", p.help},
                                      {"required", p.required}, {"advanced", p.advanced},
                                      {"secret", p.IsSecret()}, {"value", f.value}};
                       if (!p.options.empty()) {
                           json::array opts;
                           for (const auto& opt : p.options)
                               opts.push_back({{"label", opt.label}, {"value", opt.value}});
                           o["options"] = std::move(opts);
                       }
                       out.push_back(std::move(o));
                   }
                   return JsonResponse(200, json::object{{"editableParameters", std::move(out)}});
               }));

    router.Add("POST", "/api/v2/connections/{connectionId}/set-data",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto v = svc->SetData(c, *id, *body);
                   if (!v) return v.error();
                   // set-data keeps the granted scopes, so nothing in use is lost; reported for the same shape.
                   auto lost = svc->ScopesInUseMissing(*id, connections::ScopeList(v->row.scopes_json));
                   if (!lost) return lost.error();
                   return JsonResponse(200, json::object{{"changed", true},
                                                         {"connection", ConnectionJson(*v)},
                                                         {"wouldBreak", WouldBreakJson(*lost)}});
               }));

    router.Add("POST", "/api/v2/connections/{connectionId}/test",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto r = svc->Test(c, *id);
                   if (!r) return r.error();
                   json::object out{{"verified", r->verified}, {"connection", ConnectionJson(r->connection)}};
                   if (!r->message.empty()) out["message"] = r->message;
                   return JsonResponse(200, out);
               }));

    router.Add("POST", "/api/v2/connections/{connectionId}/scoped",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto scopes = StringArray(*body, "scope");
                   if (!scopes) return scopes.error();
                   auto scoped = svc->Scoped(c, *id, *scopes);
                   if (!scoped) return scoped.error();
                   return JsonResponse(200, json::object{{"connection", json::object{{"scoped", *scoped}}}});
               }));

    router.Add("DELETE", "/api/v2/connections/{connectionId}",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   const bool confirmed = req.Query("confirmed").value_or("") == "true";
                   auto r = svc->Delete(c, *id, confirmed);
                   if (!r) return r.error();
                   json::object out{{"connection", id->value()}};
                   if (!r->empty()) out["revocation"] = *r;
                   return JsonResponse(200, out);
               }));

    router.Add("POST", "/api/v2/connections/{connectionId}/reauthorize",
               Authed(acc, [svc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = ConnId(req);
                   if (!id) return id.error();
                   std::vector<std::string> extra;
                   if (!req.body.empty()) {
                       auto body = ParseJsonObject(req);
                       if (!body) return body.error();
                       auto scopes = StringArray(*body, "scopes");
                       if (!scopes) return scopes.error();
                       extra = std::move(*scopes);
                   }
                   auto started = svc->Reauthorize(c, *id, extra);
                   if (!started) return started.error();
                   return JsonResponse(200, json::object{{"authorizeUrl", started->authorize_url},
                                                         {"wouldBreak", WouldBreakJson(started->would_break)}});
               }));

    // The OAuth redirect URI: the consent window lands here. No token (it is the browser of the user who
    // started the flow); the single-use state binds it to that user, team and pending connection.
    router.Add("GET", "/oauth/cb/{app}", [svc](Request& req) {
        json::object query;
        for (const auto& [k, v] : req.query) {
            if (!query.contains(k)) query[k] = v;
        }
        const auto outcome = svc->CompleteConsent(req.path_params.at("app"), query);
        return ConsentPage(outcome);
    });

    router.Add("GET", "/api/v2/audit",
               Authed(acc, [&acc, &store = deps.store](Request& req, const Caller& c) -> Result<Response> {
                   auto team = QueryId(req, "teamId");
                   if (!team) return team.error();
                   if (auto a = acc.Authorize(c, core::TeamId{*team}, accounts::Permission::kRead); !a) {
                       return a.error();
                   }
                   auto limit = IntQuery(req, "pg[limit]", 100, 1, 10000);
                   if (!limit) return limit.error();
                   auto offset = IntQuery(req, "pg[offset]", 0, 0, 1'000'000'000);
                   if (!offset) return offset.error();
                   auto events = store.ListAudit(core::TeamId{*team}, store::Page{*limit, *offset});
                   if (!events) return events.error();
                   json::array out;
                   for (const auto& e : *events) {
                       out.push_back({{"id", e.id},
                                      {"teamId", e.team_id.value()},
                                      {"userId", e.user_id.valid() ? json::value(e.user_id.value()) : nullptr},
                                      {"action", e.action},
                                      {"target", e.target},
                                      {"detail", ParseOr(e.detail_json, json::object{})},
                                      {"created", core::FormatIso8601(e.created_at)}});
                   }
                   return JsonResponse(200, json::object{{"auditEvents", std::move(out)}});
               }));
}

}  // namespace switchboard::api

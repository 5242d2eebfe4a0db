// /api/v2/apps: the app catalog as the UI needs it (labels, colours, connection types with their fields and
// scopes, modules with their fields, scopes and outputs). Descriptive keys only: an app's base, a type's `api`
// and `common` (operator secrets such as OAuth client secrets) and a module's `communication` are never sent.
#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/handler_util.hpp"
#include "api/request_util.hpp"
#include "catalog/catalog.hpp"

namespace switchboard::api {

namespace json = boost::json;
using accounts::Caller;
using core::Result;
using http_server::Request;
using http_server::Response;

namespace {

json::array ParametersJson(const std::vector<catalog::Parameter>& params) {
    json::array out;
    for (const auto& p : params) {
        json::object o{{"name", p.name},
                       {"type", catalog::ToString(p.type)},
                       {"label", p.label.empty() ? p.name : p.label},
                       {"required", p.required},
                       {"advanced", p.advanced},
                       {"editable", p.editable},
                       {"secret", p.IsSecret()}};
        if (!p.help.empty()) o["help"] = p.help;
        // A secret's default is not shown (it could be a shared credential).
        if (!p.default_value.is_null() && !p.IsSecret()) o["default"] = p.default_value;
        if (!p.options.empty()) {
            json::array options;
            for (const auto& opt : p.options)
                options.push_back(json::object{{"label", opt.label}, {"value", opt.value}});
            o["options"] = std::move(options);
        }
        if (!p.spec.empty()) o["spec"] = ParametersJson(p.spec);
        out.push_back(std::move(o));
    }
    return out;
}

json::object AppJson(const catalog::App& app, bool details) {
    json::object o{{"name", app.name},
                   {"label", app.label},
                   {"version", app.version},
                   {"theme", app.theme},
                   {"description", app.description},
                   {"builtin", app.builtin}};
    json::array types;
    for (const auto& t : app.connections) {
        json::object ct{{"name", t.name},
                        {"label", t.label},
                        {"type", catalog::ToString(t.kind)},
                        {"oauth", t.IsOAuth()},
                        {"defaultScope", json::value_from(t.default_scope)}};
        json::array scopes;
        for (const auto& s : t.scopes)
            scopes.push_back(json::object{{"scope", s.scope}, {"description", s.description}});
        ct["scopes"] = std::move(scopes);
        if (details) ct["parameters"] = ParametersJson(t.parameters);
        types.push_back(std::move(ct));
    }
    o["connections"] = std::move(types);
    json::array modules;
    for (const auto& m : app.modules) {
        json::object mo{{"name", m.name},
                        {"id", app.name + ":" + m.name},
                        {"type", catalog::ToString(m.type)},
                        {"label", m.label},
                        {"description", m.description},
                        {"connection", m.connection.empty() ? json::value(nullptr) : json::value(m.connection)},
                        {"scope", json::value_from(m.scope)}};
        if (details) {
            mo["parameters"] = ParametersJson(m.parameters);
            mo["expect"] = ParametersJson(m.expect);
            mo["interface"] = m.interface;
        }
        modules.push_back(std::move(mo));
    }
    o["modules"] = std::move(modules);
    return o;
}

}  // namespace

void AddCatalogRoutes(http_server::Router& router, ApiDeps deps) {
    const catalog::Catalog* catalog = deps.catalog;
    if (!catalog) return;
    auto& accounts = deps.accounts;
    router.Add("GET", "/api/v2/apps", Authed(accounts, [catalog](Request& req, const Caller&) -> Result<Response> {
                   const bool details = req.Query("details").value_or("") == "true";
                   json::array apps;
                   for (const catalog::App* app : catalog->Apps()) apps.push_back(AppJson(*app, details));
                   return JsonResponse(200, json::object{{"apps", std::move(apps)}});
               }));
    router.Add("GET", "/api/v2/apps/{appName}",
               Authed(accounts, [catalog](Request& req, const Caller&) -> Result<Response> {
                   const catalog::App* app = catalog->FindApp(req.path_params["appName"]);
                   if (!app) return core::NotFound("app " + req.path_params["appName"] + " is not in the catalog");
                   return JsonResponse(200, json::object{{"app", AppJson(*app, true)}});
               }));
}

}  // namespace switchboard::api

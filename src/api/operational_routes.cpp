// /healthz (alive), /readyz (database reachable and migrations applied), /metrics (Prometheus text).
#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/error_body.hpp"
#include "api/request_util.hpp"

namespace switchboard::api {

namespace json = boost::json;
using http_server::Request;
using http_server::Response;

void AddOperationalRoutes(http_server::Router& router, ApiDeps deps) {
    router.Add("GET", "/healthz", [](Request&) { return JsonResponse(200, json::object{{"status", "ok"}}); });

    router.Add("GET", "/readyz", [&store = deps.store](Request&) -> Response {
        if (auto ping = store.db().Ping(); !ping) return ErrorResponse(ping.error());
        auto version = store.SchemaVersion();
        if (!version) return ErrorResponse(version.error());
        if (*version < store::Store::LatestSchemaVersion()) {
            return ErrorResponse(
                core::Unavailable("database schema is at version " + std::to_string(*version) + ", this build needs " +
                                  std::to_string(store::Store::LatestSchemaVersion()) + "; run switchboard migrate"));
        }
        return JsonResponse(200, json::object{{"status", "ready"}, {"schemaVersion", *version}});
    });

    router.Add("GET", "/metrics", [&store = deps.store, &metrics = deps.metrics](Request&) {
        Response r = Response::Text(200, metrics.Render([&store] { return store.db().Stats(); }));
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return r;
    });
}

http_server::Router BuildRouter(ApiDeps deps) {
    http_server::Router router;
    AddOperationalRoutes(router, deps);
    AddAccountRoutes(router, deps);
    AddConnectionRoutes(router, deps);
    AddScenarioRoutes(router, deps);
    AddCatalogRoutes(router, deps);
    AddSessionRoutes(router, deps);
    AddUiRoutes(router, deps.web_dir);
    return router;
}

}  // namespace switchboard::api

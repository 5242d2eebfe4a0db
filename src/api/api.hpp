#pragma once
// The REST API (/api/v2, Make-shaped) and the operational endpoints (/healthz, /readyz, /metrics).
// Handlers only adapt HTTP to the services; authorization lives in the services.
#include "accounts/account_service.hpp"
#include "api/metrics.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "http_server/router.hpp"
#include "store/store.hpp"

namespace switchboard::engine {
class ScenarioService;
class Executor;
}  // namespace switchboard::engine

namespace switchboard::api {

struct ApiDeps {
    store::Store& store;
    accounts::AccountService& accounts;
    Metrics& metrics;
    connections::ConnectionService* connections = nullptr;  // null: the connection routes are not served
    engine::ScenarioService* scenarios = nullptr;           // null (with executor): the scenario routes are not served
    engine::Executor* executor = nullptr;
    bool secure_cookies = false;                // the public URL is https: session cookies get the Secure flag
    std::string web_dir;                        // the built web UI (web/dist); "" = no UI routes
    const catalog::Catalog* catalog = nullptr;  // null: /api/v2/apps is not served
};

void AddOperationalRoutes(http_server::Router& router, ApiDeps deps);
void AddAccountRoutes(http_server::Router& router, ApiDeps deps);
void AddConnectionRoutes(http_server::Router& router, ApiDeps deps);
// The app catalog: GET /api/v2/apps[?details=true], GET /api/v2/apps/{appName}.
void AddCatalogRoutes(http_server::Router& router, ApiDeps deps);
// Browser sign-in (/api/v2/auth/…) and the web UI's files.
void AddSessionRoutes(http_server::Router& router, ApiDeps deps);
void AddUiRoutes(http_server::Router& router, const std::string& web_dir);
// Scenarios, executions, dynamic connections, connection usage and /hooks/{token}.
void AddScenarioRoutes(http_server::Router& router, ApiDeps deps);

// Everything above, in one router.
http_server::Router BuildRouter(ApiDeps deps);

}  // namespace switchboard::api

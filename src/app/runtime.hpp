#pragma once
// The composition root's objects: opened database (migrated), key ring, vault and services.
#include <memory>

#include "accounts/account_service.hpp"
#include "app/config.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "connections/credential_store.hpp"
#include "connections/http_verifier.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "engine/executor.hpp"
#include "engine/module.hpp"
#include "engine/runner.hpp"
#include "engine/scenario_service.hpp"
#include "http_client/curl_http_client.hpp"
#include "nativeapps/native_verifier.hpp"
#include "store/store.hpp"
#include "vault/key_ring.hpp"
#include "vault/vault.hpp"

namespace switchboard::app {

struct Runtime {
    core::SystemClock clock;
    core::SodiumRandom random;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<vault::KeyRing> keys;
    std::unique_ptr<vault::Vault> vault;
    std::unique_ptr<store::SessionStore> sessions;
    std::unique_ptr<accounts::AccountService> accounts;
    // Present when the runtime was opened with a key (everything that touches credentials needs it).
    std::unique_ptr<catalog::Catalog> catalog;
    catalog::LoadReport catalog_report;
    std::unique_ptr<http_client::CurlHttpClient> http;
    std::unique_ptr<connections::HttpVerifier> verifier;
    // The verifier the connection service uses: native types (email, postgres) here, the rest via `verifier`.
    std::unique_ptr<nativeapps::NativeVerifier> native_verifier;
    std::unique_ptr<oauth::OAuthEngine> oauth;
    std::unique_ptr<connections::CredentialStore> credentials;
    std::unique_ptr<connections::ConnectionService> connections;
    // Scenarios (with a key too).
    std::unique_ptr<store::ScenarioStore> scenario_store;
    std::unique_ptr<engine::ModuleRegistry> modules;
    std::unique_ptr<engine::Runner> runner;
    std::unique_ptr<engine::ScenarioService> scenarios;
    std::unique_ptr<engine::Executor> executor;  // not started: `serve` starts it
};

// The built-in app folder: SWITCHBOARD_BUILTIN_APPS_DIR, else the apps/ folder of the source tree this binary
// was built from.
std::string BuiltinAppsDir();
// The built web UI: SWITCHBOARD_WEB_DIR, else web/dist of the source tree this binary was built from.
std::string WebDir();

enum class KeyPolicy {
    kNone,          // the command needs no master key (migrate)
    kLoad,          // the key must exist
    kLoadOrCreate,  // first start: create the key file, but only while the database holds no data
};

// Creates the data directory (0700) for SQLite, opens and migrates the database, loads the master key
// according to policy and checks it against the key ids the database uses. Errors name what to do.
core::Result<std::unique_ptr<Runtime>> OpenRuntime(const Config& config, KeyPolicy policy);

}  // namespace switchboard::app

#include "app/runtime.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::app {

using core::Result;

namespace {

Result<void> EnsureDataDir(const Config& config) {
    std::error_code ec;
    const std::filesystem::path dir(config.data_dir);
    if (!std::filesystem::exists(dir)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) return core::Unavailable("cannot create data directory " + dir.string() + ": " + ec.message());
        ::chmod(dir.c_str(), 0700);
    } else if (!std::filesystem::is_directory(dir)) {
        return core::InvalidArgument("invalid configuration: --data-dir / SWITCHBOARD_DATA_DIR: " + dir.string() +
                                     " is not a directory");
    }
    return {};
}

// Key ids that sealed rows refer to; each must be in the ring, or the ring is the wrong one.
Result<std::vector<std::string>> KeyIdsInUse(store::Store& s) {
    auto r = s.db().Exec("SELECT DISTINCT key_id FROM connections WHERE key_id IS NOT NULL AND key_id <> ''");
    if (!r) return r.error();
    std::vector<std::string> ids;
    for (const auto& row : r->rows) ids.push_back(row.Text(0));
    return ids;
}

Result<bool> DatabaseHoldsData(store::Store& s) {
    auto users = s.CountUsers();
    if (!users) return users.error();
    auto ids = KeyIdsInUse(s);
    if (!ids) return ids.error();
    return *users > 0 || !ids->empty();
}

Result<std::unique_ptr<vault::KeyRing>> LoadKeys(const Config& config, store::Store& s, KeyPolicy policy,
                                                 core::Random& random) {
    std::unique_ptr<vault::KeyRing> ring;
    if (config.master_key_from_env) {
        auto r = vault::KeyRing::FromText(std::getenv("SWITCHBOARD_MASTER_KEY"), "SWITCHBOARD_MASTER_KEY");
        if (!r) return r.error();
        ring = std::move(*r);
    } else {
        auto r = vault::KeyRing::FromFile(config.master_key_file);
        if (r) {
            ring = std::move(*r);
        } else if (r.error().code != core::Errc::kNotFound) {
            return r.error();
        } else {
            auto holds = DatabaseHoldsData(s);
            if (!holds) return holds.error();
            if (policy != KeyPolicy::kLoadOrCreate || *holds) {
                return core::Error::Make(
                    core::Errc::kUnavailable, "Master key missing",
                    "master key file " + config.master_key_file +
                        " does not exist, but the database already holds data. Restore the key file (or set "
                        "SWITCHBOARD_MASTER_KEY); a new key is never created over existing data");
            }
            auto created = vault::KeyRing::CreateFile(config.master_key_file, random);
            if (!created) return created.error();
            ring = std::move(*created);
        }
    }
    auto in_use = KeyIdsInUse(s);
    if (!in_use) return in_use.error();
    for (const auto& id : *in_use) {
        if (!ring->Has(id)) {
            std::string have;
            for (const auto& k : ring->ids()) have += (have.empty() ? "" : ", ") + k;
            return core::Error::Make(core::Errc::kUnavailable, "Wrong master key",
                                     "the database holds credentials sealed with master key " + id +
                                         ", which the configured key ring (" + have +
                                         ") does not contain; start with the right key file or SWITCHBOARD_MASTER_KEY");
        }
    }
    return ring;
}

// {"app": {"clientId": "…", "clientSecret": "…"}, …}; "" = none.
Result<std::map<std::string, boost::json::object>> LoadOAuthClients(const std::string& path) {
    std::map<std::string, boost::json::object> out;
    if (path.empty()) return out;
    const auto invalid = [&](const std::string& what) {
        return core::InvalidArgument("invalid configuration: --oauth-clients / SWITCHBOARD_OAUTH_CLIENTS: " + path +
                                     ": " + what);
    };
    std::ifstream in(path);
    if (!in) return invalid("cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    boost::json::error_code ec;
    boost::json::value doc = boost::json::parse(ss.str(), ec);
    if (ec || !doc.is_object()) return invalid("must be a JSON object of app name -> {clientId, clientSecret}");
    for (const auto& [app, client] : doc.as_object()) {
        if (!client.is_object()) return invalid("the entry for " + std::string(app) + " must be an object");
        out[std::string(app)] = client.as_object();
    }
    return out;
}

}  // namespace

std::string BuiltinAppsDir() {
    if (const char* dir = std::getenv("SWITCHBOARD_BUILTIN_APPS_DIR"); dir && *dir) return dir;
    return SWITCHBOARD_SOURCE_APPS_DIR;
}

std::string WebDir() {
    if (const char* dir = std::getenv("SWITCHBOARD_WEB_DIR"); dir && *dir) return dir;
    return SWITCHBOARD_SOURCE_WEB_DIR;
}

Result<std::unique_ptr<Runtime>> OpenRuntime(const Config& config, KeyPolicy policy) {
    auto rt = std::make_unique<Runtime>();
    if (config.is_sqlite() || !config.master_key_from_env) {
        if (auto d = EnsureDataDir(config); !d) return d.error();
    }
    auto db = store::OpenDb(config.database);
    if (!db) return db.error();
    rt->store = store::MakeSqlStore(std::move(*db), rt->clock);
    if (auto m = rt->store->Migrate(); !m) return m.error();
    if (policy != KeyPolicy::kNone) {
        auto keys = LoadKeys(config, *rt->store, policy, rt->random);
        if (!keys) return keys.error();
        rt->keys = std::move(*keys);
        rt->vault = std::make_unique<vault::Vault>(*rt->keys, rt->random);
    }
    rt->accounts = std::make_unique<accounts::AccountService>(*rt->store, rt->clock, rt->random);
    rt->sessions = store::MakeSqlSessionStore(rt->store->db());
    rt->accounts->AttachSessions(*rt->sessions);
    if (rt->vault) {
        rt->catalog = std::make_unique<catalog::Catalog>();
        rt->catalog_report = rt->catalog->Load(BuiltinAppsDir(), config.apps_dir);
        http_client::CurlHttpClientOptions http_options;
        http_options.allow_private_network = config.allow_private_network;
        rt->http = std::make_unique<http_client::CurlHttpClient>(http_options);
        rt->verifier = std::make_unique<connections::HttpVerifier>(*rt->http, rt->clock, rt->random);
        nativeapps::NativeAppsOptions native_options;
        native_options.allow_private_network = config.allow_private_network;
        rt->native_verifier = std::make_unique<nativeapps::NativeVerifier>(*rt->verifier, native_options);
        auto clients = LoadOAuthClients(config.oauth_clients_file);
        if (!clients) return clients.error();
        rt->oauth = std::make_unique<oauth::OAuthEngine>(*rt->http, rt->clock, rt->random, config.public_url,
                                                         std::move(*clients));
        rt->credentials = std::make_unique<connections::CredentialStore>(*rt->store, *rt->vault);
        rt->connections = std::make_unique<connections::ConnectionService>(*rt->store, *rt->credentials, *rt->catalog,
                                                                           *rt->native_verifier, *rt->accounts,
                                                                           rt->clock, rt->oauth.get());
        if (!config.is_sqlite()) {
            // Other nodes may write connections too: their commits reach this node's resolve cache by NOTIFY.
            if (auto follow = rt->connections->FollowConnectionChanges(config.database); !follow) {
                return follow.error();
            }
        }
        rt->scenario_store = store::MakeSqlScenarioStore(rt->store->db(), rt->clock);
        rt->modules = std::make_unique<engine::ModuleRegistry>(engine::ModuleRegistry::WithBuiltins());
        nativeapps::RegisterNativeModules(*rt->modules, native_options);
        rt->runner = std::make_unique<engine::Runner>(*rt->catalog, *rt->modules, *rt->connections, *rt->scenario_store,
                                                      *rt->http, rt->clock, rt->random);
        rt->scenarios = std::make_unique<engine::ScenarioService>(*rt->store, *rt->scenario_store, *rt->accounts,
                                                                  *rt->catalog, *rt->modules, *rt->connections,
                                                                  rt->clock, rt->random, config.public_url);
        engine::ExecutorOptions exec_options;
        exec_options.workers = config.workers;
        rt->executor = std::make_unique<engine::Executor>(*rt->scenarios, *rt->runner, rt->clock, exec_options);
    }
    return rt;
}

}  // namespace switchboard::app

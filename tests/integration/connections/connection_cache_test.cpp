// The resolve cache inside the connection service, against real databases (SQLite in a temp dir, PostgreSQL on the
// shared test server): every change to a connection (edit, delete, status, rename, token refresh, an operator's SQL)
// is seen by the next resolve; another team's id stays not found; an OAuth token the refresher would renew is never
// served from memory; a 401's stale_version skips the cache; a resolve racing an edit never caches the old row.
// With PostgreSQL, two nodes on one database: a write on one reaches the other's cache through LISTEN/NOTIFY, and a
// node whose LISTEN connection is lost stops trusting its cache until it is back.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "accounts/account_service.hpp"
#include "app/config.hpp"
#include "app/runtime.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "connections/credential_store.hpp"
#include "connections/http_verifier.hpp"
#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/random.hpp"
#include "http_client/curl_http_client.hpp"
#include "http_client/sanitizer.hpp"
#include "http_server/server.hpp"
#include "oauth/oauth_engine.hpp"
#include "store/pg_listener.hpp"
#include "store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"
#include "vault/vault.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using connections::ResolvedConnection;

template <class T>
T Must(core::Result<T> r, const std::string& what) {
    if (!r) throw std::runtime_error(what + ": " + r.error().detail);
    return std::move(*r);
}

// Polls `done` every 5 ms until it holds or `limit` passes; returns whether it held.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return done();
}

// The OAuth provider's token endpoint: every call (code exchange or refresh) hands out the next access token,
// access-1, access-2, …, valid for an hour, with a refresh token.
class TokenEndpoint {
  public:
    TokenEndpoint() {
        http_server::Router router;
        router.Add("POST", "/token", [this](http_server::Request&) {
            const int n = ++calls_;
            return http_server::Response::Json(
                200, json::serialize(json::object{{"access_token", "access-" + std::to_string(n)},
                                                  {"refresh_token", "refresh-1"},
                                                  {"expires_in", 3600},
                                                  {"token_type", "Bearer"}}));
        });
        http_server::ServerOptions opts;
        opts.port = 0;
        opts.io_threads = 1;
        opts.worker_threads = 2;
        server_ = std::make_unique<http_server::Server>(
            opts, std::move(router), [](const core::Error& e) { return http_server::Response::Json(404, e.message); },
            nullptr);
        if (!server_->Start()) throw std::runtime_error("token endpoint did not start");
    }
    ~TokenEndpoint() { server_->Stop(); }
    std::string Url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    int calls() const { return calls_.load(); }

  private:
    std::atomic<int> calls_{0};
    std::unique_ptr<http_server::Server> server_;
};

// One server's connection service over a database (two Nodes on one PostgreSQL database = two nodes).
struct Node {
    Node(const std::string& url, const std::string& master_key, core::ManualClock& clock, bool follow,
         store::PgNotificationListener::Options listener_options = FastListener()) {
        store = store::MakeSqlStore(Must(store::OpenDb(url), "database"), clock);
        Must(store->Migrate(), "migrate");
        keys = Must(vault::KeyRing::FromText(master_key, "test key"), "key ring");
        vault = std::make_unique<vault::Vault>(*keys, random);
        accounts = std::make_unique<accounts::AccountService>(*store, clock, random);
        catalog.Load(SWITCHBOARD_BUILTIN_APPS_DIR, "");
        http_client::CurlHttpClientOptions http_options;
        http_options.allow_private_network = true;
        http = std::make_unique<http_client::CurlHttpClient>(http_options);
        verifier = std::make_unique<connections::HttpVerifier>(*http, clock, random);
        credentials = std::make_unique<connections::CredentialStore>(*store, *vault);
        oauth = std::make_unique<oauth::OAuthEngine>(*http, clock, random, "http://127.0.0.1:1");
        connections = std::make_unique<connections::ConnectionService>(*store, *credentials, catalog, *verifier,
                                                                       *accounts, clock, oauth.get());
        if (follow) {
            if (auto f = connections->FollowConnectionChanges(url, listener_options); !f) {
                throw std::runtime_error("follow: " + f.error().detail);
            }
            if (!Eventually([&] { return connections->resolve_cache().trusted(); })) {
                throw std::runtime_error("LISTEN never took effect");
            }
        }
    }
    static store::PgNotificationListener::Options FastListener() {
        store::PgNotificationListener::Options o;
        o.ping_interval = 500ms;
        o.ping_timeout = 2s;
        o.reconnect_min = 20ms;
        o.reconnect_max = 200ms;
        return o;
    }
    connections::ResolveCache::Stats Stats() { return connections->resolve_cache().stats(); }

    core::SodiumRandom random;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<vault::KeyRing> keys;
    std::unique_ptr<vault::Vault> vault;
    std::unique_ptr<accounts::AccountService> accounts;
    catalog::Catalog catalog;
    std::unique_ptr<http_client::CurlHttpClient> http;
    std::unique_ptr<connections::HttpVerifier> verifier;
    std::unique_ptr<connections::CredentialStore> credentials;
    std::unique_ptr<oauth::OAuthEngine> oauth;
    std::unique_ptr<connections::ConnectionService> connections;
};

std::string Key(const ResolvedConnection& r) {
    const auto* key = r.credentials.parameters.if_contains("apiKey");
    return key && key->is_string() ? std::string(key->as_string()) : "";
}

std::string AccessToken(const ResolvedConnection& r) {
    const auto* token = r.credentials.data.if_contains("accessToken");
    return token && token->is_string() ? std::string(token->as_string()) : "";
}

json::object ApiKeyParameters(const std::string& key) {
    return json::object{{"apiKey", key}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Key"}};
}

class ConnectionCacheTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        url_ = postgres() ? PostgresServer::Shared().CreateDatabase("cache") : "sqlite:" + dir_.file("switchboard.db");
        core::SodiumRandom random;
        master_key_ = core::Base64Encode(random.Bytes(vault::kKeyBytes));
        node_ = NewNode();
        ASSERT_TRUE(node_->catalog.FindApp("http"));
        auto a = Must(node_->accounts->EnsureUserTeamToken("ana@alpha.test", "Alpha", store::Role::kAdmin, "t"), "a");
        auto b = Must(node_->accounts->EnsureUserTeamToken("bo@beta.test", "Beta", store::Role::kAdmin, "t"), "b");
        caller_ = accounts::Caller{a.user.id, a.user.email, a.token.record.id};
        team_ = a.team.id;
        other_team_ = b.team.id;
    }

    bool postgres() const { return GetParam() == "postgres"; }
    std::unique_ptr<Node> NewNode(store::PgNotificationListener::Options o = Node::FastListener()) {
        return std::make_unique<Node>(url_, master_key_, clock_, postgres(), o);
    }

    std::int64_t ApiKey(const std::string& key, const std::string& name = "acme") {
        connections::CreateInput in;
        in.name = name;
        in.type = "http-apikey";
        in.parameters = ApiKeyParameters(key);
        auto c = node_->connections->Create(caller_, team_, in);
        EXPECT_TRUE(c) << (c ? "" : c.error().detail);
        return c ? c->row.id.value() : 0;
    }
    core::Result<connections::ConnectionView> Edit(Node& node, std::int64_t id, const std::string& key) {
        return node.connections->SetData(caller_, core::ConnectionId(id), ApiKeyParameters(key));
    }
    core::Result<ResolvedConnection> Resolve(std::int64_t id, std::optional<std::int64_t> stale = std::nullopt) {
        return node_->connections->ResolveForRun(team_, core::ConnectionId(id), stale);
    }
    // Resolves until a resolve is answered by the cache (so that what follows tests an invalidation, not an empty
    // cache). On PostgreSQL the notification of the node's own last write may arrive just after a resolve has
    // cached the row, and drop it once more.
    void ResolveUntilCached(Node& node, std::int64_t id) {
        const bool cached = Eventually([&] {
            const auto hits = node.Stats().hits;
            auto r = node.connections->ResolveForRun(team_, core::ConnectionId(id));
            EXPECT_TRUE(r) << (r ? "" : r.error().detail);
            return r && node.Stats().hits == hits + 1;
        });
        ASSERT_TRUE(cached) << "no resolve was served by the cache";
    }

    std::int64_t OAuthConnection(TokenEndpoint& provider) {
        connections::CreateInput in;
        in.name = "oauth";
        in.type = "http-oauth2";
        in.parameters = json::object{{"authorizeUri", provider.Url("/authorize")},
                                     {"tokenUri", provider.Url("/token")},
                                     {"clientId", "client-1"},
                                     {"clientSecret", "client-secret-1"}};
        auto view = node_->connections->Create(caller_, team_, in);
        EXPECT_TRUE(view) << (view ? "" : view.error().detail);
        if (!view) return 0;
        const std::string& url = view->authorize_url;
        const auto at = url.find("state=");
        EXPECT_NE(at, std::string::npos) << url;
        std::string state = url.substr(at + 6);
        state = state.substr(0, state.find('&'));
        auto done = node_->connections->CompleteConsent("http", json::object{{"code", "code-1"}, {"state", state}});
        EXPECT_TRUE(done.ok) << done.message;
        return view->row.id.value();
    }

    TempDir dir_;
    std::string url_;
    std::string master_key_;
    core::ManualClock clock_;
    std::unique_ptr<Node> node_;
    accounts::Caller caller_;
    core::TeamId team_;
    core::TeamId other_team_;
};

TEST_P(ConnectionCacheTest, AnEditIsUsedByTheNextResolve) {
    const std::int64_t id = ApiKey("key-1");
    ASSERT_GT(id, 0);
    ResolveUntilCached(*node_, id);
    EXPECT_EQ(Key(Must(Resolve(id), "resolve")), "key-1");
    ASSERT_TRUE(Edit(*node_, id, "key-2"));
    auto after = Must(Resolve(id), "resolve after the edit");
    EXPECT_EQ(Key(after), "key-2");
    EXPECT_EQ(after.row.version, 2);
}

// A cached resolve brings the sanitizer of its own secrets (runs use it instead of building one per run); an edit
// brings a new one with the new secret.
TEST_P(ConnectionCacheTest, ACachedResolveCarriesASanitizerOfItsSecrets) {
    const std::int64_t id = ApiKey("key-abc-123");
    ResolveUntilCached(*node_, id);
    auto cached = Must(Resolve(id), "resolve");
    ASSERT_NE(cached.sanitizer, nullptr);
    EXPECT_EQ(cached.sanitizer->Text("sent key-abc-123 and key-abc-123%0A").find("key-abc-123"), std::string::npos);
    ASSERT_TRUE(Edit(*node_, id, "key-def-456"));
    ResolveUntilCached(*node_, id);
    auto edited = Must(Resolve(id), "resolve after the edit");
    ASSERT_NE(edited.sanitizer, nullptr);
    EXPECT_NE(edited.sanitizer, cached.sanitizer);
    EXPECT_EQ(edited.sanitizer->Text("sent key-def-456").find("key-def-456"), std::string::npos);
    EXPECT_NE(edited.sanitizer->Text("sent key-xyz-789").find("key-xyz-789"), std::string::npos);
}

TEST_P(ConnectionCacheTest, ADeletedConnectionIsNotFound) {
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*node_, id);
    ASSERT_TRUE(node_->connections->Delete(caller_, core::ConnectionId(id), true));
    auto r = Resolve(id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kNotFound) << r.error().detail;
}

TEST_P(ConnectionCacheTest, AStatusChangeIsAConflictAtOnce) {
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*node_, id);
    // What a verification that cannot open the row, or a refused refresh, writes.
    ASSERT_TRUE(node_->store->SetConnectionStatus(team_, core::ConnectionId(id), store::ConnectionStatus::kBroken,
                                                  "the key was revoked", std::nullopt));
    auto broken = Resolve(id);
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().code, core::Errc::kConflict);
    EXPECT_NE(broken.error().detail.find("cannot be opened"), std::string::npos) << broken.error().detail;

    const std::int64_t other = ApiKey("key-2", "acme 2");
    ResolveUntilCached(*node_, other);
    ASSERT_TRUE(node_->store->SetConnectionStatus(team_, core::ConnectionId(other),
                                                  store::ConnectionStatus::kNeedsReauthorization, "", std::nullopt));
    auto reauth = Resolve(other);
    ASSERT_FALSE(reauth);
    EXPECT_EQ(reauth.error().code, core::Errc::kConflict);
    EXPECT_NE(reauth.error().detail.find("needs reauthorization"), std::string::npos) << reauth.error().detail;
}

TEST_P(ConnectionCacheTest, ARenameIsSeenByTheNextResolve) {
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*node_, id);
    ASSERT_TRUE(node_->connections->Rename(caller_, core::ConnectionId(id), "Acme production"));
    EXPECT_EQ(Must(Resolve(id), "resolve").row.name, "Acme production");
}

TEST_P(ConnectionCacheTest, AnotherTeamsIdIsNotFoundEvenWhenCached) {
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*node_, id);
    const auto hits = node_->Stats().hits;
    auto r = node_->connections->ResolveForRun(other_team_, core::ConnectionId(id));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kNotFound);
    EXPECT_EQ(r.error().detail.find("key-1"), std::string::npos);
    // The entry was found and refused (not bypassed): the team check is on the cached path too.
    EXPECT_EQ(node_->Stats().hits, hits + 1);
    // And the owner still gets it.
    EXPECT_EQ(Key(Must(Resolve(id), "resolve")), "key-1");
}

TEST_P(ConnectionCacheTest, AResolveThatReadTheRowBeforeAnEditNeverCachesIt) {
    const std::int64_t id = ApiKey("key-1");
    ASSERT_GT(id, 0);
    // The edit commits (and invalidates) exactly between the resolve's row read and its insert into the cache.
    bool edited = false;
    node_->connections->SetResolveReadHookForTesting([&] {
        if (edited) return;
        edited = true;
        ASSERT_TRUE(Edit(*node_, id, "key-2"));
    });
    const auto refused = node_->Stats().refused_inserts;
    auto during = Must(Resolve(id), "resolve during the edit");
    node_->connections->SetResolveReadHookForTesting({});
    ASSERT_TRUE(edited);
    EXPECT_EQ(Key(during), "key-1");  // it started before the edit committed
    EXPECT_GT(node_->Stats().refused_inserts, refused);
    EXPECT_EQ(Key(Must(Resolve(id), "resolve after the edit")), "key-2");
    EXPECT_EQ(Key(Must(Resolve(id), "resolve again")), "key-2");
}

TEST_P(ConnectionCacheTest, ResolvesDuringEditsNeverSeeAnOlderVersionThanTheLastCommitted) {
    const std::int64_t id = ApiKey("key-1");
    ASSERT_GT(id, 0);
    constexpr int kEdits = 25;
    std::atomic<std::int64_t> committed{1};
    std::atomic<bool> done{false};
    std::atomic<int> resolves{0};
    std::mutex failures_mu;
    std::vector<std::string> failures;
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&] {
            while (!done.load()) {
                const std::int64_t floor = committed.load();
                auto r = Resolve(id);
                ++resolves;
                std::string failure;
                if (!r) {
                    failure = "error: " + r.error().detail;
                } else if (r->row.version < floor) {
                    failure = "version " + std::to_string(r->row.version) + " after " + std::to_string(floor) +
                              " had committed";
                } else if (Key(*r) != "key-" + std::to_string(r->row.version)) {
                    failure = "version " + std::to_string(r->row.version) + " with " + Key(*r);
                }
                if (!failure.empty()) {
                    std::lock_guard lock(failures_mu);
                    failures.push_back(failure);
                }
            }
        });
    }
    for (int v = 2; v <= kEdits + 1; ++v) {
        std::this_thread::sleep_for(2ms);
        auto e = Edit(*node_, id, "key-" + std::to_string(v));
        ASSERT_TRUE(e) << e.error().detail;
        ASSERT_EQ(e->row.version, v);
        committed = v;
    }
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " bad resolves, first: " << failures.front();
    EXPECT_GT(resolves.load(), kEdits);
    EXPECT_GT(node_->Stats().hits, 0) << "the cache was never used: this tested nothing";
}

TEST_P(ConnectionCacheTest, AnOAuthTokenThatIsDueIsRefreshedNotServedFromTheCache) {
    TokenEndpoint provider;
    // Only the due check may end an entry here, not its age.
    node_->connections->resolve_cache().SetOptions({.max_entries = 4096, .max_age_ms = 24 * 3600 * 1000});
    const std::int64_t id = OAuthConnection(provider);
    ASSERT_GT(id, 0);
    ASSERT_EQ(provider.calls(), 1);
    ResolveUntilCached(*node_, id);
    EXPECT_EQ(AccessToken(Must(Resolve(id), "resolve")), "access-1");

    // Past half the token's life: hits ask whether it is due, and it is not yet (the app says 15 minutes ahead).
    clock_.Advance(40min);
    auto hits = node_->Stats().hits;
    EXPECT_EQ(AccessToken(Must(Resolve(id), "resolve at 40 min")), "access-1");
    EXPECT_EQ(node_->Stats().hits, hits + 1);
    EXPECT_EQ(provider.calls(), 1);

    // 46 minutes: due. The cached entry is still there, but the resolve refreshes.
    clock_.Advance(6min);
    auto due = Must(Resolve(id), "resolve at 46 min");
    EXPECT_EQ(AccessToken(due), "access-2");
    EXPECT_EQ(provider.calls(), 2);
    ResolveUntilCached(*node_, id);
    EXPECT_EQ(AccessToken(Must(Resolve(id), "resolve")), "access-2");

    // The app refused access-2 with 401: the runner asks again with the version it used, which must not come from
    // the cache.
    hits = node_->Stats().hits;
    auto fresh = Must(Resolve(id, due.row.version), "resolve after a 401");
    EXPECT_EQ(AccessToken(fresh), "access-3");
    EXPECT_GT(fresh.row.version, due.row.version);
    EXPECT_EQ(node_->Stats().hits, hits);
    EXPECT_EQ(AccessToken(Must(Resolve(id), "resolve")), "access-3");
}

TEST_P(ConnectionCacheTest, TheCacheStaysWithinItsBound) {
    node_->connections->resolve_cache().SetOptions({.max_entries = 2, .max_age_ms = 30'000});
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(ApiKey("key-" + std::to_string(i), "acme " + std::to_string(i)));
    for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < ids.size(); ++i) {
            EXPECT_EQ(Key(Must(Resolve(ids[i]), "resolve")), "key-" + std::to_string(i));
            EXPECT_LE(node_->Stats().entries, 2u);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, ConnectionCacheTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

// ---------------------------------------------------------------------------------------------------------------
// Two nodes on one PostgreSQL database

class TwoNodesTest : public ConnectionCacheTest {};

TEST_P(TwoNodesTest, AWriteOnOneNodeReachesTheOtherNodesCache) {
    auto other = NewNode();
    // Only a notification can end an entry within the waits below.
    other->connections->resolve_cache().SetOptions({.max_entries = 4096, .max_age_ms = 3600 * 1000});
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*other, id);

    auto resolve_other = [&] { return other->connections->ResolveForRun(team_, core::ConnectionId(id)); };
    // An edit.
    ASSERT_TRUE(Edit(*node_, id, "key-2"));
    EXPECT_TRUE(Eventually([&] {
        auto r = resolve_other();
        return r && Key(*r) == "key-2";
    }));
    // A write by something else than a node (an operator's SQL; `keys rotate` from another process).
    ResolveUntilCached(*other, id);
    ASSERT_TRUE(node_->store->db().Exec("UPDATE connections SET name = 'renamed by SQL' WHERE id = $1", {id}));
    EXPECT_TRUE(Eventually([&] {
        auto r = resolve_other();
        return r && r->row.name == "renamed by SQL";
    }));
    // A key re-wrap changes no plaintext, but is announced like every write.
    ResolveUntilCached(*other, id);
    const auto row = Must(node_->store->FindConnection(core::ConnectionId(id)), "row");
    const auto invalidations = other->Stats().invalidations;
    ASSERT_TRUE(node_->store->RewrapConnectionKey(core::ConnectionId(id), row.version, row.sealed.key_id,
                                                  row.sealed.key_id, row.sealed.wrapped_key));
    EXPECT_TRUE(Eventually([&] { return other->Stats().invalidations > invalidations; }));
    // A status change.
    ResolveUntilCached(*other, id);
    ASSERT_TRUE(node_->store->SetConnectionStatus(team_, core::ConnectionId(id), store::ConnectionStatus::kBroken,
                                                  "revoked", std::nullopt));
    EXPECT_TRUE(Eventually([&] {
        auto r = resolve_other();
        return !r && r.error().code == core::Errc::kConflict;
    }));
    // A delete.
    const std::int64_t second = ApiKey("key-3", "acme 3");
    ResolveUntilCached(*other, second);
    ASSERT_TRUE(node_->connections->Delete(caller_, core::ConnectionId(second), true));
    EXPECT_TRUE(Eventually([&] {
        auto r = other->connections->ResolveForRun(team_, core::ConnectionId(second));
        return !r && r.error().code == core::Errc::kNotFound;
    }));
}

TEST_P(TwoNodesTest, ALostListenConnectionBypassesTheCacheUntilItIsBack) {
    // Slow to reconnect, so that the test can act while the connection is down.
    auto options = Node::FastListener();
    options.reconnect_min = 1500ms;
    options.reconnect_max = 1500ms;
    auto other = NewNode(options);
    other->connections->resolve_cache().SetOptions({.max_entries = 4096, .max_age_ms = 3600 * 1000});
    const std::int64_t id = ApiKey("key-1");
    ResolveUntilCached(*other, id);

    const auto* listener = other->connections->change_listener();
    ASSERT_NE(listener, nullptr);
    const int pid = listener->backend_pid();
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(node_->store->db().Exec("SELECT pg_terminate_backend(CAST($1 AS integer))", {std::int64_t{pid}}));
    ASSERT_TRUE(Eventually([&] { return !listener->listening(); }, 5s));
    // The edit's notification is lost with the connection: the other node must not serve what it had.
    ASSERT_TRUE(Edit(*node_, id, "key-2"));
    const auto hits = other->Stats().hits;
    auto during = other->connections->ResolveForRun(team_, core::ConnectionId(id));
    ASSERT_TRUE(during);
    EXPECT_EQ(Key(*during), "key-2");
    ASSERT_TRUE(other->connections->ResolveForRun(team_, core::ConnectionId(id)));
    if (!listener->listening()) {
        EXPECT_EQ(other->Stats().hits, hits) << "served from an untrusted cache";
    }

    // Back: LISTEN again (a new server process), and the cache in use again.
    ASSERT_TRUE(Eventually([&] { return listener->listening(); }, 10s));
    EXPECT_NE(listener->backend_pid(), pid);
    ResolveUntilCached(*other, id);
    ASSERT_TRUE(Edit(*node_, id, "key-3"));
    EXPECT_TRUE(Eventually([&] {
        auto r = other->connections->ResolveForRun(team_, core::ConnectionId(id));
        return r && Key(*r) == "key-3";
    }));
}

INSTANTIATE_TEST_SUITE_P(Postgres, TwoNodesTest, ::testing::Values("postgres"),
                         [](const auto& param_info) { return param_info.param; });

// ---------------------------------------------------------------------------------------------------------------
// As `switchboard serve` wires it (app::OpenRuntime)

TEST(ConnectionCacheRuntimeTest, TwoRuntimesOnOnePostgresFollowEachOthersEdits) {
    TempDir dir;
    app::RawSettings raw;
    raw.data_dir = dir.file("data");
    raw.database = PostgresServer::Shared().CreateDatabase("cacheapp");
    const auto config = Must(app::ResolveConfig(raw), "config");
    auto a = Must(app::OpenRuntime(config, app::KeyPolicy::kLoadOrCreate), "runtime a");
    auto b = Must(app::OpenRuntime(config, app::KeyPolicy::kLoad), "runtime b");
    ASSERT_NE(b->connections->change_listener(), nullptr);
    ASSERT_TRUE(Eventually([&] { return b->connections->resolve_cache().trusted(); }));
    b->connections->resolve_cache().SetOptions({.max_entries = 4096, .max_age_ms = 3600 * 1000});

    auto boot = Must(a->accounts->EnsureUserTeamToken("ana@alpha.test", "Alpha", store::Role::kAdmin, "t"), "boot");
    const accounts::Caller caller{boot.user.id, boot.user.email, boot.token.record.id};
    connections::CreateInput in;
    in.name = "acme";
    in.type = "http-apikey";
    in.parameters = ApiKeyParameters("key-1");
    const auto id = Must(a->connections->Create(caller, boot.team.id, in), "create").row.id;
    auto resolve_b = [&] { return b->connections->ResolveForRun(boot.team.id, id); };
    // Until b answers from its cache (the creation's own notification may drop the first entry again).
    ASSERT_TRUE(Eventually([&] {
        const auto hits = b->connections->resolve_cache().stats().hits;
        auto r = resolve_b();
        return r && Key(*r) == "key-1" && b->connections->resolve_cache().stats().hits == hits + 1;
    }));

    ASSERT_TRUE(a->connections->SetData(caller, id, ApiKeyParameters("key-2")));
    const auto committed = std::chrono::steady_clock::now();
    EXPECT_TRUE(Eventually([&] {
        auto r = resolve_b();
        return r && Key(*r) == "key-2";
    }));
    // How long the other node served the old key after the commit (the NOTIFY's delivery), for the record.
    RecordProperty("stale_window_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                           std::chrono::steady_clock::now() - committed)
                                                           .count()));
}

// SQLite: the serving process is the only writer, so its cache is trusted without any listener.
TEST(ConnectionCacheRuntimeTest, SqliteNeedsNoListener) {
    TempDir dir;
    app::RawSettings raw;
    raw.data_dir = dir.file("data");
    const auto config = Must(app::ResolveConfig(raw), "config");
    auto rt = Must(app::OpenRuntime(config, app::KeyPolicy::kLoadOrCreate), "runtime");
    EXPECT_EQ(rt->connections->change_listener(), nullptr);
    EXPECT_TRUE(rt->connections->resolve_cache().trusted());
}

}  // namespace
}  // namespace switchboard::testing

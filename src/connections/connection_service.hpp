#pragma once
// The connection service: everything a team does with its connections, with authorization first.
//
// Rules it keeps (see docs/connections.md):
// - Secrets are write-only: no method returns a secret value; edit forms get non-secret values only.
// - Create and set-data validate every field, run the type's verify request when it has one, and store nothing
//   when either fails (400 with the reason).
// - Set-data replaces the whole credential set in one statement (version + 1); readers see old or new.
// - Delete refuses while scenarios use the connection unless confirmed, and lists them.
// - Another team's connection reads as not found (404), whatever the call.
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_service.hpp"
#include "catalog/catalog.hpp"
#include "connections/credential_store.hpp"
#include "connections/resolve_cache.hpp"
#include "connections/verifier.hpp"
#include "core/clock.hpp"
#include "oauth/oauth_engine.hpp"
#include "store/pg_listener.hpp"
#include "store/store.hpp"

namespace switchboard::connections {

struct ConnectionView {
    store::Connection row;
    const catalog::App* app = nullptr;              // null when the app is no longer in the catalog
    const catalog::ConnectionType* type = nullptr;  // likewise
    int used_in = 0;                                // scenarios using it
    std::string authorize_url;                      // OAuth create/reauthorize: where the consent window goes
};

// How a consent window ended, for the callback page (never contains a secret).
struct ConsentOutcome {
    bool ok = false;
    std::string message;
    core::ConnectionId connection;
};

// Test failpoint (environment SWITCHBOARD_FAILPOINT_CRASH_AFTER_REFRESH_ANSWER=1): the process exits between a
// provider's refresh answer and the commit of the new tokens, to test that a crash there loses no connection.
bool CrashAfterRefreshAnswer();

// A random name for this process, used as the refresh lease holder.
std::string NewNodeId();

// Make's error type for a connection that cannot be used (revoked or expired grant, missing scopes).
inline constexpr std::string_view kAccountValidationError = "AccountValidationError";

inline constexpr std::int64_t kConsentWindowMs = 10 * 60 * 1000;

struct CreateInput {
    std::string name;
    std::string type;                 // connection type name (Make's accountType)
    std::vector<std::string> scopes;  // extra scopes asked for at creation
    boost::json::object parameters;
};

struct EditableField {
    const catalog::Parameter* parameter = nullptr;
    boost::json::value value;  // current value for non-secret fields; null for secrets
};

// A scenario that would lose scopes it needs if the connection held only the given scopes.
struct WouldBreak {
    std::int64_t scenario_id = 0;
    std::string scenario_name;
    std::vector<std::string> missing_scopes;
};

struct TestResult {
    bool verified = false;
    std::string message;
    ConnectionView connection;
};

class ConnectionService {
  public:
    // Registers the resolve cache with the store for this process's writes. On SQLite the cache is trusted at once
    // (this process is the only writer while it serves); on PostgreSQL only once FollowConnectionChanges is
    // listening.
    ConnectionService(store::Store& store, CredentialStore& credentials, const catalog::Catalog& catalog,
                      Verifier& verifier, accounts::AccountService& accounts, const core::Clock& clock,
                      oauth::OAuthEngine* oauth = nullptr);
    ~ConnectionService();
    ConnectionService(const ConnectionService&) = delete;
    ConnectionService& operator=(const ConnectionService&) = delete;

    core::Result<std::vector<ConnectionView>> List(const accounts::Caller& caller, core::TeamId team,
                                                   const store::ConnectionQuery& query, const store::Page& page);
    core::Result<ConnectionView> Get(const accounts::Caller& caller, core::ConnectionId id);
    core::Result<ConnectionView> Create(const accounts::Caller& caller, core::TeamId team, const CreateInput& input);
    core::Result<ConnectionView> Rename(const accounts::Caller& caller, core::ConnectionId id, const std::string& name);
    core::Result<std::vector<EditableField>> EditableData(const accounts::Caller& caller, core::ConnectionId id);
    // Full replace: a field left out becomes empty (or its default); non-editable fields keep their value.
    core::Result<ConnectionView> SetData(const accounts::Caller& caller, core::ConnectionId id,
                                         const boost::json::object& parameters);
    core::Result<TestResult> Test(const accounts::Caller& caller, core::ConnectionId id);
    core::Result<bool> Scoped(const accounts::Caller& caller, core::ConnectionId id,
                              const std::vector<std::string>& scopes);
    // kConflict listing the scenarios (suberrors) when any use it and !confirmed. For OAuth types the token is
    // revoked at the provider first (api.invalidate); a failed revocation does not block the delete and is
    // returned as a warning (also in the audit event).
    core::Result<std::string> Delete(const accounts::Caller& caller, core::ConnectionId id, bool confirmed);
    // OAuth: a new consent window for the union of the granted scopes and `extra`; returns its URL. Completing
    // it keeps the connection's id, name and references; only credentials and scopes change.
    struct ReauthorizeStart {
        std::string authorize_url;
        std::vector<WouldBreak> would_break;  // against the scopes asked for (before the provider answers)
    };
    core::Result<ReauthorizeStart> Reauthorize(const accounts::Caller& caller, core::ConnectionId id,
                                               const std::vector<std::string>& extra);
    // Scenarios using the connection whose required scopes are not all in `scopes` (the usage index records what
    // each scenario's modules need).
    core::Result<std::vector<WouldBreak>> ScopesInUseMissing(core::ConnectionId id,
                                                             const std::vector<std::string>& scopes);
    // The OAuth callback (GET /oauth/cb/{app}): state checked (known, unused, unexpired, same app), code
    // exchanged, info run, credentials sealed and stored. Never throws; failures are in the outcome.
    ConsentOutcome CompleteConsent(const std::string& app, const boost::json::object& query);

    // OAuth: renews the access token when it is due (the app's refresh condition, else within
    // min(15 min, half its lifetime) of expiry), or at once for a stale_version. At most one refresh per connection at
    // a time: single-flight in this process, a lease row across processes; the HTTP call holds no database lock, and
    // the new tokens are committed (version + 1) before anyone uses them. invalid_grant re-reads the row (another node
    // may just have rotated it) and otherwise marks it needs_reauthorization. Returns the row to use now.
    // stale_version: the caller's token was refused (401) at this version: refresh now unless someone already
    // replaced that version.
    core::Result<store::Connection> RefreshIfDue(core::ConnectionId id,
                                                 std::optional<std::int64_t> stale_version = std::nullopt);
    // For a scenario run of `team` (the engine has authorized the run): the connection ready to use. Errors carry
    // the reason in words a user can act on: kNotFound (missing, deleted, another team's), kConflict
    // (needs reauthorization, consent pending, cannot be opened, its app left the catalog). For OAuth types the
    // token is refreshed first when due, or at once for a stale_version (the app refused it with 401).
    // Served from the resolve cache when an earlier resolve of the same row is there and still valid (never for a
    // stale_version, never an OAuth token that is due); errors are never cached.
    core::Result<ResolvedConnection> ResolveForRun(core::TeamId team, core::ConnectionId id,
                                                   std::optional<std::int64_t> stale_version = std::nullopt);
    // PostgreSQL with several nodes: follows every node's connection writes (LISTEN on
    // store::kConnectionChangesChannel over a dedicated connection and thread, reconnecting on failure) and trusts
    // the resolve cache only while LISTEN is in effect. database_url as store::OpenDb takes it; kInvalidArgument
    // when it is not PostgreSQL. Call once, before serving.
    core::Result<void> FollowConnectionChanges(const std::string& database_url,
                                               store::PgNotificationListener::Options options = {});
    // The listener started by FollowConnectionChanges, or null.
    const store::PgNotificationListener* change_listener() const { return listener_.get(); }
    ResolveCache& resolve_cache() { return cache_; }
    // Tests only: called by an uncached ResolveForRun right after it has read the row, before it opens and caches
    // it (to land a write exactly in that window).
    void SetResolveReadHookForTesting(std::function<void()> hook) { resolve_read_hook_ = std::move(hook); }
    // The refresher's pass: every verified connection whose token is due. Returns how many were refreshed.
    int RefreshDueConnections();

  private:
    // The row when the caller may act on it with p; another team's row is kNotFound.
    core::Result<store::Connection> Load(const accounts::Caller& caller, core::ConnectionId id, accounts::Permission p);
    ConnectionView View(store::Connection row, int used_in = 0) const;
    core::Result<void> ClearStaleFailure(const store::Connection& row);
    void AuditTeam(const accounts::Caller& caller, core::TeamId team, std::string action, std::string target,
                   boost::json::object detail);
    core::Result<const catalog::ConnectionType*> TypeOf(const store::Connection& row) const;
    void Audit(const accounts::Caller& caller, const store::Connection& c, std::string action,
               boost::json::object detail = {});

    store::Store& store_;
    CredentialStore& credentials_;
    const catalog::Catalog& catalog_;
    Verifier& verifier_;
    core::Result<ConnectionView> CreateOAuth(const accounts::Caller& caller, core::TeamId team, const std::string& name,
                                             const catalog::App& app, const catalog::ConnectionType& type,
                                             const boost::json::object& parameters,
                                             const std::vector<std::string>& scopes);
    core::Result<std::string> StartConsent(const accounts::Caller& caller, const store::Connection& row,
                                           const catalog::App& app, const catalog::ConnectionType& type,
                                           const boost::json::object& parameters,
                                           const std::vector<std::string>& scopes, const std::string& purpose);

    std::shared_ptr<std::mutex> RefreshMutex(core::ConnectionId id);
    // Info with the current token (refreshing when due, and once on a 401): {verified, message}.
    core::Result<std::pair<bool, std::string>> TestOAuth(const store::Connection& row,
                                                         const catalog::ConnectionType& type);
    core::Result<bool> IsDue(const store::Connection& row, const catalog::App& app, const catalog::ConnectionType& type,
                             const boost::json::object& parameters, const boost::json::object& data);
    // The earliest time IsDue can be true for this row (0: it must always be asked).
    static std::int64_t DueCheckFrom(const store::Connection& row);
    // A cached resolve that may be used now: not another team's (kNotFound), and for OAuth not due for a refresh
    // (nullopt: take the uncached path).
    std::optional<core::Result<ResolvedConnection>> FromCache(const ResolveCache::Entry& entry, core::TeamId team,
                                                              std::int64_t now);

    accounts::AccountService& accounts_;
    const core::Clock& clock_;
    oauth::OAuthEngine* oauth_;
    std::string node_id_;  // this process's lease holder name
    std::mutex refresh_map_mutex_;
    std::map<std::int64_t, std::weak_ptr<std::mutex>> refresh_mutexes_;
    // The background refresher's plan per connection: when to look next (not due yet, or backing off after
    // transient failures). Guarded by refresh_map_mutex_.
    struct RefreshSchedule {
        int failures = 0;
        std::int64_t next_attempt = 0;
    };
    std::map<std::int64_t, RefreshSchedule> schedule_;
    std::function<void()> resolve_read_hook_;
    ResolveCache cache_;
    // Declared after cache_: stopped (its thread joined) before the cache it feeds goes away.
    std::unique_ptr<store::PgNotificationListener> listener_;
};

// The scope names of a stored JSON array (granted, requested or required scopes); [] when it is not one.
std::vector<std::string> ScopeList(std::string_view scopes_json);

// Connection names: 1..128 characters, not only whitespace.
core::Result<void> ValidateConnectionName(const std::string& name);

}  // namespace switchboard::connections

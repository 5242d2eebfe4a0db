#pragma once
// The persistence interface. Implemented once in portable SQL (SqlStore) over a Db backend.
// Every method blocks; call from a worker thread. Errors: kNotFound for a missing row, kConflict for a
// uniqueness violation or a failed version fence, kUnavailable when the database is unreachable.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/records.hpp"

namespace switchboard::store {

struct Page {
    int limit = 100;  // 1..10000
    int offset = 0;
};

// Told of every change to an existing connection row made through a Store (replace, status, rename, delete, key
// re-wrap), so that caches of connection rows in this process can drop them (the connection service's resolve
// cache). Inserts are not announced: a new id cannot be cached yet. Other processes' writes are not seen here
// (PostgreSQL announces them with NOTIFY: pg_listener.hpp).
class ConnectionWriteObserver {
  public:
    virtual ~ConnectionWriteObserver() = default;
    // On the writer's thread, always in pairs: Starting before the statement runs, Finished once it has committed
    // or failed (the Store call is then about to return). Must be quick and must not call the store.
    virtual void ConnectionWriteStarting(core::ConnectionId id) = 0;
    virtual void ConnectionWriteFinished(core::ConnectionId id) = 0;
};

class Store {
  public:
    virtual ~Store() = default;

    // Applies every migration not yet applied, in order, each in its own transaction. Safe to run from several
    // processes at once (the second waits or finds nothing to do). Returns the schema version now applied.
    virtual core::Result<int> Migrate() = 0;
    // Highest migration version applied, and the highest this build knows.
    virtual core::Result<int> SchemaVersion() = 0;
    static int LatestSchemaVersion();
    virtual Db& db() = 0;

    // Teams, users, memberships.
    virtual core::Result<Team> CreateTeam(const std::string& name) = 0;
    virtual core::Result<Team> GetTeam(core::TeamId id) = 0;
    virtual core::Result<std::optional<Team>> FindTeamByName(const std::string& name) = 0;
    virtual core::Result<std::vector<Team>> ListTeamsOfUser(core::UserId user) = 0;
    virtual core::Result<User> CreateUser(const std::string& email, const std::string& name) = 0;
    virtual core::Result<User> GetUser(core::UserId id) = 0;
    virtual core::Result<std::optional<User>> FindUserByEmail(const std::string& email) = 0;
    virtual core::Result<std::int64_t> CountUsers() = 0;
    // Inserts or changes the role.
    virtual core::Result<Membership> UpsertMembership(core::TeamId team, core::UserId user, Role role) = 0;
    virtual core::Result<std::optional<Membership>> GetMembership(core::TeamId team, core::UserId user) = 0;
    virtual core::Result<std::vector<Membership>> ListMembers(core::TeamId team) = 0;
    virtual core::Result<void> DeleteMembership(core::TeamId team, core::UserId user) = 0;

    // API tokens (hash only).
    virtual core::Result<ApiToken> CreateToken(core::UserId user, const std::string& token_hash,
                                               const std::string& label) = 0;
    virtual core::Result<std::optional<ApiToken>> FindTokenByHash(const std::string& token_hash) = 0;
    virtual core::Result<std::vector<ApiToken>> ListTokens(core::UserId user) = 0;
    virtual core::Result<void> RevokeToken(core::UserId user, core::TokenId id) = 0;
    virtual core::Result<void> TouchToken(core::TokenId id) = 0;

    // Connections.
    // Observers of connection writes (see ConnectionWriteObserver); not owned, must be removed before they die.
    virtual void AddConnectionWriteObserver(ConnectionWriteObserver& observer) = 0;
    virtual void RemoveConnectionWriteObserver(ConnectionWriteObserver& observer) = 0;
    virtual core::Result<Connection> CreateConnection(const Connection& c) = 0;  // id/version/times assigned
    // Seals for the new row's (id, version) inside the insert's transaction; c.sealed is ignored. A seal error
    // rolls the insert back: nothing is stored.
    using SealFn = std::function<core::Result<SealedData>(core::ConnectionId id, std::int64_t version)>;
    virtual core::Result<Connection> CreateConnection(const Connection& c, const SealFn& seal) = 0;
    // By id alone, whatever the team (the connection service authorizes the caller on the row's team).
    virtual core::Result<Connection> FindConnection(core::ConnectionId id) = 0;
    virtual core::Result<std::vector<Connection>> ListConnections(core::TeamId team, const ConnectionQuery& query,
                                                                  const Page& page) = 0;
    // Replaces sealed data, metadata, scopes, uid and health in one statement, fenced on expected_version
    // (the new version is expected_version + 1). kConflict when someone replaced it first; kNotFound.
    virtual core::Result<Connection> ReplaceConnection(core::TeamId team, core::ConnectionId id,
                                                       std::int64_t expected_version,
                                                       const ConnectionReplacement& replacement) = 0;
    virtual core::Result<Connection> GetConnection(core::TeamId team, core::ConnectionId id) = 0;
    virtual core::Result<std::vector<Connection>> ListConnections(core::TeamId team, const Page& page) = 0;
    // Health only (no version bump). With `at_version`, nothing happens unless the row is still at that version
    // (a verification of old credentials must not mark newer ones); returns false then.
    virtual core::Result<bool> SetConnectionStatus(core::TeamId team, core::ConnectionId id, ConnectionStatus status,
                                                   const std::string& detail, std::optional<std::int64_t> verified_at,
                                                   std::optional<std::int64_t> at_version = std::nullopt) = 0;
    virtual core::Result<void> RenameConnection(core::TeamId team, core::ConnectionId id, const std::string& name) = 0;
    virtual core::Result<void> DeleteConnection(core::TeamId team, core::ConnectionId id) = 0;
    // Key rotation: every connection's (id, team, version, sealed) in id order, and the re-wrap of one data key
    // (fenced on version and old key id so a concurrent edit is never overwritten).
    virtual core::Result<std::vector<Connection>> ListAllConnectionsForRewrap(core::ConnectionId after, int limit) = 0;
    virtual core::Result<bool> RewrapConnectionKey(core::ConnectionId id, std::int64_t version,
                                                   const std::string& old_key_id, const std::string& new_key_id,
                                                   const std::string& new_wrapped_key) = 0;

    // OAuth token refresh. Verified connections whose access token expires before `before_ms`.
    virtual core::Result<std::vector<Connection>> ListConnectionsDueForRefresh(std::int64_t before_ms, int limit) = 0;
    // The refresh lease of a connection: a fence (increasing) when acquired, nullopt while another holder's
    // lease is unexpired. The caller must not hold a transaction while refreshing.
    virtual core::Result<std::optional<std::int64_t>> AcquireRefreshLease(core::ConnectionId id,
                                                                          const std::string& holder,
                                                                          std::int64_t now_ms, std::int64_t ttl_ms) = 0;
    virtual core::Result<void> ReleaseRefreshLease(core::ConnectionId id, const std::string& holder,
                                                   std::int64_t fence) = 0;

    // The usage index: which scenarios use a connection.
    virtual core::Result<void> UpsertConnectionUsage(const ConnectionUsage& usage) = 0;
    virtual core::Result<void> RemoveScenarioUsage(std::int64_t scenario_id) = 0;
    virtual core::Result<std::vector<ConnectionUsage>> ListConnectionUsage(core::ConnectionId id) = 0;
    // connection id → number of scenarios using it, for every connection of the team that has any.
    virtual core::Result<std::map<std::int64_t, int>> CountConnectionUsage(core::TeamId team) = 0;

    // OAuth consent state: stored on authorize, consumed (deleted) exactly once by the callback.
    virtual core::Result<void> CreateOAuthState(const OAuthState& state) = 0;
    // Deletes and returns the row; kNotFound when there is none (never issued, already used, or swept). The
    // caller checks expires_at.
    virtual core::Result<OAuthState> ConsumeOAuthState(const std::string& state_hash) = 0;
    virtual core::Result<std::int64_t> DeleteExpiredOAuthStates(std::int64_t now_ms) = 0;

    // Audit.
    virtual core::Result<void> AppendAudit(const AuditEvent& e) = 0;
    virtual core::Result<std::vector<AuditEvent>> ListAudit(core::TeamId team, const Page& page) = 0;
};

// The one SQL implementation over either backend.
std::unique_ptr<Store> MakeSqlStore(std::unique_ptr<Db> db, const core::Clock& clock);

}  // namespace switchboard::store

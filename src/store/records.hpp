#pragma once
// Plain records as stored. Secrets are never here in clear: connections carry only sealed data,
// API tokens only their SHA-256 hash.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "vault/sealed_data.hpp"

namespace switchboard::store {

enum class Role { kAdmin, kMember, kOperator, kMonitoring };
std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view s);

struct Team {
    core::TeamId id;
    std::string name;
    std::int64_t created_at = 0;
};

struct User {
    core::UserId id;
    std::string email;
    std::string name;
    std::int64_t created_at = 0;
};

struct Membership {
    core::TeamId team_id;
    core::UserId user_id;
    Role role = Role::kMember;
    std::int64_t created_at = 0;
};

struct ApiToken {
    core::TokenId id;
    core::UserId user_id;
    std::string token_hash;  // hex SHA-256 of the whole token
    std::string label;
    std::int64_t created_at = 0;
    std::optional<std::int64_t> last_used_at;
    std::optional<std::int64_t> revoked_at;
};

// The sealed credential set of a connection, as the vault produced it (vault/ is below store/).
using SealedData = vault::SealedData;

// verified: the last verify request succeeded; unverified: stored without a verify request (the type has
// none); failed: the last verify failed (status_detail says why); needs_reauthorization: an OAuth grant
// expired or was revoked; pending: an OAuth consent not yet completed; broken: the sealed data cannot be opened.
enum class ConnectionStatus { kVerified, kUnverified, kFailed, kNeedsReauthorization, kPending, kBroken };
std::string_view ConnectionStatusName(ConnectionStatus s);
std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view s);

struct Connection {
    core::ConnectionId id;
    core::TeamId team_id;
    std::string name;          // the user's label ("Dropbox company")
    std::string app;           // app name from the catalog
    std::string type;          // connection type name inside the app (Make's accountName)
    std::int64_t version = 1;  // bumped by every replacement of the credential set
    SealedData sealed;
    ConnectionStatus status = ConnectionStatus::kUnverified;
    std::string status_detail;  // why it is broken / failed verification; never contains a secret
    std::string metadata_json;  // non-secret data shown to users, e.g. {"type":"email","value":"a@b.c"}
    std::string scopes_json;    // granted scopes, JSON array
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> last_verified_at;
    core::UserId created_by;                       // 0 when created by the system
    std::string uid;                               // the account's id at the app (Make's uid), "" when unknown
    std::optional<std::int64_t> expire_at;         // when the whole grant must be reauthorized (OAuth), ms
    std::optional<std::int64_t> token_expires_at;  // when the current access token expires (OAuth), ms
    std::string requested_scopes_json = "[]";      // scopes asked for (OAuth may grant fewer: scopes_json)
};

// Everything an edit (set-data, verify, reauthorize) replaces at once, in one statement.
struct ConnectionReplacement {
    SealedData sealed;  // sealed for (team, id, expected_version + 1)
    std::string metadata_json = "{}";
    std::string scopes_json = "[]";
    std::string uid;
    ConnectionStatus status = ConnectionStatus::kUnverified;
    std::string status_detail;
    std::optional<std::int64_t> last_verified_at;
    std::optional<std::int64_t> expire_at;
    std::optional<std::int64_t> token_expires_at;
    std::string requested_scopes_json = "[]";
};

// A scenario that uses a connection (the usage index).
struct ConnectionUsage {
    core::ConnectionId connection_id;
    core::TeamId team_id;
    std::int64_t scenario_id = 0;
    std::string scenario_name;
    bool active = false;
    bool scheduled = false;
    std::string required_scopes_json = "[]";  // scopes the scenario's modules need from this connection
};

// A consent window in flight (see migration 2).
struct OAuthState {
    std::string state_hash;  // hex SHA-256 of the state sent to the provider
    core::TeamId team_id;
    core::UserId user_id;
    core::ConnectionId connection_id;
    std::string app;
    std::string sealed_verifier;     // the PKCE verifier (and nonce data), sealed; "" when PKCE is off
    std::string scopes_json = "[]";  // the scopes requested
    std::string purpose;             // "create" or "reauthorize"
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
};

enum class ConnectionSort { kName, kId, kCreated, kUpdated };
struct ConnectionQuery {
    std::vector<std::string> types;  // accountName filter (connection type names); empty = all
    ConnectionSort sort_by = ConnectionSort::kName;
    bool descending = false;
};

struct AuditEvent {
    std::int64_t id = 0;
    core::TeamId team_id;     // 0 for events outside a team
    core::UserId user_id;     // 0 for the system
    std::string action;       // "connection.create", "token.create", "keys.rotate", …
    std::string target;       // "connection:12"
    std::string detail_json;  // non-secret context
    std::int64_t created_at = 0;
};

}  // namespace switchboard::store

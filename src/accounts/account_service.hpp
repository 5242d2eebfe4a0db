#pragma once
// Users, teams, memberships and API tokens, with authorization enforced here rather than in the handlers:
// every team-scoped method takes the Caller and checks the caller's role in that team first.
//
// Roles and what they allow:
//   admin       read, run, write (connections, scenarios), manage the team's members
//   member      read, run, write
//   operator    read, run
//   monitoring  read
// A caller who is not a member of the team gets kPermissionDenied (the same answer whether or not the
// team exists, so team ids cannot be probed).
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "store/session_store.hpp"
#include "store/store.hpp"

namespace switchboard::accounts {

struct Caller {
    core::UserId user;
    std::string email;
    core::TokenId token;
};

enum class Permission { kRead, kRun, kWrite, kAdmin };
bool RoleAllows(store::Role role, Permission p);

struct MemberView {
    store::User user;
    store::Role role = store::Role::kMember;
};

struct IssuedToken {
    store::ApiToken record;
    core::Secret token;  // shown once, never stored
};

inline constexpr std::string_view kTokenPrefix = "sbt_";

// Browser sign-in (docs/api.md, "Sign-in"): the session cookie and the CSRF token the page sends back.
inline constexpr std::string_view kSessionCookie = "sb_session";
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";
inline constexpr std::int64_t kSessionIdleMs = 12LL * 60 * 60 * 1000;   // a session ends after 12 h unused
inline constexpr std::int64_t kPasswordLinkMs = 24LL * 60 * 60 * 1000;  // first-start link lifetime
inline constexpr std::size_t kMinPasswordLength = 10;

struct SignedIn {
    store::User user;
    core::Secret session_token;  // the cookie value; only its hash is stored
    std::string csrf_token;
    std::int64_t expires_at = 0;
};

// What a request presents: an Authorization header, or the session cookie (+ the CSRF header for writes).
struct Credentials {
    std::string_view authorization;
    std::string_view cookie_header;
    std::string_view csrf_header;
    std::string_view method;
};

class AccountService {
  public:
    AccountService(store::Store& store, const core::Clock& clock, core::Random& random)
        : store_(store), clock_(clock), random_(random) {}

    // From an Authorization header value: "Token <t>" or "Bearer <t>". kUnauthenticated when missing,
    // malformed, unknown or revoked (one message for all, so tokens cannot be probed).
    core::Result<Caller> Authenticate(std::string_view authorization);
    // The Authorization header when present, else the session cookie; a cookie-authenticated POST/PUT/PATCH/DELETE
    // needs the session's CSRF token in X-CSRF-Token (kPermissionDenied otherwise).
    core::Result<Caller> Authenticate(const Credentials& credentials);

    // Browser sessions (need AttachSessions).
    void AttachSessions(store::SessionStore& sessions) { sessions_ = &sessions; }
    // At least kMinPasswordLength characters, at most 1024 bytes.
    static core::Result<void> CheckPassword(const core::Secret& password);
    core::Result<void> SetPassword(const std::string& email, const core::Secret& password);
    // kUnauthenticated with one message for an unknown email, no password or a wrong one; after 10 failures for
    // an email within 15 minutes, further attempts are refused for the rest of that window.
    core::Result<SignedIn> Login(const std::string& email, const core::Secret& password);
    // The session's user and CSRF token.
    core::Result<std::pair<Caller, std::string>> SessionOf(std::string_view session_token);
    core::Result<void> Logout(std::string_view session_token);
    // A one-time link token for the user to choose a password (first start); valid for kPasswordLinkMs.
    core::Result<core::Secret> CreatePasswordLink(core::UserId user);
    core::Result<SignedIn> CompletePasswordLink(std::string_view link_token, const core::Secret& password);
    // The caller's membership when the role allows p; kPermissionDenied otherwise.
    core::Result<store::Membership> Authorize(const Caller& caller, core::TeamId team, Permission p);
    // For a row of `team` (a connection, a scenario, …): outside the team the row does not exist (kNotFound:
    // "<what> does not exist"); inside it, a role that lacks p is kPermissionDenied.
    core::Result<void> AuthorizeRow(const Caller& caller, core::TeamId team, Permission p, std::string_view what);
    // Appends an audit event; a failure to store it is logged, never returned (the action itself succeeded).
    void Audit(core::TeamId team, core::UserId user, std::string action, std::string target, std::string detail);

    core::Result<store::User> Me(const Caller& caller);
    core::Result<std::vector<store::Team>> ListTeams(const Caller& caller);
    core::Result<store::Team> GetTeam(const Caller& caller, core::TeamId team);
    // The creator becomes the team's admin.
    core::Result<store::Team> CreateTeam(const Caller& caller, const std::string& name);
    core::Result<std::vector<MemberView>> ListMembers(const Caller& caller, core::TeamId team);
    // Adds (or changes the role of) the user with this email; creates the user when unknown. Admin only.
    core::Result<MemberView> AddMember(const Caller& caller, core::TeamId team, const std::string& email,
                                       store::Role role);
    // Admin only; removing the last admin is kConflict.
    core::Result<void> RemoveMember(const Caller& caller, core::TeamId team, core::UserId user);

    core::Result<IssuedToken> CreateApiToken(const Caller& caller, const std::string& label);
    core::Result<std::vector<store::ApiToken>> ListApiTokens(const Caller& caller);
    core::Result<void> RevokeApiToken(const Caller& caller, core::TokenId token);

    // Operator path (CLI, first start): makes sure the user, the team and the membership exist (the role is
    // set to `role`), then issues a token for the user.
    struct Bootstrap {
        store::User user;
        store::Team team;
        IssuedToken token;
    };
    core::Result<Bootstrap> EnsureUserTeamToken(const std::string& email, const std::string& team_name,
                                                store::Role role, const std::string& label);

  private:
    core::Result<store::User> FindOrCreateUser(const std::string& email);
    // kConflict when `leaving` is the team's only admin (removal or demotion would orphan the team).
    core::Result<void> CheckKeepsAnAdmin(core::TeamId team, core::UserId leaving);
    core::Result<IssuedToken> IssueToken(core::UserId user, const std::string& label);
    core::Result<SignedIn> StartSession(const store::User& user);

    store::Store& store_;
    const core::Clock& clock_;
    core::Random& random_;
    store::SessionStore* sessions_ = nullptr;
    std::mutex login_mutex_;
    std::unordered_map<std::string, std::vector<std::int64_t>> login_failures_;  // email → failure times (ms)
    std::mutex touch_mutex_;
    std::unordered_map<std::int64_t, std::int64_t> last_touch_;  // token id → ms of the last stored touch
};

core::Result<void> ValidateEmail(const std::string& email);

}  // namespace switchboard::accounts

#include "accounts/account_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/encoding.hpp"

namespace switchboard::accounts {

using core::Result;
using store::Role;

bool RoleAllows(Role role, Permission p) {
    switch (p) {
        case Permission::kRead:
            return true;
        case Permission::kRun:
            return role != Role::kMonitoring;
        case Permission::kWrite:
            return role == Role::kAdmin || role == Role::kMember;
        case Permission::kAdmin:
            return role == Role::kAdmin;
    }
    return false;
}

Result<void> ValidateEmail(const std::string& email) {
    const auto at = email.find('@');
    if (email.empty() || email.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= email.size() ||
        email.find_first_of(" \t\r\n<>\"") != std::string::npos) {
        return core::InvalidArgument("email must look like name@example.com");
    }
    return {};
}

namespace {

Result<void> ValidateTeamName(const std::string& name) {
    if (name.empty() || name.size() > 128) return core::InvalidArgument("team name must be 1 to 128 characters");
    return {};
}

core::Error NotAMember(core::TeamId team) {
    return core::PermissionDenied("you have no access to team " + std::to_string(team.value()));
}

}  // namespace

void AccountService::Audit(core::TeamId team, core::UserId user, std::string action, std::string target,
                           std::string detail) {
    store::AuditEvent e;
    e.team_id = team;
    e.user_id = user;
    e.action = std::move(action);
    e.target = std::move(target);
    e.detail_json = std::move(detail);
    if (auto r = store_.AppendAudit(e); !r) spdlog::warn("audit event {} not stored: {}", e.action, r.error().detail);
}

Result<void> AccountService::AuthorizeRow(const Caller& caller, core::TeamId team, Permission p,
                                          std::string_view what) {
    auto allowed = Authorize(caller, team, p);
    if (allowed) return {};
    if (allowed.error().code != core::Errc::kPermissionDenied) return allowed.error();
    // Outside the team the row does not exist; inside, the role is what is missing.
    auto member = Authorize(caller, team, Permission::kRead);
    if (!member && member.error().code == core::Errc::kPermissionDenied) {
        return core::NotFound(std::string(what) + " does not exist");
    }
    if (!member) return member.error();
    return allowed.error();
}

Result<Caller> AccountService::Authenticate(std::string_view authorization) {
    const auto unauthenticated = core::Unauthenticated("a valid API token is required: Authorization: Token <token>");
    std::string_view value = authorization;
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return unauthenticated;
    std::string scheme(value.substr(0, space));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme != "token" && scheme != "bearer") return unauthenticated;
    std::string_view token = value.substr(space + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (!token.starts_with(kTokenPrefix) || token.size() > 200) return unauthenticated;

    auto found = store_.FindTokenByHash(core::Sha256Hex(token));
    if (!found) return found.error();
    if (!*found || (*found)->revoked_at) return unauthenticated;
    const store::ApiToken& t = **found;
    auto user = store_.GetUser(t.user_id);
    if (!user) return unauthenticated;

    // Remember use at most once a minute per token, so a busy client does not turn every read into a write.
    const std::int64_t now = clock_.NowMillis();
    bool touch = false;
    {
        std::lock_guard lock(touch_mutex_);
        auto& last = last_touch_[t.id.value()];
        if (now - last >= 60'000) {
            last = now;
            touch = true;
        }
    }
    if (touch) (void)store_.TouchToken(t.id);
    return Caller{user->id, user->email, t.id};
}

Result<store::Membership> AccountService::Authorize(const Caller& caller, core::TeamId team, Permission p) {
    auto m = store_.GetMembership(team, caller.user);
    if (!m) return m.error();
    if (!*m) return NotAMember(team);
    if (!RoleAllows((*m)->role, p)) {
        return core::PermissionDenied("your role '" + std::string(store::RoleName((*m)->role)) + "' in team " +
                                      std::to_string(team.value()) + " does not allow this");
    }
    return **m;
}

Result<store::User> AccountService::Me(const Caller& caller) { return store_.GetUser(caller.user); }

Result<std::vector<store::Team>> AccountService::ListTeams(const Caller& caller) {
    return store_.ListTeamsOfUser(caller.user);
}

Result<store::Team> AccountService::GetTeam(const Caller& caller, core::TeamId team) {
    if (auto a = Authorize(caller, team, Permission::kRead); !a) return a.error();
    return store_.GetTeam(team);
}

Result<store::Team> AccountService::CreateTeam(const Caller& caller, const std::string& name) {
    if (auto v = ValidateTeamName(name); !v) return v.error();
    auto team = store_.CreateTeam(name);
    if (!team) return team.error();
    if (auto m = store_.UpsertMembership(team->id, caller.user, Role::kAdmin); !m) return m.error();
    Audit(team->id, caller.user, "team.create", "team:" + std::to_string(team->id.value()), "{}");
    return team;
}

Result<std::vector<MemberView>> AccountService::ListMembers(const Caller& caller, core::TeamId team) {
    if (auto a = Authorize(caller, team, Permission::kRead); !a) return a.error();
    auto members = store_.ListMembers(team);
    if (!members) return members.error();
    std::vector<MemberView> out;
    for (const auto& m : *members) {
        auto u = store_.GetUser(m.user_id);
        if (!u) return u.error();
        out.push_back(MemberView{*u, m.role});
    }
    return out;
}

Result<store::User> AccountService::FindOrCreateUser(const std::string& email) {
    auto existing = store_.FindUserByEmail(email);
    if (!existing) return existing.error();
    if (*existing) return **existing;
    return store_.CreateUser(email, email.substr(0, email.find('@')));
}

Result<MemberView> AccountService::AddMember(const Caller& caller, core::TeamId team, const std::string& email,
                                             Role role) {
    if (auto a = Authorize(caller, team, Permission::kAdmin); !a) return a.error();
    if (auto v = ValidateEmail(email); !v) return v.error();
    auto found_user = FindOrCreateUser(email);
    if (!found_user) return found_user.error();
    store::User user = std::move(*found_user);
    if (role != Role::kAdmin) {
        if (auto last = CheckKeepsAnAdmin(team, user.id); !last) return last.error();
    }
    auto m = store_.UpsertMembership(team, user.id, role);
    if (!m) return m.error();
    Audit(team, caller.user, "team.member.add", "user:" + std::to_string(user.id.value()),
          std::string("{\"role\":\"") + std::string(store::RoleName(role)) + "\"}");
    return MemberView{user, role};
}

Result<void> AccountService::CheckKeepsAnAdmin(core::TeamId team, core::UserId leaving) {
    auto members = store_.ListMembers(team);
    if (!members) return members.error();
    const auto admins =
        std::count_if(members->begin(), members->end(), [](const auto& m) { return m.role == Role::kAdmin; });
    const bool leaving_is_admin = std::any_of(members->begin(), members->end(), [&](const auto& m) {
        return m.user_id == leaving && m.role == Role::kAdmin;
    });
    if (leaving_is_admin && admins <= 1) return core::Conflict("a team must keep at least one admin");
    return {};
}

Result<void> AccountService::RemoveMember(const Caller& caller, core::TeamId team, core::UserId user) {
    if (auto a = Authorize(caller, team, Permission::kAdmin); !a) return a.error();
    auto m = store_.GetMembership(team, user);
    if (!m) return m.error();
    if (!*m) return core::NotFound("user " + std::to_string(user.value()) + " is not a member of this team");
    if (auto last = CheckKeepsAnAdmin(team, user); !last) return last.error();
    if (auto d = store_.DeleteMembership(team, user); !d) return d.error();
    Audit(team, caller.user, "team.member.remove", "user:" + std::to_string(user.value()), "{}");
    return {};
}

Result<IssuedToken> AccountService::IssueToken(core::UserId user, const std::string& label) {
    core::Secret token(std::string(kTokenPrefix) + random_.Token(32));
    auto record = store_.CreateToken(user, core::Sha256Hex(token.Reveal()), label);
    if (!record) return record.error();
    Audit(core::TeamId{}, user, "token.create", "token:" + std::to_string(record->id.value()), "{}");
    return IssuedToken{*record, std::move(token)};
}

Result<IssuedToken> AccountService::CreateApiToken(const Caller& caller, const std::string& label) {
    if (label.size() > 128) return core::InvalidArgument("label must be at most 128 characters");
    return IssueToken(caller.user, label);
}

Result<std::vector<store::ApiToken>> AccountService::ListApiTokens(const Caller& caller) {
    return store_.ListTokens(caller.user);
}

Result<void> AccountService::RevokeApiToken(const Caller& caller, core::TokenId token) {
    if (auto r = store_.RevokeToken(caller.user, token); !r) return r.error();
    Audit(core::TeamId{}, caller.user, "token.revoke", "token:" + std::to_string(token.value()), "{}");
    return {};
}

Result<AccountService::Bootstrap> AccountService::EnsureUserTeamToken(const std::string& email,
                                                                      const std::string& team_name, Role role,
                                                                      const std::string& label) {
    if (auto v = ValidateEmail(email); !v) return v.error();
    if (auto v = ValidateTeamName(team_name); !v) return v.error();
    auto found_user = FindOrCreateUser(email);
    if (!found_user) return found_user.error();
    store::User user = std::move(*found_user);
    auto found_team = store_.FindTeamByName(team_name);
    if (!found_team) return found_team.error();
    store::Team team;
    if (*found_team) {
        team = **found_team;
    } else {
        auto created = store_.CreateTeam(team_name);
        if (!created) return created.error();
        team = *created;
        Audit(team.id, user.id, "team.create", "team:" + std::to_string(team.id.value()), "{}");
    }
    if (auto m = store_.UpsertMembership(team.id, user.id, role); !m) return m.error();
    auto token = IssueToken(user.id, label);
    if (!token) return token.error();
    return Bootstrap{user, team, std::move(*token)};
}

}  // namespace switchboard::accounts

// AccountService: passwords (argon2id), browser sessions with a CSRF token, and one-time password links.
#include <sodium.h>

#include <algorithm>

#include "accounts/account_service.hpp"
#include "core/encoding.hpp"

namespace switchboard::accounts {

using core::Result;

namespace {

// OWASP's argon2id minimum: 19 MiB, 2 passes (a sign-in costs ~30 ms and 19 MiB, not libsodium's 64 MiB).
constexpr unsigned long long kOpsLimit = 2;
constexpr std::size_t kMemLimit = 19 * 1024 * 1024;
constexpr std::int64_t kFailureWindowMs = 15 * 60 * 1000;
constexpr std::size_t kMaxFailures = 10;

core::Error BadSignIn() { return core::Unauthenticated("the email or the password is not right"); }

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The value of one cookie in a Cookie header ("a=1; sb_session=…").
std::string_view CookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        std::string_view part = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        const auto eq = part.find('=');
        if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    }
    return {};
}

}  // namespace

Result<void> AccountService::CheckPassword(const core::Secret& password) {
    // Characters, not bytes: count UTF-8 lead bytes.
    std::size_t chars = 0;
    for (unsigned char c : password.Reveal()) chars += (c & 0xC0) != 0x80 ? 1 : 0;
    if (chars < kMinPasswordLength) {
        return core::InvalidArgument("the password must have at least " + std::to_string(kMinPasswordLength) +
                                     " characters");
    }
    if (password.size() > 1024) return core::InvalidArgument("the password must be at most 1024 bytes");
    return {};
}

Result<void> AccountService::SetPassword(const std::string& email, const core::Secret& password) {
    if (!sessions_) return core::Internal("sign-in is not set up");
    if (auto ok = CheckPassword(password); !ok) return ok.error();
    auto user = store_.FindUserByEmail(Lower(email));
    if (!user) return user.error();
    if (!*user) return core::NotFound("no user with the email " + email);
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password.Reveal().data(), password.size(), kOpsLimit, kMemLimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return core::Internal("out of memory while hashing the password");
    }
    if (auto r = sessions_->SetPasswordHash((*user)->id, hash); !r) return r.error();
    Audit(core::TeamId(0), (*user)->id, "user.password", "user:" + std::to_string((*user)->id.value()), "{}");
    return {};
}

Result<SignedIn> AccountService::StartSession(const store::User& user) {
    SignedIn out;
    out.user = user;
    out.session_token = core::Secret(random_.Token(32));
    out.csrf_token = random_.Token(24);
    const std::int64_t now = clock_.NowMillis();
    out.expires_at = now + kSessionIdleMs;
    store::Session s{core::Sha256Hex(out.session_token.Reveal()), user.id, out.csrf_token, now, out.expires_at, now};
    if (auto r = sessions_->CreateSession(s); !r) return r.error();
    return out;
}

Result<SignedIn> AccountService::Login(const std::string& email_in, const core::Secret& password) {
    if (!sessions_) return core::Internal("sign-in is not set up");
    const std::string email = Lower(email_in);
    const std::int64_t now = clock_.NowMillis();
    {
        std::lock_guard lock(login_mutex_);
        auto& failures = login_failures_[email];
        std::erase_if(failures, [&](std::int64_t t) { return now - t > kFailureWindowMs; });
        if (failures.size() >= kMaxFailures) {
            return core::Unauthenticated("too many failed sign-ins for this email; try again in 15 minutes");
        }
    }
    auto failed = [&]() -> core::Error {
        std::lock_guard lock(login_mutex_);
        login_failures_[email].push_back(now);
        if (login_failures_.size() > 100'000) login_failures_.clear();
        return BadSignIn();
    };
    if (password.size() > 1024) return failed();
    auto user = store_.FindUserByEmail(email);
    if (!user) return user.error();
    std::string hash;
    if (*user) {
        auto h = sessions_->GetPasswordHash((*user)->id);
        if (!h) return h.error();
        hash = *h;
    }
    if (hash.empty()) {
        // Spend the same effort as a real check, so unknown emails cannot be told apart by timing.
        static const std::string dummy = [] {
            char h[crypto_pwhash_STRBYTES];
            if (crypto_pwhash_str_alg(h, "switchboard", 11, kOpsLimit, kMemLimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
                return std::string();
            }
            return std::string(h);
        }();
        // The result does not matter: the answer is "wrong" either way.
        if (!dummy.empty()) {
            [[maybe_unused]] const int ignored =
                crypto_pwhash_str_verify(dummy.c_str(), password.Reveal().data(), password.size());
        }
        return failed();
    }
    if (crypto_pwhash_str_verify(hash.c_str(), password.Reveal().data(), password.size()) != 0) return failed();
    {
        std::lock_guard lock(login_mutex_);
        login_failures_.erase(email);
    }
    (void)sessions_->DeleteExpiredSessions(now);
    return StartSession(**user);
}

Result<std::pair<Caller, std::string>> AccountService::SessionOf(std::string_view session_token) {
    const auto unauthenticated = core::Unauthenticated("sign in first: the session is missing or has ended");
    if (!sessions_ || session_token.empty() || session_token.size() > 200) return unauthenticated;
    const std::string hash = core::Sha256Hex(session_token);
    auto s = sessions_->FindSession(hash);
    if (!s) return s.error();
    const std::int64_t now = clock_.NowMillis();
    if (!*s || (*s)->expires_at <= now) return unauthenticated;
    auto user = store_.GetUser((*s)->user_id);
    if (!user) return unauthenticated;
    // Slide the expiry at most once a minute.
    if (now - (*s)->last_seen_at >= 60'000) (void)sessions_->TouchSession(hash, now, now + kSessionIdleMs);
    return std::make_pair(Caller{user->id, user->email, core::TokenId(0)}, (*s)->csrf_token);
}

Result<void> AccountService::Logout(std::string_view session_token) {
    if (!sessions_) return core::Internal("sign-in is not set up");
    return sessions_->DeleteSession(core::Sha256Hex(session_token));
}

Result<core::Secret> AccountService::CreatePasswordLink(core::UserId user) {
    if (!sessions_) return core::Internal("sign-in is not set up");
    core::Secret token(random_.Token(32));
    const std::int64_t now = clock_.NowMillis();
    if (auto r = sessions_->CreatePasswordLink(core::Sha256Hex(token.Reveal()), user, now, now + kPasswordLinkMs); !r) {
        return r.error();
    }
    return token;
}

Result<SignedIn> AccountService::CompletePasswordLink(std::string_view link_token, const core::Secret& password) {
    if (!sessions_) return core::Internal("sign-in is not set up");
    if (auto ok = CheckPassword(password); !ok) return ok.error();
    if (link_token.empty() || link_token.size() > 200)
        return core::NotFound("this link is unknown, already used or expired");
    auto user_id = sessions_->ConsumePasswordLink(core::Sha256Hex(link_token), clock_.NowMillis());
    if (!user_id) return user_id.error();
    auto user = store_.GetUser(*user_id);
    if (!user) return user.error();
    if (auto r = SetPassword(user->email, password); !r) return r.error();
    return StartSession(*user);
}

Result<Caller> AccountService::Authenticate(const Credentials& c) {
    if (!c.authorization.empty()) return Authenticate(c.authorization);
    const std::string_view token = CookieValue(c.cookie_header, kSessionCookie);
    if (token.empty()) return Authenticate(std::string_view{});
    auto session = SessionOf(token);
    if (!session) return session.error();
    const bool writes = c.method != "GET" && c.method != "HEAD" && c.method != "OPTIONS";
    if (writes && !core::Secret(std::string(c.csrf_header)).Equals(session->second)) {
        return core::PermissionDenied("the request lacks the page's CSRF token (X-CSRF-Token)");
    }
    return session->first;
}

}  // namespace switchboard::accounts

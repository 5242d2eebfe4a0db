#pragma once
// Passwords, browser sessions and one-time password links (migration 4). Same rules as store.hpp: blocking calls,
// portable SQL, kNotFound for a missing row. Session and link tokens are stored as SHA-256 hashes only.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/db.hpp"

namespace switchboard::store {

struct Session {
    std::string token_hash;
    core::UserId user_id;
    std::string csrf_token;
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::int64_t last_seen_at = 0;
};

class SessionStore {
  public:
    virtual ~SessionStore() = default;

    // The user's argon2id hash ("" = none); kNotFound for an unknown user.
    virtual core::Result<std::string> GetPasswordHash(core::UserId user) = 0;
    // Sets the hash and ends every session of the user (a new password signs everyone out), in one transaction.
    virtual core::Result<void> SetPasswordHash(core::UserId user, const std::string& hash) = 0;

    virtual core::Result<void> CreateSession(const Session& s) = 0;
    virtual core::Result<std::optional<Session>> FindSession(const std::string& token_hash) = 0;
    // Slides the expiry (sessions idle for too long end).
    virtual core::Result<void> TouchSession(const std::string& token_hash, std::int64_t now_ms,
                                            std::int64_t expires_at) = 0;
    virtual core::Result<void> DeleteSession(const std::string& token_hash) = 0;
    virtual core::Result<std::int64_t> DeleteExpiredSessions(std::int64_t now_ms) = 0;

    virtual core::Result<void> CreatePasswordLink(const std::string& token_hash, core::UserId user, std::int64_t now_ms,
                                                  std::int64_t expires_at) = 0;
    // Deletes and returns the link's user; kNotFound when unknown, used or expired.
    virtual core::Result<core::UserId> ConsumePasswordLink(const std::string& token_hash, std::int64_t now_ms) = 0;
};

std::unique_ptr<SessionStore> MakeSqlSessionStore(Db& db);

}  // namespace switchboard::store

#include "store/session_store.hpp"

namespace switchboard::store {

namespace {

class SqlSessionStore final : public SessionStore {
  public:
    explicit SqlSessionStore(Db& db) : db_(db) {}

    core::Result<std::string> GetPasswordHash(core::UserId user) override {
        auto r = db_.Exec("SELECT password_hash FROM users WHERE id = $1", {user.value()});
        if (!r) return r.error();
        if (r->rows.empty()) return core::NotFound("user " + std::to_string(user.value()) + " does not exist");
        return r->rows[0].OptText(0).value_or("");
    }

    core::Result<void> SetPasswordHash(core::UserId user, const std::string& hash) override {
        return db_.Transaction([&](Tx& tx) -> core::Result<void> {
            auto r = tx.Exec("UPDATE users SET password_hash = $1 WHERE id = $2", {hash, user.value()});
            if (!r) return r.error();
            if (r->affected == 0) return core::NotFound("user " + std::to_string(user.value()) + " does not exist");
            auto d = tx.Exec("DELETE FROM sessions WHERE user_id = $1", {user.value()});
            if (!d) return d.error();
            return {};
        });
    }

    core::Result<void> CreateSession(const Session& s) override {
        auto r = db_.Exec(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            {s.token_hash, s.user_id.value(), s.csrf_token, s.created_at, s.expires_at, s.last_seen_at});
        if (!r) return r.error();
        return {};
    }

    core::Result<std::optional<Session>> FindSession(const std::string& token_hash) override {
        auto r = db_.Exec(
            "SELECT token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at FROM sessions"
            " WHERE token_hash = $1",
            {token_hash});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<Session>();
        const Row& row = r->rows[0];
        return std::optional<Session>(
            Session{row.Text(0), core::UserId(row.Int(1)), row.Text(2), row.Int(3), row.Int(4), row.Int(5)});
    }

    core::Result<void> TouchSession(const std::string& token_hash, std::int64_t now_ms,
                                    std::int64_t expires_at) override {
        auto r = db_.Exec("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3",
                          {now_ms, expires_at, token_hash});
        if (!r) return r.error();
        return {};
    }

    core::Result<void> DeleteSession(const std::string& token_hash) override {
        auto r = db_.Exec("DELETE FROM sessions WHERE token_hash = $1", {token_hash});
        if (!r) return r.error();
        return {};
    }

    core::Result<std::int64_t> DeleteExpiredSessions(std::int64_t now_ms) override {
        auto r = db_.Exec("DELETE FROM sessions WHERE expires_at <= $1", {now_ms});
        if (!r) return r.error();
        return r->affected;
    }

    core::Result<void> CreatePasswordLink(const std::string& token_hash, core::UserId user, std::int64_t now_ms,
                                          std::int64_t expires_at) override {
        auto r =
            db_.Exec("INSERT INTO password_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                     {token_hash, user.value(), now_ms, expires_at});
        if (!r) return r.error();
        return {};
    }

    core::Result<core::UserId> ConsumePasswordLink(const std::string& token_hash, std::int64_t now_ms) override {
        auto r =
            db_.Exec("DELETE FROM password_links WHERE token_hash = $1 RETURNING user_id, expires_at", {token_hash});
        if (!r) return r.error();
        if (r->rows.empty() || r->rows[0].Int(1) <= now_ms) {
            return core::NotFound("this link is unknown, already used or expired");
        }
        return core::UserId(r->rows[0].Int(0));
    }

  private:
    Db& db_;
};

}  // namespace

std::unique_ptr<SessionStore> MakeSqlSessionStore(Db& db) { return std::make_unique<SqlSessionStore>(db); }

}  // namespace switchboard::store

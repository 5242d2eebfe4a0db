#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "store/migrations.hpp"
#include "store/store.hpp"

namespace switchboard::store {

std::string_view RoleName(Role r) {
    switch (r) {
        case Role::kAdmin:
            return "admin";
        case Role::kMember:
            return "member";
        case Role::kOperator:
            return "operator";
        case Role::kMonitoring:
            return "monitoring";
    }
    return "member";
}

std::optional<Role> ParseRole(std::string_view s) {
    for (Role r : {Role::kAdmin, Role::kMember, Role::kOperator, Role::kMonitoring}) {
        if (RoleName(r) == s) return r;
    }
    return std::nullopt;
}

namespace {
constexpr std::pair<ConnectionStatus, std::string_view> kStatusNames[] = {
    {ConnectionStatus::kVerified, "verified"}, {ConnectionStatus::kUnverified, "unverified"},
    {ConnectionStatus::kFailed, "failed"},     {ConnectionStatus::kNeedsReauthorization, "needs_reauthorization"},
    {ConnectionStatus::kPending, "pending"},   {ConnectionStatus::kBroken, "broken"},
};
}  // namespace

std::string_view ConnectionStatusName(ConnectionStatus s) {
    for (const auto& [status, name] : kStatusNames) {
        if (status == s) return name;
    }
    return "broken";
}

std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view s) {
    for (const auto& [status, name] : kStatusNames) {
        if (name == s) return status;
    }
    return std::nullopt;
}

int Store::LatestSchemaVersion() { return LatestMigrationVersion(); }

namespace {

constexpr int kMaxPageLimit = 10000;

constexpr std::string_view kTeamColumns = "id, name, created_at";
constexpr std::string_view kUserColumns = "id, email, name, created_at";
constexpr std::string_view kMembershipColumns = "team_id, user_id, role, created_at";
constexpr std::string_view kTokenColumns = "id, user_id, token_hash, label, created_at, last_used_at, revoked_at";
constexpr std::string_view kConnectionColumns =
    "id, team_id, name, app, type, version, key_id, wrapped_key, ciphertext, status, status_detail, metadata_json,"
    " scopes_json, created_at, updated_at, last_verified_at, created_by, uid, expire_at, token_expires_at,"
    " requested_scopes_json";
constexpr std::string_view kAuditColumns = "id, team_id, user_id, action, target, detail_json, created_at";

std::string Sql(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) out += p;
    return out;
}

Page Clamp(const Page& page) { return Page{std::clamp(page.limit, 1, kMaxPageLimit), std::max(0, page.offset)}; }

Value NullIfZero(std::int64_t id) { return id == 0 ? Value(nullptr) : Value(id); }
Value Opt(const std::optional<std::int64_t>& v) { return v ? Value(*v) : Value(nullptr); }

Team TeamFrom(const Row& r) { return Team{core::TeamId(r.Int(0)), r.Text(1), r.Int(2)}; }
User UserFrom(const Row& r) { return User{core::UserId(r.Int(0)), r.Text(1), r.Text(2), r.Int(3)}; }

core::Result<Membership> MembershipFrom(const Row& r) {
    auto role = ParseRole(r.Text(2));
    if (!role) return core::Internal("stored membership has unknown role \"" + r.Text(2) + "\"");
    return Membership{core::TeamId(r.Int(0)), core::UserId(r.Int(1)), *role, r.Int(3)};
}

ApiToken TokenFrom(const Row& r) {
    return ApiToken{
        core::TokenId(r.Int(0)), core::UserId(r.Int(1)), r.Text(2), r.Text(3), r.Int(4), r.OptInt(5), r.OptInt(6)};
}

core::Result<Connection> ConnectionFrom(const Row& r) {
    Connection c;
    c.id = core::ConnectionId(r.Int(0));
    c.team_id = core::TeamId(r.Int(1));
    c.name = r.Text(2);
    c.app = r.Text(3);
    c.type = r.Text(4);
    c.version = r.Int(5);
    c.sealed = SealedData{r.Text(6), r.Text(7), r.Text(8)};
    auto status = ParseConnectionStatus(r.Text(9));
    if (!status) return core::Internal("stored connection has unknown status \"" + r.Text(9) + "\"");
    c.status = *status;
    c.status_detail = r.Text(10);
    c.metadata_json = r.Text(11);
    c.scopes_json = r.Text(12);
    c.created_at = r.Int(13);
    c.updated_at = r.Int(14);
    c.last_verified_at = r.OptInt(15);
    c.created_by = core::UserId(r.OptInt(16).value_or(0));
    c.uid = r.IsNull(17) ? std::string() : r.Text(17);
    c.expire_at = r.OptInt(18);
    c.token_expires_at = r.OptInt(19);
    c.requested_scopes_json = r.IsNull(20) ? std::string("[]") : r.Text(20);
    return c;
}

AuditEvent AuditFrom(const Row& r) {
    AuditEvent e;
    e.id = r.Int(0);
    e.team_id = core::TeamId(r.Int(1));  // NULL reads as 0: outside a team
    e.user_id = core::UserId(r.Int(2));  // NULL reads as 0: the system
    e.action = r.Text(3);
    e.target = r.Text(4);
    e.detail_json = r.Text(5);
    e.created_at = r.Int(6);
    return e;
}

// JSON columns are emitted verbatim by the API, so only well-formed JSON of the expected shape is stored.
// An empty string stands for the empty object/array.
core::Result<std::string> CheckJson(const std::string& text, std::string_view field, bool array_of_strings) {
    if (text.empty()) return std::string(array_of_strings ? "[]" : "{}");
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec) return core::InvalidArgument(std::string(field) + " is not valid JSON: " + ec.message());
    if (array_of_strings) {
        if (!v.is_array()) return core::InvalidArgument(std::string(field) + " must be a JSON array");
        for (const auto& item : v.as_array()) {
            if (!item.is_string()) return core::InvalidArgument(std::string(field) + " must contain only strings");
        }
    } else if (!v.is_object()) {
        return core::InvalidArgument(std::string(field) + " must be a JSON object");
    }
    return text;
}

core::Result<void> CheckExists(Tx& tx, std::string_view table, std::int64_t id, std::string_view what) {
    auto r = tx.Exec(Sql({"SELECT COUNT(*) FROM ", table, " WHERE id = $1"}), {id});
    if (!r) return r.error();
    if (r->rows.at(0).Int(0) == 0)
        return core::NotFound(std::string(what) + " " + std::to_string(id) + " does not exist");
    return {};
}

class SqlStore final : public Store {
  public:
    SqlStore(std::unique_ptr<Db> db, const core::Clock& clock) : db_(std::move(db)), clock_(clock) {}

    core::Result<int> Migrate() override { return ApplyMigrations(*db_, clock_); }
    core::Result<int> SchemaVersion() override { return AppliedMigrationVersion(*db_); }
    Db& db() override { return *db_; }

    // ---- teams, users, memberships ----

    core::Result<Team> CreateTeam(const std::string& name) override {
        auto r = db_->Exec(Sql({"INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING ", kTeamColumns}),
                           {name, clock_.NowMillis()});
        if (!r) return r.error();
        return TeamFrom(r->rows.at(0));
    }

    core::Result<Team> GetTeam(core::TeamId id) override {
        auto r = db_->Exec(Sql({"SELECT ", kTeamColumns, " FROM teams WHERE id = $1"}), {id.value()});
        if (!r) return r.error();
        if (r->rows.empty()) return core::NotFound("team " + std::to_string(id.value()) + " does not exist");
        return TeamFrom(r->rows[0]);
    }

    core::Result<std::optional<Team>> FindTeamByName(const std::string& name) override {
        auto r = db_->Exec(Sql({"SELECT ", kTeamColumns, " FROM teams WHERE name = $1 ORDER BY id LIMIT 1"}), {name});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<Team>();
        return std::optional<Team>(TeamFrom(r->rows[0]));
    }

    core::Result<std::vector<Team>> ListTeamsOfUser(core::UserId user) override {
        auto r = db_->Exec(
            "SELECT t.id, t.name, t.created_at FROM teams t JOIN memberships m ON m.team_id = t.id"
            " WHERE m.user_id = $1 ORDER BY t.id",
            {user.value()});
        if (!r) return r.error();
        std::vector<Team> out;
        for (const Row& row : r->rows) out.push_back(TeamFrom(row));
        return out;
    }

    core::Result<User> CreateUser(const std::string& email, const std::string& name) override {
        auto r =
            db_->Exec(Sql({"INSERT INTO users (email, name, created_at) VALUES ($1, $2, $3) RETURNING ", kUserColumns}),
                      {email, name, clock_.NowMillis()});
        if (!r) {
            if (r.error().code == core::Errc::kConflict) return core::Conflict("a user with this email already exists");
            return r.error();
        }
        return UserFrom(r->rows.at(0));
    }

    core::Result<User> GetUser(core::UserId id) override {
        auto r = db_->Exec(Sql({"SELECT ", kUserColumns, " FROM users WHERE id = $1"}), {id.value()});
        if (!r) return r.error();
        if (r->rows.empty()) return core::NotFound("user " + std::to_string(id.value()) + " does not exist");
        return UserFrom(r->rows[0]);
    }

    core::Result<std::optional<User>> FindUserByEmail(const std::string& email) override {
        auto r = db_->Exec(Sql({"SELECT ", kUserColumns, " FROM users WHERE email = $1"}), {email});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<User>();
        return std::optional<User>(UserFrom(r->rows[0]));
    }

    core::Result<std::int64_t> CountUsers() override {
        auto r = db_->Exec("SELECT COUNT(*) FROM users");
        if (!r) return r.error();
        return r->rows.at(0).Int(0);
    }

    core::Result<Membership> UpsertMembership(core::TeamId team, core::UserId user, Role role) override {
        Membership out;
        auto done = db_->Transaction([&](Tx& tx) -> core::Result<void> {
            if (auto t = CheckExists(tx, "teams", team.value(), "team"); !t) return t.error();
            if (auto u = CheckExists(tx, "users", user.value(), "user"); !u) return u.error();
            auto r = tx.Exec(Sql({"INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"
                                  " ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role RETURNING ",
                                  kMembershipColumns}),
                             {team.value(), user.value(), std::string(RoleName(role)), clock_.NowMillis()});
            if (!r) return r.error();
            auto m = MembershipFrom(r->rows.at(0));
            if (!m) return m.error();
            out = *m;
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<std::optional<Membership>> GetMembership(core::TeamId team, core::UserId user) override {
        auto r =
            db_->Exec(Sql({"SELECT ", kMembershipColumns, " FROM memberships WHERE team_id = $1 AND user_id = $2"}),
                      {team.value(), user.value()});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<Membership>();
        auto m = MembershipFrom(r->rows[0]);
        if (!m) return m.error();
        return std::optional<Membership>(*m);
    }

    core::Result<std::vector<Membership>> ListMembers(core::TeamId team) override {
        auto r =
            db_->Exec(Sql({"SELECT ", kMembershipColumns, " FROM memberships WHERE team_id = $1 ORDER BY user_id"}),
                      {team.value()});
        if (!r) return r.error();
        std::vector<Membership> out;
        for (const Row& row : r->rows) {
            auto m = MembershipFrom(row);
            if (!m) return m.error();
            out.push_back(*m);
        }
        return out;
    }

    core::Result<void> DeleteMembership(core::TeamId team, core::UserId user) override {
        auto r = db_->Exec("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2", {team.value(), user.value()});
        if (!r) return r.error();
        if (r->affected == 0) {
            return core::NotFound("user " + std::to_string(user.value()) + " is not a member of team " +
                                  std::to_string(team.value()));
        }
        return {};
    }

    // ---- API tokens ----

    core::Result<ApiToken> CreateToken(core::UserId user, const std::string& token_hash,
                                       const std::string& label) override {
        ApiToken out;
        auto done = db_->Transaction([&](Tx& tx) -> core::Result<void> {
            if (auto u = CheckExists(tx, "users", user.value(), "user"); !u) return u.error();
            auto r = tx.Exec(Sql({"INSERT INTO api_tokens (user_id, token_hash, label, created_at)"
                                  " VALUES ($1, $2, $3, $4) RETURNING ",
                                  kTokenColumns}),
                             {user.value(), token_hash, label, clock_.NowMillis()});
            if (!r) return r.error();
            out = TokenFrom(r->rows.at(0));
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<std::optional<ApiToken>> FindTokenByHash(const std::string& token_hash) override {
        auto r = db_->Exec(Sql({"SELECT ", kTokenColumns, " FROM api_tokens WHERE token_hash = $1"}), {token_hash});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<ApiToken>();
        return std::optional<ApiToken>(TokenFrom(r->rows[0]));
    }

    core::Result<std::vector<ApiToken>> ListTokens(core::UserId user) override {
        auto r = db_->Exec(Sql({"SELECT ", kTokenColumns, " FROM api_tokens WHERE user_id = $1 ORDER BY id"}),
                           {user.value()});
        if (!r) return r.error();
        std::vector<ApiToken> out;
        for (const Row& row : r->rows) out.push_back(TokenFrom(row));
        return out;
    }

    core::Result<void> RevokeToken(core::UserId user, core::TokenId id) override {
        auto r =
            db_->Exec("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                      {clock_.NowMillis(), id.value(), user.value()});
        if (!r) return r.error();
        if (r->affected > 0) return {};
        // Revoking twice is fine; revoking someone else's token is indistinguishable from a missing one.
        auto existing =
            db_->Exec("SELECT COUNT(*) FROM api_tokens WHERE id = $1 AND user_id = $2", {id.value(), user.value()});
        if (!existing) return existing.error();
        if (existing->rows.at(0).Int(0) == 0) {
            return core::NotFound("token " + std::to_string(id.value()) + " does not exist");
        }
        return {};
    }

    core::Result<void> TouchToken(core::TokenId id) override {
        auto r = db_->Exec("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", {clock_.NowMillis(), id.value()});
        if (!r) return r.error();
        if (r->affected == 0) return core::NotFound("token " + std::to_string(id.value()) + " does not exist");
        return {};
    }

    // ---- connections ----

    void AddConnectionWriteObserver(ConnectionWriteObserver& observer) override {
        std::lock_guard lock(observers_mutex_);
        observers_.push_back(&observer);
    }

    void RemoveConnectionWriteObserver(ConnectionWriteObserver& observer) override {
        std::lock_guard lock(observers_mutex_);
        std::erase(observers_, &observer);
    }

    core::Result<Connection> CreateConnection(const Connection& c) override { return CreateConnection(c, SealFn{}); }

    core::Result<Connection> CreateConnection(const Connection& c, const SealFn& seal) override {
        auto requested = CheckJson(c.requested_scopes_json, "requested_scopes_json", true);
        if (!requested) return requested.error();
        auto metadata = CheckJson(c.metadata_json, "metadata_json", false);
        if (!metadata) return metadata.error();
        auto scopes = CheckJson(c.scopes_json, "scopes_json", true);
        if (!scopes) return scopes.error();
        const std::int64_t now = clock_.NowMillis();
        Connection out;
        auto done = db_->Transaction([&](Tx& tx) -> core::Result<void> {
            if (auto t = CheckExists(tx, "teams", c.team_id.value(), "team"); !t) return t.error();
            auto r = tx.Exec(
                Sql({"INSERT INTO connections (team_id, name, app, type, version, key_id, wrapped_key, ciphertext,"
                     " status, status_detail, metadata_json, scopes_json, created_at, updated_at, last_verified_at,"
                     " created_by, uid, expire_at, token_expires_at, requested_scopes_json)"
                     " VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17,"
                     " $18)"
                     " RETURNING ",
                     kConnectionColumns}),
                {c.team_id.value(), c.name, c.app, c.type, c.sealed.key_id, c.sealed.wrapped_key, c.sealed.ciphertext,
                 std::string(ConnectionStatusName(c.status)), c.status_detail, *metadata, *scopes, now,
                 Opt(c.last_verified_at), NullIfZero(c.created_by.value()), c.uid, Opt(c.expire_at),
                 Opt(c.token_expires_at), *requested});
            if (!r) return r.error();
            auto created = ConnectionFrom(r->rows.at(0));
            if (!created) return created.error();
            if (seal) {
                // Seal for the id the row just got, in the same transaction: nobody ever sees the row unsealed.
                auto sealed = seal(created->id, created->version);
                if (!sealed) return sealed.error();
                auto u = tx.Exec("UPDATE connections SET key_id = $1, wrapped_key = $2, ciphertext = $3 WHERE id = $4",
                                 {sealed->key_id, sealed->wrapped_key, sealed->ciphertext, created->id.value()});
                if (!u) return u.error();
                created->sealed = *sealed;
            }
            out = std::move(*created);
            return {};
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<Connection> GetConnection(core::TeamId team, core::ConnectionId id) override {
        auto r = db_->Exec(Sql({"SELECT ", kConnectionColumns, " FROM connections WHERE team_id = $1 AND id = $2"}),
                           {team.value(), id.value()});
        if (!r) return r.error();
        // Another team's connection is reported exactly like a missing one.
        if (r->rows.empty()) return ConnectionNotFound(id);
        return ConnectionFrom(r->rows[0]);
    }

    core::Result<std::vector<Connection>> ListConnections(core::TeamId team, const Page& page) override {
        return ListConnections(team, ConnectionQuery{}, page);
    }

    core::Result<Connection> FindConnection(core::ConnectionId id) override {
        auto r = db_->Exec(Sql({"SELECT ", kConnectionColumns, " FROM connections WHERE id = $1"}), {id.value()});
        if (!r) return r.error();
        if (r->rows.empty()) return ConnectionNotFound(id);
        return ConnectionFrom(r->rows[0]);
    }

    core::Result<std::vector<Connection>> ListConnections(core::TeamId team, const ConnectionQuery& query,
                                                          const Page& page) override {
        const Page p = Clamp(page);
        std::vector<Value> params{team.value()};
        std::string where = " WHERE team_id = $1";
        if (!query.types.empty()) {
            where += " AND type IN (";
            for (std::size_t i = 0; i < query.types.size(); ++i) {
                params.emplace_back(query.types[i]);
                where += (i ? ", $" : "$") + std::to_string(params.size());
            }
            where += ")";
        }
        const std::string dir = query.descending ? " DESC" : " ASC";
        std::string order;
        switch (query.sort_by) {
            case ConnectionSort::kName:
                order = " ORDER BY lower(name)" + dir + ", name" + dir + ", id" + dir;
                break;
            case ConnectionSort::kId:
                order = " ORDER BY id" + dir;
                break;
            case ConnectionSort::kCreated:
                order = " ORDER BY created_at" + dir + ", id" + dir;
                break;
            case ConnectionSort::kUpdated:
                order = " ORDER BY updated_at" + dir + ", id" + dir;
                break;
        }
        params.emplace_back(std::int64_t{p.limit});
        params.emplace_back(std::int64_t{p.offset});
        const std::string limit =
            " LIMIT $" + std::to_string(params.size() - 1) + " OFFSET $" + std::to_string(params.size());
        auto r = db_->Exec(Sql({"SELECT ", kConnectionColumns, " FROM connections", where, order, limit}), params);
        if (!r) return r.error();
        return ConnectionsFrom(*r);
    }

    core::Result<Connection> ReplaceConnection(core::TeamId team, core::ConnectionId id, std::int64_t expected_version,
                                               const ConnectionReplacement& rep) override {
        auto requested = CheckJson(rep.requested_scopes_json, "requested_scopes_json", true);
        if (!requested) return requested.error();
        auto metadata = CheckJson(rep.metadata_json, "metadata_json", false);
        if (!metadata) return metadata.error();
        auto scopes = CheckJson(rep.scopes_json, "scopes_json", true);
        if (!scopes) return scopes.error();
        const ConnectionWrite announced(*this, id);
        Connection out;
        auto done = db_->Transaction([&](Tx& tx) -> core::Result<void> {
            auto r = tx.Exec(
                Sql({"UPDATE connections SET version = version + 1, key_id = $1, wrapped_key = $2, ciphertext = $3,"
                     " metadata_json = $4, scopes_json = $5, updated_at = $6, uid = $7, status = $8,"
                     " status_detail = $9, last_verified_at = COALESCE($10, last_verified_at), expire_at = $11,"
                     " token_expires_at = $15, requested_scopes_json = $16"
                     " WHERE team_id = $12 AND id = $13 AND version = $14 RETURNING ",
                     kConnectionColumns}),
                {rep.sealed.key_id, rep.sealed.wrapped_key, rep.sealed.ciphertext, *metadata, *scopes,
                 clock_.NowMillis(), rep.uid, std::string(ConnectionStatusName(rep.status)), rep.status_detail,
                 Opt(rep.last_verified_at), Opt(rep.expire_at), team.value(), id.value(), expected_version,
                 Opt(rep.token_expires_at), *requested});
            if (!r) return r.error();
            if (!r->rows.empty()) {
                auto replaced = ConnectionFrom(r->rows[0]);
                if (!replaced) return replaced.error();
                out = std::move(*replaced);
                return {};
            }
            auto current =
                tx.Exec("SELECT version FROM connections WHERE team_id = $1 AND id = $2", {team.value(), id.value()});
            if (!current) return current.error();
            if (current->rows.empty()) return ConnectionNotFound(id);
            return core::Conflict("connection " + std::to_string(id.value()) + " was changed meanwhile (version " +
                                  std::to_string(current->rows[0].Int(0)) + ", expected " +
                                  std::to_string(expected_version) + "); reload and try again");
        });
        if (!done) return done.error();
        return out;
    }

    core::Result<bool> SetConnectionStatus(core::TeamId team, core::ConnectionId id, ConnectionStatus status,
                                           const std::string& detail, std::optional<std::int64_t> verified_at,
                                           std::optional<std::int64_t> at_version) override {
        // Health is not an edit: updated_at stays, last_verified_at only moves forward when given.
        const ConnectionWrite announced(*this, id);
        std::string sql =
            "UPDATE connections SET status = $1, status_detail = $2, last_verified_at = COALESCE($3, last_verified_at)"
            " WHERE team_id = $4 AND id = $5";
        std::vector<Value> params{std::string(ConnectionStatusName(status)), detail, Opt(verified_at), team.value(),
                                  id.value()};
        if (at_version) {
            sql += " AND version = $6";
            params.emplace_back(*at_version);
        }
        auto r = db_->Exec(sql, params);
        if (!r) return r.error();
        if (r->affected > 0) return true;
        auto exists = db_->Exec("SELECT 1 FROM connections WHERE team_id = $1 AND id = $2", {team.value(), id.value()});
        if (!exists) return exists.error();
        if (exists->rows.empty()) return ConnectionNotFound(id);
        return false;
    }

    core::Result<void> RenameConnection(core::TeamId team, core::ConnectionId id, const std::string& name) override {
        const ConnectionWrite announced(*this, id);
        auto r = db_->Exec("UPDATE connections SET name = $1, updated_at = $2 WHERE team_id = $3 AND id = $4",
                           {name, clock_.NowMillis(), team.value(), id.value()});
        if (!r) return r.error();
        if (r->affected == 0) return ConnectionNotFound(id);
        return {};
    }

    core::Result<void> DeleteConnection(core::TeamId team, core::ConnectionId id) override {
        const ConnectionWrite announced(*this, id);
        auto r = db_->Exec("DELETE FROM connections WHERE team_id = $1 AND id = $2", {team.value(), id.value()});
        if (!r) return r.error();
        if (r->affected == 0) return ConnectionNotFound(id);
        return {};
    }

    core::Result<std::vector<Connection>> ListAllConnectionsForRewrap(core::ConnectionId after, int limit) override {
        auto r = db_->Exec(Sql({"SELECT ", kConnectionColumns, " FROM connections WHERE id > $1 ORDER BY id LIMIT $2"}),
                           {after.value(), std::int64_t{std::clamp(limit, 1, kMaxPageLimit)}});
        if (!r) return r.error();
        return ConnectionsFrom(*r);
    }

    core::Result<bool> RewrapConnectionKey(core::ConnectionId id, std::int64_t version, const std::string& old_key_id,
                                           const std::string& new_key_id, const std::string& new_wrapped_key) override {
        // Only the data key's wrapping changes: version and ciphertext stay, so the fence cannot hide an edit.
        const ConnectionWrite announced(*this, id);
        auto r = db_->Exec(
            "UPDATE connections SET key_id = $1, wrapped_key = $2 WHERE id = $3 AND version = $4 AND key_id = $5",
            {new_key_id, new_wrapped_key, id.value(), version, old_key_id});
        if (!r) return r.error();
        return r->affected > 0;
    }

    // ---- oauth consent state ----

    core::Result<void> CreateOAuthState(const OAuthState& st) override {
        auto scopes = CheckJson(st.scopes_json, "scopes_json", true);
        if (!scopes) return scopes.error();
        auto r = db_->Exec(
            "INSERT INTO oauth_states (state_hash, team_id, user_id, connection_id, app, sealed_verifier, scopes_json,"
            " purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            {st.state_hash, st.team_id.value(), st.user_id.value(), st.connection_id.value(), st.app,
             st.sealed_verifier, *scopes, st.purpose, st.created_at ? st.created_at : clock_.NowMillis(),
             st.expires_at});
        if (!r) return r.error();
        return {};
    }

    core::Result<OAuthState> ConsumeOAuthState(const std::string& state_hash) override {
        auto r = db_->Exec(
            "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING state_hash, team_id, user_id, connection_id, app,"
            " sealed_verifier, scopes_json, purpose, created_at, expires_at",
            {state_hash});
        if (!r) return r.error();
        if (r->rows.empty()) return core::NotFound("unknown or already used OAuth state");
        const Row& row = r->rows[0];
        OAuthState st;
        st.state_hash = row.Text(0);
        st.team_id = core::TeamId(row.Int(1));
        st.user_id = core::UserId(row.Int(2));
        st.connection_id = core::ConnectionId(row.Int(3));
        st.app = row.Text(4);
        st.sealed_verifier = row.Text(5);
        st.scopes_json = row.Text(6);
        st.purpose = row.Text(7);
        st.created_at = row.Int(8);
        st.expires_at = row.Int(9);
        return st;
    }

    core::Result<std::int64_t> DeleteExpiredOAuthStates(std::int64_t now_ms) override {
        auto r = db_->Exec("DELETE FROM oauth_states WHERE expires_at < $1", {now_ms});
        if (!r) return r.error();
        return r->affected;
    }

    // ---- refresh leases ----

    core::Result<std::vector<Connection>> ListConnectionsDueForRefresh(std::int64_t before_ms, int limit) override {
        auto r = db_->Exec(Sql({"SELECT ", kConnectionColumns,
                                " FROM connections WHERE token_expires_at IS NOT NULL AND token_expires_at < $1"
                                " AND status = 'verified' ORDER BY token_expires_at LIMIT $2"}),
                           {before_ms, std::int64_t{std::clamp(limit, 1, kMaxPageLimit)}});
        if (!r) return r.error();
        return ConnectionsFrom(*r);
    }

    core::Result<std::optional<std::int64_t>> AcquireRefreshLease(core::ConnectionId id, const std::string& holder,
                                                                  std::int64_t now_ms, std::int64_t ttl_ms) override {
        auto r = db_->Exec(
            "INSERT INTO oauth_refresh_leases (connection_id, holder, fence, expires_at) VALUES ($1, $2, 1, $3)"
            " ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder,"
            " fence = oauth_refresh_leases.fence + 1, expires_at = excluded.expires_at"
            " WHERE oauth_refresh_leases.expires_at < $4 RETURNING fence",
            {id.value(), holder, now_ms + ttl_ms, now_ms});
        if (!r) return r.error();
        if (r->rows.empty()) return std::optional<std::int64_t>();
        return std::optional<std::int64_t>(r->rows[0].Int(0));
    }

    core::Result<void> ReleaseRefreshLease(core::ConnectionId id, const std::string& holder,
                                           std::int64_t fence) override {
        // Expire rather than delete, so the fence keeps counting up.
        auto r = db_->Exec(
            "UPDATE oauth_refresh_leases SET expires_at = 0 WHERE connection_id = $1 AND holder = $2 AND fence = $3",
            {id.value(), holder, fence});
        if (!r) return r.error();
        return {};
    }

    // ---- usage index ----

    core::Result<void> UpsertConnectionUsage(const ConnectionUsage& u) override {
        auto required = CheckJson(u.required_scopes_json, "required_scopes_json", true);
        if (!required) return required.error();
        auto r = db_->Exec(
            "INSERT INTO connection_usage (connection_id, team_id, scenario_id, scenario_name, is_active,"
            " is_scheduled, required_scopes_json) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (connection_id, scenario_id) DO UPDATE SET"
            " scenario_name = excluded.scenario_name, is_active = excluded.is_active,"
            " is_scheduled = excluded.is_scheduled, required_scopes_json = excluded.required_scopes_json",
            {u.connection_id.value(), u.team_id.value(), u.scenario_id, u.scenario_name, std::int64_t{u.active},
             std::int64_t{u.scheduled}, *required});
        if (!r) return r.error();
        return {};
    }

    core::Result<void> RemoveScenarioUsage(std::int64_t scenario_id) override {
        auto r = db_->Exec("DELETE FROM connection_usage WHERE scenario_id = $1", {scenario_id});
        if (!r) return r.error();
        return {};
    }

    core::Result<std::vector<ConnectionUsage>> ListConnectionUsage(core::ConnectionId id) override {
        auto r = db_->Exec(
            "SELECT connection_id, team_id, scenario_id, scenario_name, is_active, is_scheduled, required_scopes_json"
            " FROM connection_usage WHERE connection_id = $1 ORDER BY scenario_id",
            {id.value()});
        if (!r) return r.error();
        std::vector<ConnectionUsage> out;
        for (const auto& row : r->rows) {
            out.push_back(ConnectionUsage{core::ConnectionId(row.Int(0)), core::TeamId(row.Int(1)), row.Int(2),
                                          row.Text(3), row.Int(4) != 0, row.Int(5) != 0, row.Text(6)});
        }
        return out;
    }

    core::Result<std::map<std::int64_t, int>> CountConnectionUsage(core::TeamId team) override {
        auto r =
            db_->Exec("SELECT connection_id, COUNT(*) FROM connection_usage WHERE team_id = $1 GROUP BY connection_id",
                      {team.value()});
        if (!r) return r.error();
        std::map<std::int64_t, int> out;
        for (const auto& row : r->rows) out[row.Int(0)] = static_cast<int>(row.Int(1));
        return out;
    }

    // ---- audit ----

    core::Result<void> AppendAudit(const AuditEvent& e) override {
        auto detail = CheckJson(e.detail_json, "detail_json", false);
        if (!detail) return detail.error();
        // created_at 0 means "now" by the injected clock.
        const std::int64_t created_at = e.created_at != 0 ? e.created_at : clock_.NowMillis();
        auto r = db_->Exec(
            "INSERT INTO audit_events (team_id, user_id, action, target, detail_json, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            {NullIfZero(e.team_id.value()), NullIfZero(e.user_id.value()), e.action, e.target, *detail, created_at});
        if (!r) return r.error();
        return {};
    }

    core::Result<std::vector<AuditEvent>> ListAudit(core::TeamId team, const Page& page) override {
        const Page p = Clamp(page);
        // Newest first. Team 0 lists the events recorded outside any team.
        auto r = team.value() == 0
                     ? db_->Exec(Sql({"SELECT ", kAuditColumns,
                                      " FROM audit_events WHERE team_id IS NULL ORDER BY id DESC LIMIT $1 OFFSET $2"}),
                                 {std::int64_t{p.limit}, std::int64_t{p.offset}})
                     : db_->Exec(Sql({"SELECT ", kAuditColumns,
                                      " FROM audit_events WHERE team_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"}),
                                 {team.value(), std::int64_t{p.limit}, std::int64_t{p.offset}});
        if (!r) return r.error();
        std::vector<AuditEvent> out;
        for (const Row& row : r->rows) out.push_back(AuditFrom(row));
        return out;
    }

  private:
    // Announces one write of a connection row to the observers for its lifetime: Starting now, Finished when the
    // store call returns (its statement has committed or failed by then: Db calls never leave a transaction open).
    class ConnectionWrite {
      public:
        ConnectionWrite(SqlStore& store, core::ConnectionId id) : store_(store), id_(id) {
            std::lock_guard lock(store_.observers_mutex_);
            for (auto* o : store_.observers_) o->ConnectionWriteStarting(id_);
        }
        ~ConnectionWrite() {
            std::lock_guard lock(store_.observers_mutex_);
            for (auto* o : store_.observers_) o->ConnectionWriteFinished(id_);
        }
        ConnectionWrite(const ConnectionWrite&) = delete;
        ConnectionWrite& operator=(const ConnectionWrite&) = delete;

      private:
        SqlStore& store_;
        core::ConnectionId id_;
    };

    static core::Error ConnectionNotFound(core::ConnectionId id) {
        return core::NotFound("connection " + std::to_string(id.value()) + " does not exist");
    }

    static core::Result<std::vector<Connection>> ConnectionsFrom(const QueryResult& r) {
        std::vector<Connection> out;
        out.reserve(r.rows.size());
        for (const Row& row : r.rows) {
            auto c = ConnectionFrom(row);
            if (!c) return c.error();
            out.push_back(std::move(*c));
        }
        return out;
    }

    std::unique_ptr<Db> db_;
    const core::Clock& clock_;
    // Held while observers are called: an observer that removes itself waits for calls in progress to end.
    std::mutex observers_mutex_;
    std::vector<ConnectionWriteObserver*> observers_;
};

}  // namespace

std::unique_ptr<Store> MakeSqlStore(std::unique_ptr<Db> db, const core::Clock& clock) {
    return std::make_unique<SqlStore>(std::move(db), clock);
}

}  // namespace switchboard::store

#include "store/migrations.hpp"

namespace switchboard::store {

namespace {

// pg_advisory_xact_lock key shared by every Switchboard process migrating the same database ("SWBDMIGR").
constexpr std::string_view kPostgresMigrationLock = "SELECT pg_advisory_xact_lock(6004234345560328530)";

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

const std::vector<Migration> kMigrations = {
    {1,
     "initial schema",
     {
         "CREATE TABLE teams ("
         " id {id_pk},"
         " name {name_text} NOT NULL,"
         " created_at BIGINT NOT NULL)",

         "CREATE TABLE users ("
         " id {id_pk},"
         " email TEXT NOT NULL UNIQUE,"
         " name TEXT NOT NULL,"
         " created_at BIGINT NOT NULL)",

         "CREATE TABLE memberships ("
         " team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
         " user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
         " role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'operator', 'monitoring')),"
         " created_at BIGINT NOT NULL,"
         " PRIMARY KEY (team_id, user_id))",

         "CREATE INDEX memberships_user ON memberships (user_id)",

         "CREATE TABLE api_tokens ("
         " id {id_pk},"
         " user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
         " token_hash TEXT NOT NULL UNIQUE,"
         " label TEXT,"
         " created_at BIGINT NOT NULL,"
         " last_used_at BIGINT,"
         " revoked_at BIGINT)",

         "CREATE INDEX api_tokens_user ON api_tokens (user_id, id)",

         "CREATE TABLE connections ("
         " id {id_pk},"
         " team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
         " name {name_text} NOT NULL,"
         " app TEXT NOT NULL,"
         " type TEXT NOT NULL,"
         " version BIGINT NOT NULL,"
         " key_id TEXT,"
         " wrapped_key TEXT,"
         " ciphertext TEXT,"
         " status TEXT NOT NULL CHECK (status IN ('verified', 'unverified', 'failed', 'needs_reauthorization',"
         " 'pending', 'broken')),"
         " status_detail TEXT,"
         " metadata_json TEXT,"
         " scopes_json TEXT,"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " last_verified_at BIGINT,"
         " created_by BIGINT NULL,"
         " uid TEXT,"
         " expire_at BIGINT,"
         " token_expires_at BIGINT,"
         " requested_scopes_json TEXT)",

         "CREATE INDEX connections_team_name ON connections (team_id, name, id)",

         // Which scenarios use which connection (filled by the scenario engine), for delete confirmation and the
         // "used in N scenarios" column.
         "CREATE TABLE connection_usage ("
         " connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,"
         " team_id BIGINT NOT NULL,"
         " scenario_id BIGINT NOT NULL,"
         " scenario_name TEXT NOT NULL,"
         " is_active INTEGER NOT NULL,"
         " is_scheduled INTEGER NOT NULL,"
         " required_scopes_json TEXT NOT NULL DEFAULT '[]',"
         " PRIMARY KEY (connection_id, scenario_id))",

         "CREATE INDEX connection_usage_scenario ON connection_usage (scenario_id)",

         // No foreign keys: the audit trail outlives the teams and users it mentions.
         "CREATE TABLE audit_events ("
         " id {id_pk},"
         " team_id BIGINT NULL,"
         " user_id BIGINT NULL,"
         " action TEXT NOT NULL,"
         " target TEXT NOT NULL,"
         " detail_json TEXT,"
         " created_at BIGINT NOT NULL)",

         "CREATE INDEX audit_events_team ON audit_events (team_id, id)",
     }},
    {2,
     "oauth consent state and refresh leases",
     {
         // One row per consent window in flight: single use (deleted when consumed), expiring, bound to the
         // team, the user and the pending connection. Only the SHA-256 of the state is stored; the PKCE
         // verifier is sealed by the vault.
         "CREATE TABLE oauth_states ("
         " state_hash TEXT PRIMARY KEY,"
         " team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
         " user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
         " connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,"
         " app TEXT NOT NULL,"
         " sealed_verifier TEXT NOT NULL,"
         " scopes_json TEXT NOT NULL,"
         " purpose TEXT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " expires_at BIGINT NOT NULL)",
         "CREATE INDEX oauth_states_expiry ON oauth_states (expires_at)",
         // At most one token refresh per connection at a time across every node: a lease with a fence.
         "CREATE TABLE oauth_refresh_leases ("
         " connection_id BIGINT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,"
         " holder TEXT NOT NULL,"
         " fence BIGINT NOT NULL,"
         " expires_at BIGINT NOT NULL)",
         "CREATE INDEX connections_token_expiry ON connections (token_expires_at)",
     }},
    {3,
     "scenarios, executions, trigger cursors and dynamic connections",
     {
         // (id, team_id) is unique anyway (id is); the index lets child tables reference both columns, so that a
         // row of one team can never point at another team's scenario, connection or dynamic connection.
         "CREATE UNIQUE INDEX connections_id_team ON connections (id, team_id)",

         // hook_token is NULL when the scenario has no webhook, so the unique index only covers real tokens.
         "CREATE TABLE scenarios ("
         " id {id_pk},"
         " team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
         " name {name_text} NOT NULL,"
         " blueprint_json TEXT NOT NULL,"
         " scheduling_json TEXT NOT NULL,"
         " inputs_json TEXT NOT NULL,"
         " is_active INTEGER NOT NULL,"
         " is_invalid INTEGER NOT NULL,"
         " invalid_reason TEXT NOT NULL,"
         " consecutive_errors INTEGER NOT NULL,"
         " hook_token TEXT NULL,"
         " next_run_at BIGINT NULL,"
         " created_by BIGINT NULL,"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " version BIGINT NOT NULL)",

         "CREATE UNIQUE INDEX scenarios_id_team ON scenarios (id, team_id)",
         "CREATE UNIQUE INDEX scenarios_hook_token ON scenarios (hook_token)",
         "CREATE INDEX scenarios_team ON scenarios (team_id, id)",
         "CREATE INDEX scenarios_due ON scenarios (is_active, next_run_at)",

         // The run queue. claimed_by is '' while nobody holds the row.
         "CREATE TABLE executions ("
         " id {id_pk},"
         " team_id BIGINT NOT NULL,"
         " scenario_id BIGINT NOT NULL,"
         " status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'warning', 'error',"
         " 'incomplete')),"
         " trigger_type TEXT NOT NULL,"
         " input_json TEXT NOT NULL,"
         " operations INTEGER NOT NULL,"
         " error_type TEXT NOT NULL,"
         " error_message TEXT NOT NULL,"
         " error_module_id BIGINT NOT NULL,"
         " log_json TEXT NOT NULL,"
         " result_json TEXT NOT NULL,"
         " claimed_by TEXT NOT NULL,"
         " attempts INTEGER NOT NULL,"
         " not_before BIGINT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " started_at BIGINT NULL,"
         " finished_at BIGINT NULL,"
         " FOREIGN KEY (scenario_id, team_id) REFERENCES scenarios (id, team_id) ON DELETE CASCADE)",

         "CREATE INDEX executions_claim ON executions (status, not_before, id)",
         "CREATE INDEX executions_team_scenario ON executions (team_id, scenario_id, id)",

         "CREATE TABLE trigger_cursors ("
         " scenario_id BIGINT NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,"
         " module_id BIGINT NOT NULL,"
         " cursor_json TEXT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " PRIMARY KEY (scenario_id, module_id))",

         "CREATE TABLE dynamic_connections ("
         " id {id_pk},"
         " team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
         " name {name_text} NOT NULL,"
         " connection_type TEXT NOT NULL,"
         " default_connection_id BIGINT NULL REFERENCES connections (id) ON DELETE SET NULL,"
         " created_at BIGINT NOT NULL,"
         " updated_at BIGINT NOT NULL,"
         " UNIQUE (team_id, name))",

         "CREATE UNIQUE INDEX dynamic_connections_id_team ON dynamic_connections (id, team_id)",

         // team_id is repeated so that both foreign keys pin the member to the dynamic connection's team.
         "CREATE TABLE dynamic_connection_members ("
         " dynamic_id BIGINT NOT NULL,"
         " team_id BIGINT NOT NULL,"
         " connection_id BIGINT NOT NULL,"
         " label {name_text} NOT NULL,"
         " PRIMARY KEY (dynamic_id, connection_id),"
         " UNIQUE (dynamic_id, label),"
         " FOREIGN KEY (dynamic_id, team_id) REFERENCES dynamic_connections (id, team_id) ON DELETE CASCADE,"
         " FOREIGN KEY (connection_id, team_id) REFERENCES connections (id, team_id) ON DELETE CASCADE)",

         "CREATE INDEX dynamic_connection_members_connection ON dynamic_connection_members (connection_id)",

         "CREATE TABLE scenario_dynamic_usage ("
         " scenario_id BIGINT NOT NULL,"
         " dynamic_id BIGINT NOT NULL,"
         " team_id BIGINT NOT NULL,"
         " PRIMARY KEY (scenario_id, dynamic_id),"
         " FOREIGN KEY (scenario_id, team_id) REFERENCES scenarios (id, team_id) ON DELETE CASCADE,"
         " FOREIGN KEY (dynamic_id, team_id) REFERENCES dynamic_connections (id, team_id) ON DELETE CASCADE)",

         "CREATE INDEX scenario_dynamic_usage_dynamic ON scenario_dynamic_usage (dynamic_id)",
     }},
    {4,
     "passwords, browser sessions and one-time password links",
     {
         // argon2id (libsodium's crypto_pwhash_str format); NULL while the user has no password.
         "ALTER TABLE users ADD COLUMN password_hash TEXT NULL",

         // A browser session: only the SHA-256 of its cookie value is stored; the CSRF token is sent back by the
         // page on every state-changing request.
         "CREATE TABLE sessions ("
         " token_hash TEXT PRIMARY KEY,"
         " user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
         " csrf_token TEXT NOT NULL,"
         " created_at BIGINT NOT NULL,"
         " expires_at BIGINT NOT NULL,"
         " last_seen_at BIGINT NOT NULL)",

         "CREATE INDEX sessions_user ON sessions (user_id)",

         // The first-start link that lets the first admin choose a password (hash only, single use).
         "CREATE TABLE password_links ("
         " token_hash TEXT PRIMARY KEY,"
         " user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
         " created_at BIGINT NOT NULL,"
         " expires_at BIGINT NOT NULL)",
     }},
    {5,
     "connection change notifications (PostgreSQL)",
     {
         // Every write to a connection row, whoever makes it (a node, `keys rotate`, an operator's SQL, a cascade),
         // announces the connection id on the channel switchboard_connections (store::kConnectionChangesChannel)
         // in its own transaction: PostgreSQL delivers it when, and only if, the transaction commits. Every node
         // LISTENs and drops its cached copy (connections/resolve_cache.hpp). SQLite has a single writing process
         // while serving and needs nothing here.
         "{postgres_only}CREATE OR REPLACE FUNCTION switchboard_connection_changed() RETURNS trigger"
         " LANGUAGE plpgsql AS $body$"
         " BEGIN"
         "   IF TG_OP = 'DELETE' THEN"
         "     PERFORM pg_notify('switchboard_connections', OLD.id::text);"
         "   ELSE"
         "     PERFORM pg_notify('switchboard_connections', NEW.id::text);"
         "   END IF;"
         "   RETURN NULL;"
         " END"
         " $body$",

         "{postgres_only}CREATE TRIGGER connections_changed AFTER INSERT OR UPDATE OR DELETE ON connections"
         " FOR EACH ROW EXECUTE FUNCTION switchboard_connection_changed()",
     }},
    {6,
     "run queue indexes hold only queued and running executions",
     {
         // executions_claim indexed every execution ever recorded, finished ones included, although only queued
         // rows are claimed and only running ones recovered. These partial indexes hold the few rows that are
         // waiting or running: recording a finished run (most writes) touches no queue index, and the indexes stay
         // small however long the history. Both backends use a partial index for a query whose WHERE clause
         // contains the index's condition verbatim (status = 'queued' / status = 'running'). The claim orders by
         // id, so its index starts with id: with (not_before, id) SQLite preferred scanning the whole table in
         // rowid order once not_before was a bound parameter.
         "DROP INDEX executions_claim",
         "CREATE INDEX executions_queued ON executions (id, not_before) WHERE status = 'queued'",
         "CREATE INDEX executions_running ON executions (started_at) WHERE status = 'running'",
     }},
};

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
}

core::Result<bool> MigrationsTableExists(Db& db) {
    auto result =
        db.backend() == Backend::kSqlite
            ? db.Exec("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            : db.Exec(
                  "SELECT COUNT(*) FROM pg_catalog.pg_tables"
                  " WHERE schemaname = current_schema() AND tablename = 'schema_migrations'");
    if (!result) return result.error();
    return !result->rows.empty() && result->rows[0].Int(0) > 0;
}

}  // namespace

const std::vector<Migration>& Migrations() { return kMigrations; }

int LatestMigrationVersion() { return kMigrations.back().version; }

std::string RenderMigrationSql(std::string_view statement, Backend backend) {
    const bool sqlite = backend == Backend::kSqlite;
    // A statement for PostgreSQL alone (triggers, functions): a no-op on SQLite, so that both backends still record
    // the same history.
    constexpr std::string_view kPostgresOnly = "{postgres_only}";
    if (statement.starts_with(kPostgresOnly)) {
        if (sqlite) return "SELECT 1";
        statement.remove_prefix(kPostgresOnly.size());
    }
    std::string sql(statement);
    ReplaceAll(sql, "{id_pk}",
               sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    ReplaceAll(sql, "{name_text}", sqlite ? "TEXT" : "TEXT COLLATE \"C\"");
    return sql;
}

core::Result<int> AppliedMigrationVersion(Db& db) {
    auto exists = MigrationsTableExists(db);
    if (!exists) return exists.error();
    if (!*exists) return 0;
    auto result = db.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!result) return result.error();
    return static_cast<int>(result->rows.at(0).Int(0));
}

core::Result<int> ApplyMigrations(Db& db, const core::Clock& clock) {
    // Fast path for the usual start-up: everything applied, no lock taken.
    auto applied = AppliedMigrationVersion(db);
    if (!applied) return applied.error();
    if (*applied >= LatestMigrationVersion()) return *applied;

    for (const Migration& migration : kMigrations) {
        if (migration.version <= *applied) continue;
        auto done = db.Transaction([&](Tx& tx) -> core::Result<void> {
            if (db.backend() == Backend::kPostgres) {
                if (auto lock = tx.Exec(kPostgresMigrationLock); !lock) return lock.error();
            }
            if (auto table = tx.Exec(kCreateMigrationsTable); !table) return table.error();
            // Another process may have applied it while we waited for the lock.
            auto present =
                tx.Exec("SELECT COUNT(*) FROM schema_migrations WHERE version = $1", {std::int64_t{migration.version}});
            if (!present) return present.error();
            if (present->rows.at(0).Int(0) > 0) return {};
            for (std::string_view statement : migration.statements) {
                auto result = tx.Exec(RenderMigrationSql(statement, db.backend()));
                if (!result) {
                    core::Error error = result.error();
                    error.detail = "migration " + std::to_string(migration.version) + " (" +
                                   std::string(migration.name) + "): " + error.detail;
                    return error;
                }
            }
            auto record = tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                  {std::int64_t{migration.version}, std::string(migration.name), clock.NowMillis()});
            if (!record) return record.error();
            return {};
        });
        if (!done) return done.error();
    }
    return AppliedMigrationVersion(db);
}

}  // namespace switchboard::store

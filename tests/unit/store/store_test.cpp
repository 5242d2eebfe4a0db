// The storage suite: every Store operation against SQLite and PostgreSQL.
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <thread>

#include "backend_fixture.hpp"
#include "store/migrations.hpp"

namespace switchboard::store::testing {
namespace {

using core::ConnectionId;
using core::Errc;
using core::TeamId;
using core::TokenId;
using core::UserId;

// A replacement of the credential set with the given metadata and scopes (status and health left default).
ConnectionReplacement Replacement(SealedData sealed, std::string metadata_json, std::string scopes_json) {
    ConnectionReplacement r;
    r.sealed = std::move(sealed);
    r.metadata_json = std::move(metadata_json);
    r.scopes_json = std::move(scopes_json);
    return r;
}

class StoreTest : public BackendTest {
  protected:
    void SetUp() override {
        BackendTest::SetUp();
        store_ = MakeSqlStore(Open(), clock_);
        ASSERT_EQ(Must(store_->Migrate()), Store::LatestSchemaVersion());
    }

    Connection NewConnection(TeamId team, const std::string& name) {
        Connection c;
        c.team_id = team;
        c.name = name;
        c.app = "dropbox";
        c.type = "oauth";
        c.sealed = SealedData{"k1", "wrapped-" + name, "cipher-" + name};
        c.status = ConnectionStatus::kVerified;
        c.metadata_json = R"({"type":"email","value":"a@example.com"})";
        c.scopes_json = R"(["files.read","files.write"])";
        return c;
    }

    std::vector<std::string> Names(const std::vector<Connection>& list) {
        std::vector<std::string> out;
        for (const auto& c : list) out.push_back(c.name);
        return out;
    }

    std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigrateTwiceIsANoOp) {
    EXPECT_EQ(Must(store_->SchemaVersion()), Store::LatestSchemaVersion());
    EXPECT_EQ(Must(store_->Migrate()), Store::LatestSchemaVersion());
    EXPECT_EQ(Must(store_->SchemaVersion()), Store::LatestSchemaVersion());
    auto rows = Must(store_->db().Exec("SELECT version, name, applied_at FROM schema_migrations ORDER BY version"));
    ASSERT_EQ(rows.rows.size(), Migrations().size());
    EXPECT_EQ(rows.rows[0].Int(0), 1);
    EXPECT_EQ(rows.rows[0].Text(1), std::string(Migrations()[0].name));
    EXPECT_EQ(rows.rows[0].Int(2), clock_.NowMillis());
}

TEST_P(StoreTest, FreshDatabaseStartsAtVersionZero) {
    // A second database of the same backend that nobody migrated yet.
    std::string url = GetParam() == Backend::kSqlite
                          ? "sqlite:" + dir_.file("fresh.db")
                          : switchboard::testing::PostgresServer::Shared().CreateDatabase("fresh");
    auto fresh = MakeSqlStore(Must(OpenDb(url)), clock_);
    EXPECT_EQ(Must(fresh->SchemaVersion()), 0);
    EXPECT_TRUE(IsError(fresh->CreateTeam("x"), Errc::kInternal));
    EXPECT_EQ(Must(fresh->Migrate()), Store::LatestSchemaVersion());
    EXPECT_EQ(Must(fresh->CreateTeam("x")).name, "x");
}

TEST_P(StoreTest, ConcurrentMigrateAppliesEachMigrationOnce) {
    std::string url = GetParam() == Backend::kSqlite
                          ? "sqlite:" + dir_.file("concurrent.db")
                          : switchboard::testing::PostgresServer::Shared().CreateDatabase("concurrent");
    constexpr int kThreads = 4;
    std::vector<std::unique_ptr<Store>> stores;
    for (int i = 0; i < kThreads; ++i) stores.push_back(MakeSqlStore(Must(OpenDb(url)), clock_));
    std::latch start(kThreads);
    std::vector<core::Result<int>> results(kThreads, core::Result<int>(0));
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            results[i] = stores[i]->Migrate();
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
        ASSERT_TRUE(results[i].has_value()) << "thread " << i << ": " << Describe(results[i].error());
        EXPECT_EQ(*results[i], Store::LatestSchemaVersion());
    }
    auto count = Must(stores[0]->db().Exec("SELECT COUNT(*) FROM schema_migrations"));
    EXPECT_EQ(count.rows.at(0).Int(0), static_cast<std::int64_t>(Migrations().size()));
    EXPECT_EQ(Must(stores[1]->CreateUser("a@example.com", "A")).email, "a@example.com");
}

TEST_P(StoreTest, TeamsUsersAndMemberships) {
    const Team team = Must(store_->CreateTeam("Acme"));
    EXPECT_TRUE(team.id.valid());
    EXPECT_EQ(team.name, "Acme");
    EXPECT_EQ(team.created_at, clock_.NowMillis());
    const Team other = Must(store_->CreateTeam("Other"));
    EXPECT_NE(other.id, team.id);

    EXPECT_EQ(Must(store_->GetTeam(team.id)).name, "Acme");
    EXPECT_TRUE(IsError(store_->GetTeam(TeamId(999999)), Errc::kNotFound));
    auto found = Must(store_->FindTeamByName("Acme"));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, team.id);
    EXPECT_FALSE(Must(store_->FindTeamByName("acme")).has_value());

    EXPECT_EQ(Must(store_->CountUsers()), 0);
    const User ann = Must(store_->CreateUser("ann@example.com", "Ann"));
    const User bob = Must(store_->CreateUser("bob@example.com", "Bob"));
    EXPECT_EQ(Must(store_->CountUsers()), 2);
    EXPECT_EQ(Must(store_->GetUser(bob.id)).name, "Bob");
    EXPECT_TRUE(IsError(store_->GetUser(UserId(424242)), Errc::kNotFound));
    auto by_email = Must(store_->FindUserByEmail("ann@example.com"));
    ASSERT_TRUE(by_email.has_value());
    EXPECT_EQ(by_email->id, ann.id);
    EXPECT_FALSE(Must(store_->FindUserByEmail("nobody@example.com")).has_value());

    const std::int64_t joined_at = clock_.NowMillis();
    const Membership admin = Must(store_->UpsertMembership(team.id, ann.id, Role::kAdmin));
    EXPECT_EQ(admin.role, Role::kAdmin);
    EXPECT_EQ(admin.created_at, joined_at);
    Must(store_->UpsertMembership(team.id, bob.id, Role::kMember));
    Must(store_->UpsertMembership(other.id, ann.id, Role::kMonitoring));

    // Changing the role keeps the membership (and when it started).
    clock_.Advance(std::chrono::seconds(5));
    const Membership changed = Must(store_->UpsertMembership(team.id, ann.id, Role::kOperator));
    EXPECT_EQ(changed.role, Role::kOperator);
    EXPECT_EQ(changed.created_at, joined_at);
    auto got = Must(store_->GetMembership(team.id, ann.id));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->role, Role::kOperator);
    EXPECT_FALSE(Must(store_->GetMembership(other.id, bob.id)).has_value());

    auto members = Must(store_->ListMembers(team.id));
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].user_id, ann.id);
    EXPECT_EQ(members[0].role, Role::kOperator);
    EXPECT_EQ(members[1].user_id, bob.id);
    EXPECT_EQ(members[1].role, Role::kMember);

    auto teams = Must(store_->ListTeamsOfUser(ann.id));
    ASSERT_EQ(teams.size(), 2u);
    EXPECT_EQ(teams[0].id, team.id);
    EXPECT_EQ(teams[1].id, other.id);
    EXPECT_EQ(Must(store_->ListTeamsOfUser(bob.id)).size(), 1u);

    Must(store_->DeleteMembership(team.id, bob.id));
    EXPECT_FALSE(Must(store_->GetMembership(team.id, bob.id)).has_value());
    EXPECT_TRUE(IsError(store_->DeleteMembership(team.id, bob.id), Errc::kNotFound));
    EXPECT_EQ(Must(store_->ListMembers(team.id)).size(), 1u);

    EXPECT_TRUE(IsError(store_->UpsertMembership(TeamId(999999), ann.id, Role::kMember), Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->UpsertMembership(team.id, UserId(999999), Role::kMember), Errc::kNotFound));
}

TEST_P(StoreTest, DuplicateEmailIsAConflict) {
    Must(store_->CreateUser("dup@example.com", "First"));
    auto second = store_->CreateUser("dup@example.com", "Second");
    EXPECT_TRUE(IsError(second, Errc::kConflict));
    EXPECT_EQ(Must(store_->CountUsers()), 1);
    EXPECT_EQ(Must(store_->FindUserByEmail("dup@example.com"))->name, "First");
}

TEST_P(StoreTest, ApiTokens) {
    const User ann = Must(store_->CreateUser("ann@example.com", "Ann"));
    const User bob = Must(store_->CreateUser("bob@example.com", "Bob"));
    const ApiToken t1 = Must(store_->CreateToken(ann.id, "hash-1", "laptop"));
    const ApiToken t2 = Must(store_->CreateToken(ann.id, "hash-2", "ci"));
    Must(store_->CreateToken(bob.id, "hash-3", ""));
    EXPECT_EQ(t1.user_id, ann.id);
    EXPECT_EQ(t1.label, "laptop");
    EXPECT_EQ(t1.created_at, clock_.NowMillis());
    EXPECT_FALSE(t1.last_used_at.has_value());
    EXPECT_FALSE(t1.revoked_at.has_value());

    EXPECT_TRUE(IsError(store_->CreateToken(bob.id, "hash-1", "again"), Errc::kConflict));
    EXPECT_TRUE(IsError(store_->CreateToken(UserId(999999), "hash-9", ""), Errc::kNotFound));

    auto found = Must(store_->FindTokenByHash("hash-2"));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, t2.id);
    EXPECT_EQ(found->label, "ci");
    EXPECT_FALSE(Must(store_->FindTokenByHash("hash-unknown")).has_value());

    auto listed = Must(store_->ListTokens(ann.id));
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].id, t1.id);
    EXPECT_EQ(listed[1].id, t2.id);

    clock_.Advance(std::chrono::minutes(1));
    Must(store_->TouchToken(t1.id));
    EXPECT_EQ(Must(store_->FindTokenByHash("hash-1"))->last_used_at, clock_.NowMillis());
    EXPECT_TRUE(IsError(store_->TouchToken(TokenId(999999)), Errc::kNotFound));

    // Someone else's token looks missing, and stays untouched.
    EXPECT_TRUE(IsError(store_->RevokeToken(bob.id, t1.id), Errc::kNotFound));
    EXPECT_FALSE(Must(store_->FindTokenByHash("hash-1"))->revoked_at.has_value());

    const std::int64_t revoked_at = clock_.NowMillis();
    Must(store_->RevokeToken(ann.id, t1.id));
    EXPECT_EQ(Must(store_->FindTokenByHash("hash-1"))->revoked_at, revoked_at);
    clock_.Advance(std::chrono::minutes(1));
    Must(store_->RevokeToken(ann.id, t1.id));  // idempotent, keeps the first time
    EXPECT_EQ(Must(store_->FindTokenByHash("hash-1"))->revoked_at, revoked_at);
    EXPECT_FALSE(Must(store_->FindTokenByHash("hash-2"))->revoked_at.has_value());
}

TEST_P(StoreTest, CreateAndGetConnection) {
    const Team team = Must(store_->CreateTeam("Acme"));
    Connection in = NewConnection(team.id, "Dropbox company");
    in.status = ConnectionStatus::kPending;
    in.status_detail = "waiting for consent";
    in.last_verified_at = 1234;
    in.version = 77;                    // assigned by the store
    in.created_at = in.updated_at = 5;  // assigned by the store
    const Connection c = Must(store_->CreateConnection(in));
    EXPECT_TRUE(c.id.valid());
    EXPECT_EQ(c.version, 1);
    EXPECT_EQ(c.created_at, clock_.NowMillis());
    EXPECT_EQ(c.updated_at, clock_.NowMillis());

    const Connection got = Must(store_->GetConnection(team.id, c.id));
    EXPECT_EQ(got.id, c.id);
    EXPECT_EQ(got.team_id, team.id);
    EXPECT_EQ(got.name, "Dropbox company");
    EXPECT_EQ(got.app, "dropbox");
    EXPECT_EQ(got.type, "oauth");
    EXPECT_EQ(got.version, 1);
    EXPECT_EQ(got.sealed.key_id, "k1");
    EXPECT_EQ(got.sealed.wrapped_key, "wrapped-Dropbox company");
    EXPECT_EQ(got.sealed.ciphertext, "cipher-Dropbox company");
    EXPECT_EQ(got.status, ConnectionStatus::kPending);
    EXPECT_EQ(got.status_detail, "waiting for consent");
    EXPECT_EQ(got.metadata_json, in.metadata_json);
    EXPECT_EQ(got.scopes_json, in.scopes_json);
    EXPECT_EQ(got.last_verified_at, 1234);

    Connection bare = NewConnection(team.id, "bare");
    bare.metadata_json.clear();
    bare.scopes_json.clear();
    const Connection b = Must(store_->CreateConnection(bare));
    EXPECT_EQ(b.metadata_json, "{}");
    EXPECT_EQ(b.scopes_json, "[]");
    EXPECT_FALSE(b.last_verified_at.has_value());

    EXPECT_TRUE(IsError(store_->CreateConnection(NewConnection(TeamId(999999), "x")), Errc::kNotFound));
    Connection bad = NewConnection(team.id, "bad");
    bad.metadata_json = "{not json";
    EXPECT_TRUE(IsError(store_->CreateConnection(bad), Errc::kInvalidArgument));
    bad.metadata_json = "[]";
    EXPECT_TRUE(IsError(store_->CreateConnection(bad), Errc::kInvalidArgument));
    bad = NewConnection(team.id, "bad");
    bad.scopes_json = R"(["ok", 3])";
    EXPECT_TRUE(IsError(store_->CreateConnection(bad), Errc::kInvalidArgument));
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{})).size(), 2u);
}

TEST_P(StoreTest, ListConnectionsSortsByNameThenIdAndPages) {
    const Team team = Must(store_->CreateTeam("Acme"));
    const Team other = Must(store_->CreateTeam("Other"));
    for (const char* name : {"gamma", "beta", "alpha", "Alpha", "beta", "Zeta"}) {
        Must(store_->CreateConnection(NewConnection(team.id, name)));
    }
    Must(store_->CreateConnection(NewConnection(other.id, "aaa other team")));

    auto all = Must(store_->ListConnections(team.id, Page{100, 0}));
    EXPECT_EQ(Names(all), (std::vector<std::string>{"Alpha", "alpha", "beta", "beta", "gamma", "Zeta"}));
    ASSERT_EQ(all.size(), 6u);
    EXPECT_LT(all[2].id, all[3].id);  // equal names: by id

    auto page = Must(store_->ListConnections(team.id, Page{2, 1}));
    EXPECT_EQ(Names(page), (std::vector<std::string>{"alpha", "beta"}));
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{2, 4})).size(), 2u);
    EXPECT_TRUE(Must(store_->ListConnections(team.id, Page{2, 6})).empty());
    // limit is clamped to 1..10000, offset to >= 0
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{0, 0})).size(), 1u);
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{-5, -3})).size(), 1u);
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{1'000'000, 0})).size(), 6u);

    auto theirs = Must(store_->ListConnections(other.id, Page{}));
    ASSERT_EQ(theirs.size(), 1u);
    EXPECT_EQ(theirs[0].name, "aaa other team");
}

TEST_P(StoreTest, OtherTeamsConnectionIsNotFoundAndUntouched) {
    const Team mine = Must(store_->CreateTeam("Mine"));
    const Team theirs = Must(store_->CreateTeam("Theirs"));
    const Connection c = Must(store_->CreateConnection(NewConnection(theirs.id, "secret stuff")));

    EXPECT_TRUE(IsError(store_->GetConnection(mine.id, c.id), Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->ReplaceConnection(mine.id, c.id, 1, Replacement(SealedData{"k1", "w", "c"}, "", "")),
                        Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->SetConnectionStatus(mine.id, c.id, ConnectionStatus::kBroken, "x", std::nullopt),
                        Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->RenameConnection(mine.id, c.id, "mine now"), Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->DeleteConnection(mine.id, c.id), Errc::kNotFound));
    EXPECT_TRUE(Must(store_->ListConnections(mine.id, Page{})).empty());

    const Connection after = Must(store_->GetConnection(theirs.id, c.id));
    EXPECT_EQ(after.name, "secret stuff");
    EXPECT_EQ(after.version, 1);
    EXPECT_EQ(after.sealed.ciphertext, "cipher-secret stuff");
    EXPECT_EQ(after.status, ConnectionStatus::kVerified);
}

TEST_P(StoreTest, ReplaceConnectionIsFencedOnVersion) {
    const Team team = Must(store_->CreateTeam("Acme"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "conn")));
    const std::int64_t created_at = clock_.NowMillis();
    clock_.Advance(std::chrono::seconds(10));

    const Connection v2 = Must(store_->ReplaceConnection(
        team.id, c.id, 1, Replacement(SealedData{"k2", "w2", "c2"}, R"({"value":"new@example.com"})", R"(["a"])")));
    EXPECT_EQ(v2.version, 2);
    EXPECT_EQ(v2.sealed.key_id, "k2");
    EXPECT_EQ(v2.sealed.wrapped_key, "w2");
    EXPECT_EQ(v2.sealed.ciphertext, "c2");
    EXPECT_EQ(v2.metadata_json, R"({"value":"new@example.com"})");
    EXPECT_EQ(v2.scopes_json, R"(["a"])");
    EXPECT_EQ(v2.created_at, created_at);
    EXPECT_EQ(v2.updated_at, clock_.NowMillis());
    EXPECT_EQ(v2.name, "conn");

    // A writer that read version 1 lost the race: nothing changes.
    auto stale = store_->ReplaceConnection(team.id, c.id, 1, Replacement(SealedData{"k3", "w3", "c3"}, "", ""));
    EXPECT_TRUE(IsError(stale, Errc::kConflict));
    const Connection now = Must(store_->GetConnection(team.id, c.id));
    EXPECT_EQ(now.version, 2);
    EXPECT_EQ(now.sealed.ciphertext, "c2");

    EXPECT_EQ(
        Must(store_->ReplaceConnection(team.id, c.id, 2, Replacement(SealedData{"k2", "w4", "c4"}, "", ""))).version,
        3);
    EXPECT_TRUE(IsError(store_->ReplaceConnection(team.id, ConnectionId(999999), 1, Replacement(SealedData{}, "", "")),
                        Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->ReplaceConnection(team.id, c.id, 3, Replacement(SealedData{}, "nope", "")),
                        Errc::kInvalidArgument));
    EXPECT_EQ(Must(store_->GetConnection(team.id, c.id)).version, 3);
}

TEST_P(StoreTest, SetConnectionStatus) {
    const Team team = Must(store_->CreateTeam("Acme"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "conn")));
    clock_.Advance(std::chrono::seconds(1));

    EXPECT_TRUE(Must(store_->SetConnectionStatus(team.id, c.id, ConnectionStatus::kBroken, "invalid_grant", 5555)));
    // A status for an older version of the credentials changes nothing.
    EXPECT_FALSE(
        Must(store_->SetConnectionStatus(team.id, c.id, ConnectionStatus::kVerified, "", 6666, c.version + 7)));
    Connection got = Must(store_->GetConnection(team.id, c.id));
    EXPECT_EQ(got.status, ConnectionStatus::kBroken);
    EXPECT_EQ(got.status_detail, "invalid_grant");
    EXPECT_EQ(got.last_verified_at, 5555);
    EXPECT_EQ(got.updated_at, c.updated_at);
    EXPECT_EQ(got.version, 1);

    // Without a verification time, the last one is kept.
    Must(store_->SetConnectionStatus(team.id, c.id, ConnectionStatus::kFailed, "timeout", std::nullopt));
    got = Must(store_->GetConnection(team.id, c.id));
    EXPECT_EQ(got.status, ConnectionStatus::kFailed);
    EXPECT_EQ(got.status_detail, "timeout");
    EXPECT_EQ(got.last_verified_at, 5555);

    EXPECT_TRUE(IsError(store_->SetConnectionStatus(team.id, ConnectionId(999999), ConnectionStatus::kVerified, "", 1),
                        Errc::kNotFound));
}

TEST_P(StoreTest, RenameAndDeleteConnection) {
    const Team team = Must(store_->CreateTeam("Acme"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "old name")));
    const Connection keep = Must(store_->CreateConnection(NewConnection(team.id, "keep")));
    clock_.Advance(std::chrono::seconds(3));

    Must(store_->RenameConnection(team.id, c.id, "new name"));
    const Connection renamed = Must(store_->GetConnection(team.id, c.id));
    EXPECT_EQ(renamed.name, "new name");
    EXPECT_EQ(renamed.updated_at, clock_.NowMillis());
    EXPECT_EQ(renamed.version, 1);
    EXPECT_TRUE(IsError(store_->RenameConnection(team.id, ConnectionId(999999), "x"), Errc::kNotFound));

    Must(store_->DeleteConnection(team.id, c.id));
    EXPECT_TRUE(IsError(store_->GetConnection(team.id, c.id), Errc::kNotFound));
    EXPECT_TRUE(IsError(store_->DeleteConnection(team.id, c.id), Errc::kNotFound));
    auto left = Must(store_->ListConnections(team.id, Page{}));
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].id, keep.id);
}

TEST_P(StoreTest, RewrapIsFencedOnVersionAndKeyId) {
    const Team a = Must(store_->CreateTeam("A"));
    const Team b = Must(store_->CreateTeam("B"));
    const Connection c1 = Must(store_->CreateConnection(NewConnection(a.id, "one")));
    const Connection c2 = Must(store_->CreateConnection(NewConnection(b.id, "two")));
    const Connection c3 = Must(store_->CreateConnection(NewConnection(a.id, "three")));

    auto batch = Must(store_->ListAllConnectionsForRewrap(ConnectionId(0), 2));
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0].id, c1.id);
    EXPECT_EQ(batch[1].id, c2.id);
    EXPECT_EQ(batch[1].team_id, b.id);
    EXPECT_EQ(batch[1].sealed.wrapped_key, "wrapped-two");
    auto rest = Must(store_->ListAllConnectionsForRewrap(batch.back().id, 2));
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].id, c3.id);
    EXPECT_TRUE(Must(store_->ListAllConnectionsForRewrap(c3.id, 2)).empty());

    EXPECT_TRUE(Must(store_->RewrapConnectionKey(c1.id, 1, "k1", "k2", "rewrapped-one")));
    const Connection r1 = Must(store_->GetConnection(a.id, c1.id));
    EXPECT_EQ(r1.sealed.key_id, "k2");
    EXPECT_EQ(r1.sealed.wrapped_key, "rewrapped-one");
    EXPECT_EQ(r1.sealed.ciphertext, "cipher-one");
    EXPECT_EQ(r1.version, 1);

    // Already re-wrapped (old key id no longer matches): the fence refuses.
    EXPECT_FALSE(Must(store_->RewrapConnectionKey(c1.id, 1, "k1", "k3", "again")));
    EXPECT_EQ(Must(store_->GetConnection(a.id, c1.id)).sealed.wrapped_key, "rewrapped-one");

    // Edited after the rotation read it (version moved on): the fence refuses, the edit survives.
    Must(store_->ReplaceConnection(b.id, c2.id, 1, Replacement(SealedData{"k1", "edited-w", "edited-c"}, "", "")));
    EXPECT_FALSE(Must(store_->RewrapConnectionKey(c2.id, 1, "k1", "k2", "stale")));
    const Connection r2 = Must(store_->GetConnection(b.id, c2.id));
    EXPECT_EQ(r2.sealed.key_id, "k1");
    EXPECT_EQ(r2.sealed.wrapped_key, "edited-w");
    EXPECT_FALSE(Must(store_->RewrapConnectionKey(ConnectionId(999999), 1, "k1", "k2", "x")));
}

TEST_P(StoreTest, AuditAppendAndList) {
    const Team team = Must(store_->CreateTeam("Acme"));
    const Team other = Must(store_->CreateTeam("Other"));
    const User ann = Must(store_->CreateUser("ann@example.com", "Ann"));
    for (int i = 0; i < 5; ++i) {
        AuditEvent e;
        e.team_id = team.id;
        e.user_id = ann.id;
        e.action = "connection.create";
        e.target = "connection:" + std::to_string(i);
        e.detail_json = R"({"i":)" + std::to_string(i) + "}";
        Must(store_->AppendAudit(e));
        clock_.Advance(std::chrono::seconds(1));
    }
    AuditEvent system;
    system.action = "keys.rotate";
    system.target = "keyring";
    system.created_at = 42;
    Must(store_->AppendAudit(system));
    AuditEvent elsewhere;
    elsewhere.team_id = other.id;
    elsewhere.action = "token.create";
    elsewhere.target = "token:1";
    Must(store_->AppendAudit(elsewhere));

    auto events = Must(store_->ListAudit(team.id, Page{}));
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].target, "connection:4");  // newest first
    EXPECT_EQ(events[4].target, "connection:0");
    EXPECT_EQ(events[4].detail_json, R"({"i":0})");
    EXPECT_EQ(events[4].team_id, team.id);
    EXPECT_EQ(events[4].user_id, ann.id);
    EXPECT_EQ(events[4].action, "connection.create");
    EXPECT_EQ(events[4].created_at, events[0].created_at - 4000);
    EXPECT_GT(events[0].id, events[4].id);

    auto page = Must(store_->ListAudit(team.id, Page{2, 1}));
    ASSERT_EQ(page.size(), 2u);
    EXPECT_EQ(page[0].target, "connection:3");
    EXPECT_EQ(page[1].target, "connection:2");

    auto outside = Must(store_->ListAudit(TeamId(0), Page{}));
    ASSERT_EQ(outside.size(), 1u);
    EXPECT_EQ(outside[0].action, "keys.rotate");
    EXPECT_EQ(outside[0].team_id.value(), 0);
    EXPECT_EQ(outside[0].user_id.value(), 0);
    EXPECT_EQ(outside[0].created_at, 42);
    EXPECT_EQ(outside[0].detail_json, "{}");

    // Team and user 0 are stored as NULL, not as a fake id.
    auto nulls = Must(store_->db().Exec("SELECT COUNT(*) FROM audit_events WHERE team_id IS NULL AND user_id IS NULL"));
    EXPECT_EQ(nulls.rows.at(0).Int(0), 1);
    auto system_users = Must(store_->db().Exec("SELECT COUNT(*) FROM audit_events WHERE user_id IS NULL"));
    EXPECT_EQ(system_users.rows.at(0).Int(0), 2);

    AuditEvent bad;
    bad.action = "x";
    bad.target = "y";
    bad.detail_json = "not json";
    EXPECT_TRUE(IsError(store_->AppendAudit(bad), Errc::kInvalidArgument));
}

TEST_P(StoreTest, ForeignKeysAreEnforced) {
    auto r = store_->db().Exec("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
                               {std::int64_t{999}, std::int64_t{999}, std::string("admin"), std::int64_t{1}});
    EXPECT_TRUE(IsError(r, Errc::kConflict));
    const Team team = Must(store_->CreateTeam("Acme"));
    const User ann = Must(store_->CreateUser("ann@example.com", "Ann"));
    auto bad_role =
        store_->db().Exec("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
                          {team.id.value(), ann.id.value(), std::string("owner"), std::int64_t{1}});
    EXPECT_TRUE(IsError(bad_role, Errc::kConflict));
    EXPECT_TRUE(Must(store_->ListMembers(team.id)).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST(RecordNames, RolesAndStatusesRoundTrip) {
    for (Role r : {Role::kAdmin, Role::kMember, Role::kOperator, Role::kMonitoring}) {
        EXPECT_EQ(ParseRole(RoleName(r)), r);
    }
    EXPECT_EQ(RoleName(Role::kMonitoring), "monitoring");
    EXPECT_FALSE(ParseRole("owner").has_value());
    EXPECT_FALSE(ParseRole("Admin").has_value());
    for (ConnectionStatus s : {ConnectionStatus::kVerified, ConnectionStatus::kPending, ConnectionStatus::kBroken,
                               ConnectionStatus::kFailed}) {
        EXPECT_EQ(ParseConnectionStatus(ConnectionStatusName(s)), s);
    }
    EXPECT_EQ(ConnectionStatusName(ConnectionStatus::kBroken), "broken");
    EXPECT_FALSE(ParseConnectionStatus("healthy").has_value());
}

TEST_P(StoreTest, CreateSealedConnectionSealsForItsIdInOneTransaction) {
    const Team team = Must(store_->CreateTeam("T"));
    const User user = Must(store_->CreateUser("u@example.com", "U"));
    Connection in = NewConnection(team.id, "sealed");
    in.created_by = user.id;
    in.uid = "acct-1";
    in.sealed = {};
    ConnectionId seen;
    std::int64_t seen_version = 0;
    const Connection c = Must(store_->CreateConnection(in, [&](ConnectionId id, std::int64_t version) {
        seen = id;
        seen_version = version;
        return core::Result<SealedData>(SealedData{"k9", "w-" + std::to_string(id.value()), "c"});
    }));
    EXPECT_EQ(seen, c.id);
    EXPECT_EQ(seen_version, 1);
    const Connection got = Must(store_->FindConnection(c.id));
    EXPECT_EQ(got.sealed.wrapped_key, "w-" + std::to_string(c.id.value()));
    EXPECT_EQ(got.created_by, user.id);
    EXPECT_EQ(got.uid, "acct-1");

    // A failing seal stores nothing.
    auto failed = store_->CreateConnection(NewConnection(team.id, "never"), [](ConnectionId, std::int64_t) {
        return core::Result<SealedData>(core::Internal("seal failed"));
    });
    EXPECT_TRUE(IsError(failed, Errc::kInternal));
    EXPECT_EQ(Must(store_->ListConnections(team.id, Page{})).size(), 1u);
    EXPECT_TRUE(IsError(store_->FindConnection(ConnectionId(987654)), Errc::kNotFound));
}

TEST_P(StoreTest, ListConnectionsFiltersByTypeAndSorts) {
    const Team team = Must(store_->CreateTeam("T"));
    for (const auto& [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"b", "github"}, {"A", "slack"}, {"c", "github"}, {"d", "jira"}}) {
        Connection c = NewConnection(team.id, name);
        c.type = type;
        Must(store_->CreateConnection(c));
        clock_.Advance(std::chrono::milliseconds(5));
    }
    ConnectionQuery q;
    q.types = {"github", "jira"};
    EXPECT_EQ(Names(Must(store_->ListConnections(team.id, q, Page{}))), (std::vector<std::string>{"b", "c", "d"}));
    q.descending = true;
    EXPECT_EQ(Names(Must(store_->ListConnections(team.id, q, Page{}))), (std::vector<std::string>{"d", "c", "b"}));
    q = {};
    q.sort_by = ConnectionSort::kCreated;
    EXPECT_EQ(Names(Must(store_->ListConnections(team.id, q, Page{2, 1}))), (std::vector<std::string>{"A", "c"}));
    q = {};
    EXPECT_EQ(Names(Must(store_->ListConnections(team.id, q, Page{}))), (std::vector<std::string>{"A", "b", "c", "d"}));
}

TEST_P(StoreTest, ReplaceConnectionSwapsEverythingAtOnceBehindTheVersionFence) {
    const Team team = Must(store_->CreateTeam("T"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "x")));
    ConnectionReplacement rep;
    rep.sealed = SealedData{"k2", "w2", "c2"};
    rep.metadata_json = R"({"type":"text","value":"bob"})";
    rep.scopes_json = R"(["a"])";
    rep.uid = "u2";
    rep.status = ConnectionStatus::kFailed;
    rep.status_detail = "401 Unauthorized";
    rep.last_verified_at = 1234;
    rep.expire_at = 99;
    const Connection r = Must(store_->ReplaceConnection(team.id, c.id, c.version, rep));
    EXPECT_EQ(r.version, c.version + 1);
    EXPECT_EQ(r.sealed.ciphertext, "c2");
    EXPECT_EQ(r.uid, "u2");
    EXPECT_EQ(r.status, ConnectionStatus::kFailed);
    EXPECT_EQ(r.status_detail, "401 Unauthorized");
    EXPECT_EQ(r.last_verified_at, 1234);
    EXPECT_EQ(r.expire_at, 99);
    EXPECT_EQ(r.scopes_json, R"(["a"])");
    EXPECT_TRUE(IsError(store_->ReplaceConnection(team.id, c.id, c.version, rep), Errc::kConflict));
    const Team other = Must(store_->CreateTeam("O"));
    EXPECT_TRUE(IsError(store_->ReplaceConnection(other.id, c.id, r.version, rep), Errc::kNotFound));
}

TEST_P(StoreTest, UsageIndexListsCountsAndCascades) {
    const Team team = Must(store_->CreateTeam("T"));
    const Connection a = Must(store_->CreateConnection(NewConnection(team.id, "a")));
    const Connection b = Must(store_->CreateConnection(NewConnection(team.id, "b")));
    Must(store_->UpsertConnectionUsage({a.id, team.id, 7, "Mail to sheet", true, true}));
    Must(store_->UpsertConnectionUsage({a.id, team.id, 8, "Nightly", false, true}));
    Must(store_->UpsertConnectionUsage({b.id, team.id, 7, "Mail to sheet", true, true}));
    Must(store_->UpsertConnectionUsage({a.id, team.id, 8, "Nightly export", true, false}));  // update
    auto usage = Must(store_->ListConnectionUsage(a.id));
    ASSERT_EQ(usage.size(), 2u);
    EXPECT_EQ(usage[1].scenario_name, "Nightly export");
    EXPECT_TRUE(usage[1].active);
    EXPECT_FALSE(usage[1].scheduled);
    auto counts = Must(store_->CountConnectionUsage(team.id));
    EXPECT_EQ(counts[a.id.value()], 2);
    EXPECT_EQ(counts[b.id.value()], 1);
    Must(store_->RemoveScenarioUsage(7));
    EXPECT_EQ(Must(store_->ListConnectionUsage(b.id)).size(), 0u);
    Must(store_->DeleteConnection(team.id, a.id));
    EXPECT_EQ(Must(store_->CountConnectionUsage(team.id)).size(), 0u);
}

TEST_P(StoreTest, OAuthStateIsSingleUseAndSwept) {
    const Team team = Must(store_->CreateTeam("T"));
    const User user = Must(store_->CreateUser("u@example.com", "U"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "pending")));
    OAuthState st;
    st.state_hash = "abc";
    st.team_id = team.id;
    st.user_id = user.id;
    st.connection_id = c.id;
    st.app = "google";
    st.sealed_verifier = "sealed";
    st.scopes_json = R"(["email"])";
    st.purpose = "create";
    st.expires_at = clock_.NowMillis() + 600'000;
    Must(store_->CreateOAuthState(st));
    EXPECT_TRUE(IsError(store_->CreateOAuthState(st), Errc::kConflict));
    const OAuthState got = Must(store_->ConsumeOAuthState("abc"));
    EXPECT_EQ(got.connection_id, c.id);
    EXPECT_EQ(got.user_id, user.id);
    EXPECT_EQ(got.sealed_verifier, "sealed");
    EXPECT_EQ(got.scopes_json, R"(["email"])");
    EXPECT_TRUE(IsError(store_->ConsumeOAuthState("abc"), Errc::kNotFound));  // single use

    st.state_hash = "old";
    st.expires_at = clock_.NowMillis() - 1;
    Must(store_->CreateOAuthState(st));
    st.state_hash = "fresh";
    st.expires_at = clock_.NowMillis() + 1000;
    Must(store_->CreateOAuthState(st));
    EXPECT_EQ(Must(store_->DeleteExpiredOAuthStates(clock_.NowMillis())), 1);
    EXPECT_TRUE(IsError(store_->ConsumeOAuthState("old"), Errc::kNotFound));
    // Deleting the pending connection removes its state too.
    Must(store_->DeleteConnection(team.id, c.id));
    EXPECT_TRUE(IsError(store_->ConsumeOAuthState("fresh"), Errc::kNotFound));
}

TEST_P(StoreTest, RefreshLeaseAdmitsOneHolderAtATime) {
    const Team team = Must(store_->CreateTeam("T"));
    const Connection c = Must(store_->CreateConnection(NewConnection(team.id, "oauth")));
    const std::int64_t now = clock_.NowMillis();
    const auto a = Must(store_->AcquireRefreshLease(c.id, "node-a", now, 30'000));
    ASSERT_TRUE(a.has_value());
    EXPECT_FALSE(Must(store_->AcquireRefreshLease(c.id, "node-b", now + 1000, 30'000)).has_value());
    Must(store_->ReleaseRefreshLease(c.id, "node-a", *a));
    const auto b = Must(store_->AcquireRefreshLease(c.id, "node-b", now + 2000, 30'000));
    ASSERT_TRUE(b.has_value());
    EXPECT_GT(*b, *a);
    // An expired lease (a crashed holder) is taken over.
    const auto c2 = Must(store_->AcquireRefreshLease(c.id, "node-c", now + 40'000, 30'000));
    ASSERT_TRUE(c2.has_value());
    EXPECT_GT(*c2, *b);
    // A stale holder's release does not free the new holder's lease.
    Must(store_->ReleaseRefreshLease(c.id, "node-b", *b));
    EXPECT_FALSE(Must(store_->AcquireRefreshLease(c.id, "node-d", now + 41'000, 30'000)).has_value());
}

TEST_P(StoreTest, ConnectionsDueForRefreshByTokenExpiry) {
    const Team team = Must(store_->CreateTeam("T"));
    const Connection soon = Must(store_->CreateConnection(NewConnection(team.id, "soon")));
    const Connection later = Must(store_->CreateConnection(NewConnection(team.id, "later")));
    const Connection none = Must(store_->CreateConnection(NewConnection(team.id, "none")));
    ConnectionReplacement rep;
    rep.sealed = SealedData{"k", "w", "c"};
    rep.status = ConnectionStatus::kVerified;
    rep.token_expires_at = 1000;
    Must(store_->ReplaceConnection(team.id, soon.id, soon.version, rep));
    rep.token_expires_at = 9000;
    Must(store_->ReplaceConnection(team.id, later.id, later.version, rep));
    (void)none;
    EXPECT_EQ(Names(Must(store_->ListConnectionsDueForRefresh(5000, 10))), std::vector<std::string>{"soon"});
    EXPECT_EQ(Names(Must(store_->ListConnectionsDueForRefresh(10000, 10))),
              (std::vector<std::string>{"soon", "later"}));
}

TEST(MigrationHistory, VersionsAscendAndRenderPerBackend) {
    int previous = 0;
    for (const Migration& m : Migrations()) {
        EXPECT_EQ(m.version, previous + 1);
        previous = m.version;
    }
    EXPECT_EQ(Store::LatestSchemaVersion(), previous);
    EXPECT_EQ(RenderMigrationSql("CREATE TABLE t (id {id_pk}, name {name_text})", Backend::kSqlite),
              "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)");
    EXPECT_EQ(RenderMigrationSql("CREATE TABLE t (id {id_pk}, name {name_text})", Backend::kPostgres),
              "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT COLLATE \"C\")");
}

}  // namespace
}  // namespace switchboard::store::testing

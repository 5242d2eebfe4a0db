#include "accounts/account_service.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::accounts {
namespace {

using store::Role;

class AccountServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto db = store::OpenDb("sqlite:" + dir_.file("a.db"));
        ASSERT_TRUE(db);
        store_ = store::MakeSqlStore(std::move(*db), clock_);
        ASSERT_TRUE(store_->Migrate());
        svc_ = std::make_unique<AccountService>(*store_, clock_, random_);
    }
    Caller Boot(const std::string& email, const std::string& team, Role role, std::string* token = nullptr) {
        auto b = svc_->EnsureUserTeamToken(email, team, role, "t");
        EXPECT_TRUE(b) << b.error().detail;
        if (token) *token = std::string(b->token.token.Reveal());
        return Caller{b->user.id, b->user.email, b->token.record.id};
    }
    core::TeamId TeamOf(const Caller& c) { return svc_->ListTeams(c)->front().id; }

    testing::TempDir dir_;
    core::ManualClock clock_;
    core::SodiumRandom random_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<AccountService> svc_;
};

TEST(Roles, PermissionMatrix) {
    EXPECT_TRUE(RoleAllows(Role::kMonitoring, Permission::kRead));
    EXPECT_FALSE(RoleAllows(Role::kMonitoring, Permission::kRun));
    EXPECT_TRUE(RoleAllows(Role::kOperator, Permission::kRun));
    EXPECT_FALSE(RoleAllows(Role::kOperator, Permission::kWrite));
    EXPECT_TRUE(RoleAllows(Role::kMember, Permission::kWrite));
    EXPECT_FALSE(RoleAllows(Role::kMember, Permission::kAdmin));
    EXPECT_TRUE(RoleAllows(Role::kAdmin, Permission::kAdmin));
}

TEST_F(AccountServiceTest, AuthenticatesTokenAndBearerAndRejectsTheRest) {
    std::string token;
    Caller c = Boot("ana@example.com", "Ops", Role::kAdmin, &token);
    auto a = svc_->Authenticate("Token " + token);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->user, c.user);
    EXPECT_TRUE(svc_->Authenticate("bearer " + token));
    for (const std::string& bad :
         std::vector<std::string>{"", "Token", "Token ", "Basic " + token, "Token " + token + "x", "Token sbt_",
                                  "Token " + token.substr(4)}) {
        auto r = svc_->Authenticate(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, core::Errc::kUnauthenticated);
    }
    // The store keeps only the hash.
    auto found = store_->FindTokenByHash(core::Sha256Hex(token));
    ASSERT_TRUE(found && *found);
    EXPECT_EQ((*found)->token_hash.find(token), std::string::npos);
    ASSERT_TRUE(svc_->RevokeApiToken(c, c.token));
    EXPECT_FALSE(svc_->Authenticate("Token " + token));
}

TEST_F(AccountServiceTest, TokenUseIsRecordedAtMostOnceAMinute) {
    std::string token;
    Boot("ana@example.com", "Ops", Role::kAdmin, &token);
    ASSERT_TRUE(svc_->Authenticate("Token " + token));
    auto t = *store_->FindTokenByHash(core::Sha256Hex(token));
    ASSERT_TRUE(t->last_used_at);
    const auto first = *t->last_used_at;
    clock_.Advance(std::chrono::seconds(30));
    ASSERT_TRUE(svc_->Authenticate("Token " + token));
    EXPECT_EQ(*(*store_->FindTokenByHash(core::Sha256Hex(token)))->last_used_at, first);
    clock_.Advance(std::chrono::seconds(31));
    ASSERT_TRUE(svc_->Authenticate("Token " + token));
    EXPECT_GT(*(*store_->FindTokenByHash(core::Sha256Hex(token)))->last_used_at, first);
}

TEST_F(AccountServiceTest, OutsidersAndLowRolesAreDenied) {
    Caller admin = Boot("admin@a.test", "Alpha", Role::kAdmin);
    Caller mon = Boot("mon@a.test", "Alpha", Role::kMonitoring);
    Caller other = Boot("boss@b.test", "Beta", Role::kAdmin);
    const core::TeamId alpha = TeamOf(admin);
    EXPECT_TRUE(svc_->ListMembers(mon, alpha));
    EXPECT_EQ(svc_->ListMembers(other, alpha).error().code, core::Errc::kPermissionDenied);
    EXPECT_EQ(svc_->GetTeam(other, alpha).error().code, core::Errc::kPermissionDenied);
    EXPECT_EQ(svc_->AddMember(mon, alpha, "x@a.test", Role::kAdmin).error().code, core::Errc::kPermissionDenied);
    EXPECT_EQ(svc_->AddMember(other, alpha, "x@a.test", Role::kAdmin).error().code, core::Errc::kPermissionDenied);
    EXPECT_EQ(svc_->Authorize(mon, alpha, Permission::kRun).error().code, core::Errc::kPermissionDenied);
    EXPECT_TRUE(svc_->Authorize(mon, alpha, Permission::kRead));
    // Same answer for a team that does not exist.
    EXPECT_EQ(svc_->GetTeam(admin, core::TeamId{999}).error().code, core::Errc::kPermissionDenied);
}

TEST_F(AccountServiceTest, TeamKeepsAnAdmin) {
    Caller admin = Boot("admin@a.test", "Alpha", Role::kAdmin);
    const core::TeamId alpha = TeamOf(admin);
    EXPECT_EQ(svc_->RemoveMember(admin, alpha, admin.user).error().code, core::Errc::kConflict);
    EXPECT_EQ(svc_->AddMember(admin, alpha, "admin@a.test", Role::kMember).error().code, core::Errc::kConflict);
    auto second = svc_->AddMember(admin, alpha, "second@a.test", Role::kAdmin);
    ASSERT_TRUE(second);
    EXPECT_TRUE(svc_->AddMember(admin, alpha, "admin@a.test", Role::kMember));  // now allowed
    EXPECT_EQ(svc_->ListMembers(admin, alpha)->size(), 2u);
    EXPECT_EQ(svc_->AddMember(admin, alpha, "not-an-email", Role::kMember).error().code,
              core::Errc::kPermissionDenied);  // admin is a member now
}

TEST_F(AccountServiceTest, EnsureUserTeamTokenIsIdempotentAndChangesRole) {
    Caller a = Boot("ana@example.com", "Ops", Role::kMember);
    Caller b = Boot("ana@example.com", "Ops", Role::kOperator);
    EXPECT_EQ(a.user, b.user);
    EXPECT_NE(a.token, b.token);
    auto teams = svc_->ListTeams(a);
    ASSERT_EQ(teams->size(), 1u);
    auto m = store_->GetMembership(teams->front().id, a.user);
    ASSERT_TRUE(m && *m);
    EXPECT_EQ((*m)->role, Role::kOperator);
    EXPECT_EQ(svc_->EnsureUserTeamToken("bad", "Ops", Role::kAdmin, "").error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(svc_->EnsureUserTeamToken("a@b.c", "", Role::kAdmin, "").error().code, core::Errc::kInvalidArgument);
}

}  // namespace
}  // namespace switchboard::accounts

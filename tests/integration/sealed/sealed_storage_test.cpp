// Credentials sealed through the vault and stored by both backends: the secret never appears in the raw
// database bytes or the logs; a row that cannot be opened breaks only its own connection.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "connections/credential_store.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "store/store.hpp"
#include "support/connection_fixtures.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"

namespace switchboard::testing {
namespace {

constexpr const char* kSecret = "s3cr3t-CANARY-7f1c9a0e5b";

bool FileContains(const std::filesystem::path& p, const std::string& needle) {
    return ReadFile(p).find(needle) != std::string::npos;
}

// Every regular file under dir that contains needle.
std::vector<std::string> FilesContaining(const std::filesystem::path& dir, const std::string& needle) {
    std::vector<std::string> hits;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (e.is_regular_file() && FileContains(e.path(), needle)) hits.push_back(e.path().string());
    }
    return hits;
}

class SealedStorage : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        SetupLogging();
        if (GetParam() == "sqlite") {
            url_ = "sqlite:" + dir_.file("sb.db");
        } else {
            url_ = PostgresServer::Shared().CreateDatabase("sealed");
        }
        auto db = store::OpenDb(url_);
        ASSERT_TRUE(db) << db.error().detail;
        store_ = store::MakeSqlStore(std::move(*db), clock_);
        ASSERT_TRUE(store_->Migrate());
        ring_ = std::move(*vault::KeyRing::FromText(core::Base64Encode(random_.Bytes(32)), "test"));
        vault_ = std::make_unique<vault::Vault>(*ring_, random_);
        creds_ = std::make_unique<connections::CredentialStore>(*store_, *vault_);
        auto team = store_->CreateTeam("Ops");
        ASSERT_TRUE(team);
        team_ = team->id;
    }
    void SetupLogging() {
        core::SetupLogging("debug");
        core::AddLogFile(dir_.file("log.txt"));
    }

    TempDir dir_;
    std::string url_;
    core::SystemClock clock_;
    core::SodiumRandom random_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<vault::KeyRing> ring_;
    std::unique_ptr<vault::Vault> vault_;
    std::unique_ptr<connections::CredentialStore> creds_;
    core::TeamId team_;
};

TEST_P(SealedStorage, KnownSecretAppearsNowhereInTheRawDatabaseOrTheLogs) {
    const std::string data = std::string(R"({"apiKey":")") + kSecret + R"(","user":"ana"})";
    std::vector<store::Connection> made;
    for (int i = 0; i < 20; ++i) {
        auto c = creds_->Create(ApiKeyConnection(team_, "conn " + std::to_string(i)), core::Secret(data));
        ASSERT_TRUE(c) << c.error().detail;
        made.push_back(*c);
    }
    // Edit one: the replacement is sealed afresh, the old ciphertext is gone.
    auto replaced = creds_->Replace(made[0], core::Secret(data), {});
    ASSERT_TRUE(replaced);
    EXPECT_EQ(replaced->version, made[0].version + 1);
    auto reread = store_->GetConnection(team_, made[0].id);
    ASSERT_TRUE(reread);
    auto opened = creds_->Open(*reread);
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_EQ(opened->Reveal(), data);  // the canary is really stored, sealed

    spdlog::info("stored connection {} with {} for {}", made[0].id.value(), "apiKey=" + std::string(kSecret), "ana");
    spdlog::default_logger()->flush();
    store_.reset();  // close the database so every page is on disk

    std::vector<std::string> hits;
    if (GetParam() == "sqlite") {
        hits = FilesContaining(dir_.path(), kSecret);
        ASSERT_TRUE(std::filesystem::exists(dir_.file("sb.db")));
    } else {
        PostgresServer::Shared().Checkpoint();
        hits = FilesContaining(PostgresServer::Shared().data_dir(), kSecret);
    }
    EXPECT_TRUE(hits.empty()) << "secret found in " << hits.front();
    // The log file exists, has our line, and the value is redacted.
    const std::string log = ReadFile(dir_.file("log.txt"));
    EXPECT_NE(log.find("stored connection"), std::string::npos);
    EXPECT_EQ(log.find(kSecret), std::string::npos);
}

TEST_P(SealedStorage, ARowThatCannotBeOpenedBreaksOnlyItsConnection) {
    auto good = creds_->Create(ApiKeyConnection(team_, "good"), core::Secret(R"({"apiKey":"a"})"));
    auto bad = creds_->Create(ApiKeyConnection(team_, "bad"), core::Secret(R"({"apiKey":"b"})"));
    ASSERT_TRUE(good && bad);
    // Copy the good row's sealed data onto the bad row: the binding to the connection id must refuse it.
    ASSERT_TRUE(store_->db().Exec("UPDATE connections SET wrapped_key = $1, ciphertext = $2 WHERE id = $3",
                                  {good->sealed.wrapped_key, good->sealed.ciphertext, bad->id.value()}));
    auto bad_row = store_->GetConnection(team_, bad->id);
    ASSERT_TRUE(bad_row);
    EXPECT_FALSE(creds_->Open(*bad_row));

    auto list = store_->ListConnections(team_, {});
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    for (const auto& c : *list) {
        if (c.id == bad->id) {
            EXPECT_EQ(c.status, store::ConnectionStatus::kBroken);
            EXPECT_NE(c.status_detail.find("cannot be opened"), std::string::npos) << c.status_detail;
        } else {
            EXPECT_EQ(c.status, store::ConnectionStatus::kUnverified);
            auto opened = creds_->Open(c);
            ASSERT_TRUE(opened);
            EXPECT_EQ(opened->Reveal(), R"({"apiKey":"a"})");
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, SealedStorage, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace switchboard::testing

#include "vault/vault.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/encoding.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"

namespace switchboard::vault {
namespace {

using core::Secret;

std::unique_ptr<KeyRing> RingFromKey(const std::string& raw) {
    auto r = KeyRing::FromText(core::Base64Encode(raw), "test");
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return std::move(*r);
}

TEST(Vault, SealOpenRoundTripAndCiphertextHidesPlaintext) {
    core::SeededRandom random(1);
    auto ring = RingFromKey(std::string(32, 'k'));
    Vault v(*ring, random);
    const Binding b{core::TeamId{1}, core::ConnectionId{10}, 1};
    const Secret plain(R"({"apiKey":"very-secret-api-key-value"})");
    auto sealed = v.Seal(b, plain);
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->key_id, ring->active_id());
    EXPECT_EQ(sealed->ciphertext.find("very-secret"), std::string::npos);
    auto raw = core::Base64Decode(sealed->ciphertext);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->find("very-secret"), std::string::npos);
    auto opened = v.Open(b, *sealed);
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_TRUE(*opened == plain);
}

TEST(Vault, CiphertextBoundToTeamConnectionAndVersion) {
    core::SeededRandom random(2);
    auto ring = RingFromKey(std::string(32, 'k'));
    Vault v(*ring, random);
    const Binding b{core::TeamId{1}, core::ConnectionId{10}, 3};
    auto sealed = v.Seal(b, Secret("data"));
    ASSERT_TRUE(sealed);
    for (const Binding& other :
         {Binding{core::TeamId{2}, core::ConnectionId{10}, 3}, Binding{core::TeamId{1}, core::ConnectionId{11}, 3},
          Binding{core::TeamId{1}, core::ConnectionId{10}, 4}}) {
        auto opened = v.Open(other, *sealed);
        ASSERT_FALSE(opened);
        EXPECT_EQ(opened.error().code, core::Errc::kPermissionDenied);
    }
    // Swapping the data ciphertext of two rows fails too, even with each row's own wrapped key.
    auto sealed2 = v.Seal(b, Secret("other"));
    ASSERT_TRUE(sealed2);
    SealedData mixed = *sealed;
    mixed.ciphertext = sealed2->ciphertext;
    EXPECT_FALSE(v.Open(b, mixed));
}

TEST(Vault, TamperedCiphertextFails) {
    core::SeededRandom random(3);
    auto ring = RingFromKey(std::string(32, 'k'));
    Vault v(*ring, random);
    const Binding b{core::TeamId{1}, core::ConnectionId{1}, 1};
    auto sealed = v.Seal(b, Secret("data"));
    ASSERT_TRUE(sealed);
    auto raw = *core::Base64Decode(sealed->ciphertext);
    raw.back() ^= 1;
    SealedData bad = *sealed;
    bad.ciphertext = core::Base64Encode(raw);
    EXPECT_FALSE(v.Open(b, bad));
    bad.ciphertext = "%%%";
    EXPECT_EQ(v.Open(b, bad).error().code, core::Errc::kInvalidArgument);
}

TEST(Vault, WrongMasterKeyIsRecognisedById) {
    core::SeededRandom random(4);
    auto ring = RingFromKey(std::string(32, 'a'));
    auto other = RingFromKey(std::string(32, 'b'));
    EXPECT_NE(ring->active_id(), other->active_id());
    Vault v(*ring, random);
    Vault w(*other, random);
    const Binding b{core::TeamId{1}, core::ConnectionId{1}, 1};
    auto sealed = v.Seal(b, Secret("data"));
    ASSERT_TRUE(sealed);
    auto opened = w.Open(b, *sealed);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, core::Errc::kNotFound);
}

TEST(KeyRing, FileIsCreatedWith0600AndReloads) {
    testing::TempDir dir;
    core::SodiumRandom random;
    const auto path = dir.path() / "master.key";
    auto ring = KeyRing::CreateFile(path, random);
    ASSERT_TRUE(ring);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(KeyRing::CreateFile(path, random));  // never over an existing file

    auto again = KeyRing::FromFile(path);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->active_id(), (*ring)->active_id());

    ::chmod(path.c_str(), 0644);
    auto loose = KeyRing::FromFile(path);
    ASSERT_FALSE(loose);
    EXPECT_EQ(loose.error().code, core::Errc::kPermissionDenied);
}

TEST(KeyRing, RotateRewrapsAndAnotherInstancePicksUpTheNewKey) {
    testing::TempDir dir;
    core::SodiumRandom random;
    const auto path = dir.path() / "master.key";
    auto server_ring = std::move(*KeyRing::CreateFile(path, random));
    Vault server(*server_ring, random);
    const Binding b{core::TeamId{5}, core::ConnectionId{6}, 2};
    auto sealed = server.Seal(b, Secret("payload"));
    ASSERT_TRUE(sealed);

    // A second process (switchboard keys rotate) rotates and re-wraps.
    auto cli_ring = std::move(*KeyRing::FromFile(path));
    auto new_id = cli_ring->Rotate(random);
    ASSERT_TRUE(new_id);
    EXPECT_NE(*new_id, sealed->key_id);
    Vault cli(*cli_ring, random);
    auto rewrapped = cli.Rewrap(b, *sealed);
    ASSERT_TRUE(rewrapped);
    EXPECT_EQ(rewrapped->key_id, *new_id);
    EXPECT_EQ(rewrapped->ciphertext, sealed->ciphertext);  // data untouched

    // The running server has never seen the new key: it reloads the file on the unknown id.
    auto opened = server.Open(b, *rewrapped);
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_EQ(opened->Reveal(), "payload");
    // The old wrap still opens too (old keys stay in the ring until retired).
    EXPECT_TRUE(server.Open(b, *sealed));
}

TEST(KeyRing, RejectsMalformedText) {
    EXPECT_FALSE(KeyRing::FromText("", "env"));
    EXPECT_FALSE(KeyRing::FromText("c2hvcnQ=", "env"));  // "short"
    EXPECT_FALSE(KeyRing::FromText("{\"keys\":[]}", "env"));
    EXPECT_FALSE(KeyRing::FromText("{not json", "env"));
    auto mismatched = KeyRing::FromText(
        "{\"keys\":[{\"id\":\"k-000000000000\",\"key\":\"" + core::Base64Encode(std::string(32, 'x')) + "\"}]}", "env");
    ASSERT_FALSE(mismatched);
    EXPECT_NE(mismatched.error().detail.find("does not match"), std::string::npos);
    auto ring = KeyRing::FromText(core::Base64Encode(std::string(32, 'x')), "SWITCHBOARD_MASTER_KEY");
    ASSERT_TRUE(ring);
    core::SodiumRandom random;
    EXPECT_EQ((*ring)->Rotate(random).error().code, core::Errc::kInvalidArgument);
}

}  // namespace
}  // namespace switchboard::vault

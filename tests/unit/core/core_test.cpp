#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <type_traits>

#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::core {
namespace {

// A type is streamable when `os << value` compiles.
template <class T, class = void>
struct IsStreamable : std::false_type {};
template <class T>
struct IsStreamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

TEST(Secret, CannotBeFormattedOrStreamed) {
    static_assert(!fmt::is_formattable<Secret>::value, "a Secret must not be formattable");
    static_assert(!IsStreamable<Secret>::value, "a Secret must not be streamable");
    static_assert(IsStreamable<std::string>::value, "the detector must see a streamable type");
    SUCCEED();
}

TEST(Secret, ComparesByValue) {
    Secret a("hunter2"), b("hunter2"), c("hunter3"), d("hunter22");
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c);
    EXPECT_FALSE(a == d);
    EXPECT_FALSE(d.Equals("hunter2"));
    EXPECT_TRUE(Secret().Equals(""));
}

TEST(Secret, MovedFromIsEmpty) {
    Secret a("value");
    Secret b(std::move(a));
    EXPECT_EQ(b.Reveal(), "value");
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the move wipes the source
    Secret c("other");
    c = std::move(b);
    EXPECT_EQ(c.Reveal(), "value");
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Result, CarriesErrorCodeAndDetail) {
    auto f = [](int x) -> Result<int> {
        if (x < 0) return InvalidArgument("x must be positive");
        return x * 2;
    };
    ASSERT_TRUE(f(2));
    EXPECT_EQ(*f(2), 4);
    auto bad = f(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(bad.error().detail, "x must be positive");
    EXPECT_THROW((void)bad.value(), ErrorException);
    EXPECT_EQ(ErrcName(Errc::kNotFound), "not_found");
}

TEST(Ids, AreDistinctTypes) {
    static_assert(!std::is_convertible_v<TeamId, ConnectionId>);
    static_assert(!std::is_convertible_v<std::int64_t, TeamId>);
    EXPECT_LT(TeamId{1}, TeamId{2});
    EXPECT_FALSE(TeamId{}.valid());
    EXPECT_TRUE(UserId{7}.valid());
}

TEST(Clock, ManualClockAdvances) {
    ManualClock clock(1000);
    EXPECT_EQ(clock.NowMillis(), 1000);
    clock.Advance(std::chrono::milliseconds(250));
    EXPECT_EQ(clock.NowMillis(), 1250);
    EXPECT_EQ(FormatIso8601(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
}

TEST(Random, SeededIsDeterministicAndSodiumIsNot) {
    SeededRandom a(42), b(42), c(43);
    EXPECT_EQ(a.Bytes(16), b.Bytes(16));
    EXPECT_NE(SeededRandom(42).Bytes(16), c.Bytes(16));
    SodiumRandom s;
    EXPECT_NE(s.Bytes(32), s.Bytes(32));
    EXPECT_EQ(s.Token(32).size(), 43u);  // unpadded base64url of 32 bytes
}

TEST(Encoding, Base64RoundTripAndSha256) {
    const std::string bytes("\x00\x01\xfe\xffhello", 9);
    auto back = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes);
    EXPECT_FALSE(Base64Decode("not base64!!"));
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Log, RedactsTokensAuthorizationAndSecretFields) {
    EXPECT_EQ(Redact("token sbt_AbC-123_x used"), "token sbt_[redacted] used");
    EXPECT_EQ(Redact("Authorization: Bearer abc.def"), "Authorization: Bearer [redacted]");
    EXPECT_EQ(Redact(R"({"apiKey":"k-123","name":"x"})"), R"({"apiKey":"[redacted]","name":"x"})");
    EXPECT_EQ(Redact("password=hunter2&user=bob"), "password=[redacted]&user=bob");
    EXPECT_EQ(Redact("nothing secret here"), "nothing secret here");
}

TEST(Log, LinesWrittenThroughSpdlogAreRedacted) {
    testing::TempDir dir;
    SetupLogging("info");
    AddLogFile(dir.file("log.txt"));
    spdlog::info("client sent Authorization: Token sbt_SECRETVALUE123 and {}", "client_secret=topsecret42");
    spdlog::default_logger()->flush();
    const std::string text = testing::ReadFile(dir.file("log.txt"));
    EXPECT_NE(text.find("client sent"), std::string::npos);
    EXPECT_EQ(text.find("SECRETVALUE123"), std::string::npos);
    EXPECT_EQ(text.find("topsecret42"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::core

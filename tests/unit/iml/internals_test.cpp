// The building blocks under the template functions: regular expressions, dates and time zones, digests,
// number text and UTF-8.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

#include "core/encoding.hpp"
#include "iml/dates.hpp"
#include "iml/hash.hpp"
#include "iml/regex.hpp"
#include "iml/timezone.hpp"
#include "iml/utf8.hpp"
#include "iml/values.hpp"

namespace switchboard::iml {
namespace {

namespace json = boost::json;

// ---- regular expressions ----

// The whole match and each group ("-" for a group that did not take part); "no match" when none.
std::string Find(std::string_view pattern, std::string_view flags, std::string_view text, std::size_t from = 0) {
    auto re = Regex::Compile(pattern, flags);
    if (!re) return "error: " + re.error().detail;
    std::uint64_t steps = 1'000'000;
    auto m = re->Search(text, from, steps);
    if (!m) return "error: " + m.error().detail;
    if (!*m) return "no match";
    std::string out;
    for (std::size_t g = 0; g <= re->group_count(); ++g) {
        if (g > 0) out += "|";
        const auto s = (*m)->slots[g * 2];
        const auto e = (*m)->slots[g * 2 + 1];
        out += s < 0 ? "-" : std::string(text.substr(static_cast<std::size_t>(s), static_cast<std::size_t>(e - s)));
    }
    return out;
}

TEST(Regex, MatchesLeftmostFirstLikeJavaScript) {
    EXPECT_EQ(Find("a|ab", "", "xab"), "a");
    EXPECT_EQ(Find("(a+)(a*)", "", "aaa"), "aaa|aaa|");
    EXPECT_EQ(Find("(a+?)(a*)", "", "aaa"), "aaa|a|aa");
    EXPECT_EQ(Find("a*?", "", "aaa"), "");
    EXPECT_EQ(Find("(\\d+)-(\\d+)", "", "tel 555-1234 x"), "555-1234|555|1234");
    EXPECT_EQ(Find("(x)?y", "", "y"), "y|-");
    EXPECT_EQ(Find("colou?r", "", "my color"), "color");
    EXPECT_EQ(Find("a{2,3}", "", "aaaa"), "aaa");
    EXPECT_EQ(Find("a{2}", "", "a aa"), "aa");
    EXPECT_EQ(Find("a{2,}", "", "aaaaa"), "aaaaa");
    EXPECT_EQ(Find("a{,2}", "", "a{,2}"), "a{,2}");  // not a quantifier: literal, as in JavaScript
    EXPECT_EQ(Find("(?:ab)+", "", "ababa"), "abab");
    EXPECT_EQ(Find("(?<year>\\d{4})", "", "in 2024"), "2024|2024");
    EXPECT_EQ(Find("z", "", "abc"), "no match");
    EXPECT_EQ(Find("b", "", "abcb", 2), "b");
}

TEST(Regex, ClassesEscapesAndAnchors) {
    EXPECT_EQ(Find("[a-c]+", "", "xxbcaz"), "bca");
    EXPECT_EQ(Find("[^0-9 ]+", "", "12 ab3"), "ab");
    EXPECT_EQ(Find("[\\d.]+", "", "v1.25b"), "1.25");
    EXPECT_EQ(Find("[a\\-z]+", "", "b-za"), "-za");
    EXPECT_EQ(Find("[-a]+", "", "b-a"), "-a");
    EXPECT_EQ(Find("\\w+\\s\\w+", "", "!! hello world"), "hello world");
    EXPECT_EQ(Find("\\D+", "", "12ab3"), "ab");
    EXPECT_EQ(Find("\\S+", "", "  xy "), "xy");
    EXPECT_EQ(Find("\\bcat\\b", "", "concat cat"), "cat");
    EXPECT_EQ(Find("\\Bcat", "", "concat cat"), "cat");
    EXPECT_EQ(Find("^b", "", "a\nb"), "no match");
    EXPECT_EQ(Find("^b", "m", "a\nb"), "b");
    EXPECT_EQ(Find("a$", "m", "a\nb"), "a");
    EXPECT_EQ(Find("a.b", "", "a\nb"), "no match");
    EXPECT_EQ(Find("a.b", "s", "a\nb"), "a\nb");
    EXPECT_EQ(Find("\\x41\\u0042\\u{43}", "", "ABC"), "ABC");
    EXPECT_EQ(Find("\\.\\*\\/", "", "a.*/b"), ".*/");
    EXPECT_EQ(Find("[]", "", "abc"), "no match");
    EXPECT_EQ(Find("\\t", "", "a\tb"), "\t");
}

TEST(Regex, UnicodeAndCaseInsensitivity) {
    EXPECT_EQ(Find("h.llo", "", "héllo"), "héllo");
    EXPECT_EQ(Find("[à-ÿ]+", "", "voilà!"), "à");
    EXPECT_EQ(Find("HELLO", "i", "say hello"), "hello");
    EXPECT_EQ(Find("É", "i", "café"), "é");
    EXPECT_EQ(Find("[A-Z]+", "i", "abc"), "abc");
}

TEST(Regex, RejectsWhatItCannotRun) {
    EXPECT_NE(Find("(a", "", "").find("missing )"), std::string::npos);
    EXPECT_NE(Find("a)", "", "").find("unmatched ')'"), std::string::npos);
    EXPECT_NE(Find("*a", "", "").find("nothing to repeat"), std::string::npos);
    EXPECT_NE(Find("a**", "", "").find("nothing to repeat"), std::string::npos);
    EXPECT_NE(Find("(?=a)", "", "").find("lookahead is not supported"), std::string::npos);
    EXPECT_NE(Find("(?<!a)", "", "").find("lookbehind is not supported"), std::string::npos);
    EXPECT_NE(Find("(a)\\1", "", "").find("backreferences are not supported"), std::string::npos);
    EXPECT_NE(Find("[z-a]", "", "").find("range out of order"), std::string::npos);
    EXPECT_NE(Find("[abc", "", "").find("missing ]"), std::string::npos);
    EXPECT_NE(Find("a", "x", "").find("invalid regular expression flag 'x'"), std::string::npos);
    EXPECT_NE(Find("(a{1000}){1000}", "", "").find("too complex"), std::string::npos);
    EXPECT_NE(Find("a{1001}", "", "").find("repeat count over 1000"), std::string::npos);
    EXPECT_NE(Find(std::string(5000, 'a'), "", "").find("longer than 4096"), std::string::npos);
    std::string deep(100, '(');
    deep += std::string(100, ')');
    EXPECT_NE(Find(deep, "", "").find("nested too deeply"), std::string::npos);
}

TEST(Regex, RunsInBoundedWork) {
    auto re = Regex::Compile("(a*)*b", "");
    ASSERT_TRUE(re);
    const std::string text(20000, 'a');
    std::uint64_t steps = 10'000'000;
    auto m = re->Search(text, 0, steps);
    ASSERT_TRUE(m);  // linear: finishes well within the budget although it never matches
    EXPECT_FALSE(*m);
    std::uint64_t few = 100;
    auto out = re->Search(text, 0, few);
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().detail.find("work limit"), std::string::npos);
    // Each search pays for its setup, proportional to the pattern, even when it matches at once.
    auto large = Regex::Compile("a|(?:b{1000}){9}", "");
    ASSERT_TRUE(large);
    std::uint64_t budget = 5000;
    EXPECT_FALSE(large->Search("a", 0, budget));
}

TEST(Regex, SplitsLiterals) {
    auto parts = Regex::SplitLiteral("/\\d+/gi");
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->first, "\\d+");
    EXPECT_EQ(parts->second, "gi");
    EXPECT_TRUE(Regex::SplitLiteral("/a/b/"));  // pattern "a/b"
    EXPECT_FALSE(Regex::SplitLiteral("//"));
    EXPECT_FALSE(Regex::SplitLiteral("/x"));
    EXPECT_FALSE(Regex::SplitLiteral("/x/q"));
    EXPECT_FALSE(Regex::SplitLiteral("x/y/"));
}

// ---- dates ----

TEST(Dates, CivilDaysRoundTrip) {
    EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
    EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
    EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
    for (std::int64_t d = -800000; d <= 800000; d += 997) {
        const CivilDate c = CivilFromDays(d);
        ASSERT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
    }
    EXPECT_EQ(WeekdayFromDays(0), 4);   // Thursday
    EXPECT_EQ(WeekdayFromDays(-1), 3);  // Wednesday
    EXPECT_TRUE(IsLeapYear(2000));
    EXPECT_FALSE(IsLeapYear(1900));
    EXPECT_EQ(DaysInMonth(2024, 2), 29);
}

std::optional<std::int64_t> ParseUtc(std::string_view text) { return ParseDateText(text, TimeZone::Utc()); }

TEST(Dates, ParsesIsoAndRfc2822) {
    EXPECT_EQ(ParseUtc("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(ParseUtc("1970-01-01T00:00:00.123456Z"), 123);
    EXPECT_EQ(ParseUtc("1970-01-01 01:00:00+01:00"), 0);
    EXPECT_EQ(ParseUtc("1970-01-01T01:00+0100"), 0);
    EXPECT_EQ(ParseUtc("1970-01-02"), 86'400'000);
    EXPECT_EQ(ParseUtc("1970-02"), 31LL * 86'400'000);
    EXPECT_EQ(ParseUtc("1970"), 0);
    EXPECT_EQ(ParseUtc("1970-01-01T24:00:00Z"), 86'400'000);
    EXPECT_EQ(ParseUtc("-000001-01-01T00:00:00Z"), DaysFromCivil(-1, 1, 1) * 86'400'000);
    EXPECT_EQ(ParseUtc("Thu, 01 Jan 1970 00:00:10 GMT"), 10'000);
    EXPECT_EQ(ParseUtc("1 Jan 1970 00:00 -0100"), 3'600'000);
    EXPECT_EQ(ParseUtc("Thu, 01 Jan 1970 00:00:00 +0000 (UTC)"), 0);
    for (const char* bad : {"2024-02-30", "2024-1-1", "2024-03-01T25:00", "2024-03-01T10", "2024-03-01Tx",
                            "2024-03-01 junk", "Funday, 01 Jan 1970 00:00:00 GMT", "", "12345"}) {
        EXPECT_FALSE(ParseUtc(bad)) << bad;
    }
}

TEST(Dates, FormatsIsoLikeJavaScript) {
    EXPECT_EQ(FormatIsoMillis(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(FormatIsoMillis(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(FormatIsoMillis(kMaxDateMillis), "+275760-09-13T00:00:00.000Z");
    EXPECT_EQ(FormatIsoMillis(-kMaxDateMillis), "-271821-04-20T00:00:00.000Z");
}

TEST(Dates, ParsesWithFormatsForgivingly) {
    const std::int64_t now = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
    auto parse = [&](std::string_view text, std::string_view format) {
        auto r = ParseDateWithFormat(text, format, TimeZone::Utc(), now);
        return r ? FormatIsoMillis(*r) : "error: " + r.error().detail;
    };
    EXPECT_EQ(parse("2024-03-01T10:00:00Z", "YYYY-MM-DD"), "2024-03-01T00:00:00.000Z");
    EXPECT_EQ(parse("2024-03-01", "YYYY-MM-DD HH:mm"), "2024-03-01T00:00:00.000Z");
    EXPECT_EQ(parse("24/3/1", "YY/M/D"), "2024-03-01T00:00:00.000Z");
    EXPECT_EQ(parse("70/3/1", "YY/M/D"), "1970-03-01T00:00:00.000Z");
    EXPECT_EQ(parse("12:00 AM", "hh:mm A"), "2023-11-14T00:00:00.000Z");
    EXPECT_EQ(parse("12:30 pm", "h:mm a"), "2023-11-14T12:30:00.000Z");
    EXPECT_EQ(parse("2024 060", "YYYY DDDD"), "2024-02-29T00:00:00.000Z");
    EXPECT_EQ(parse("05", "MM"), "2023-05-01T00:00:00.000Z");
    EXPECT_EQ(parse("1.5", "X"), "1970-01-01T00:00:01.500Z");
    EXPECT_EQ(parse("-1000", "x"), "1969-12-31T23:59:59.000Z");
    EXPECT_EQ(parse("Tue 14 Nov 2023 10:00:00.25", "ddd DD MMM YYYY HH:mm:ss.SS"), "2023-11-14T10:00:00.250Z");
    EXPECT_EQ(parse("2024-03-01 10:00 -05:00", "YYYY-MM-DD HH:mm Z"), "2024-03-01T15:00:00.000Z");
    EXPECT_EQ(parse("[2024]", "[[]YYYY]"), "2024-01-01T00:00:00.000Z");
    EXPECT_NE(parse("13:00 PM", "hh:mm A").find("does not match"), std::string::npos);
    EXPECT_NE(parse("2024-W05", "GGGG-[W]WW").find("supported by formatDate only"), std::string::npos);
    EXPECT_NE(parse("x2024", "YYYY").find("does not match"), std::string::npos);
}

TEST(Dates, AddsMonthsClampingTheDay) {
    auto add = [](std::string_view date, std::int64_t months) {
        return FormatIsoMillis(*AddMonths(*ParseUtc(date), months));
    };
    EXPECT_EQ(add("2024-01-31T08:00:00Z", 1), "2024-02-29T08:00:00.000Z");
    EXPECT_EQ(add("2024-03-31T00:00:00Z", -1), "2024-02-29T00:00:00.000Z");
    EXPECT_EQ(add("2024-12-15T00:00:00Z", 1), "2025-01-15T00:00:00.000Z");
    EXPECT_EQ(add("2024-01-15T00:00:00Z", -13), "2022-12-15T00:00:00.000Z");
    EXPECT_FALSE(AddMonths(kMaxDateMillis, 1));
    EXPECT_FALSE(AddMonths(0, 100'000'000));
}

TEST(Dates, FormatsLongTextFormatsInBoundedSpace) {
    EXPECT_TRUE(FormatDate(0, std::string(1024, 'Y'), TimeZone::Utc()));
    EXPECT_FALSE(FormatDate(0, std::string(1025, 'Y'), TimeZone::Utc()));
}

// ---- time zones ----

std::int64_t Utc(std::string_view iso) { return *ParseUtc(iso) / 1000; }

TEST(TimeZones, PosixRulesNorthAndSouth) {
    auto cet = PosixTzRule::Parse("CET-1CEST,M3.5.0,M10.5.0/3");
    ASSERT_TRUE(cet);
    EXPECT_EQ(cet->OffsetAt(Utc("2024-03-31T00:59:59Z")), 3600);
    EXPECT_EQ(cet->OffsetAt(Utc("2024-03-31T01:00:00Z")), 7200);
    EXPECT_EQ(cet->OffsetAt(Utc("2024-10-27T00:59:59Z")), 7200);
    EXPECT_EQ(cet->OffsetAt(Utc("2024-10-27T01:00:00Z")), 3600);
    EXPECT_EQ(cet->OffsetAt(Utc("2100-07-01T00:00:00Z")), 7200);
    auto sydney = PosixTzRule::Parse("AEST-10AEDT,M10.1.0,M4.1.0/3");
    ASSERT_TRUE(sydney);
    EXPECT_EQ(sydney->OffsetAt(Utc("2024-01-15T00:00:00Z")), 11 * 3600);
    EXPECT_EQ(sydney->OffsetAt(Utc("2024-07-01T00:00:00Z")), 10 * 3600);
    auto fixed = PosixTzRule::Parse("<+0330>-3:30");
    ASSERT_TRUE(fixed);
    EXPECT_EQ(fixed->OffsetAt(0), 3 * 3600 + 1800);
    auto us_default = PosixTzRule::Parse("EST5EDT");
    ASSERT_TRUE(us_default);
    EXPECT_EQ(us_default->OffsetAt(Utc("2024-07-01T00:00:00Z")), -4 * 3600);
    EXPECT_EQ(us_default->OffsetAt(Utc("2024-01-01T00:00:00Z")), -5 * 3600);
    auto julian = PosixTzRule::Parse("XST-1XDT,J60/0,300");
    ASSERT_TRUE(julian);
    EXPECT_EQ(julian->OffsetAt(Utc("2024-06-01T00:00:00Z")), 7200);
    for (const char* bad : {"", "C", "CET", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.7,M1.1.0",
                            "<>-1", "CET-1CEST,M3.5.0,M10.5.0/3x"}) {
        EXPECT_FALSE(PosixTzRule::Parse(bad)) << bad;
    }
}

void PutBe32(std::string& out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}

// A TZif v2 file: two transitions (to +2h at t=1000, back to +1h at t=2000) and a footer rule.
std::string SyntheticTzif(std::string_view footer) {
    auto header = [](std::string& out, std::uint32_t times) {
        out += "TZif2";
        out.append(15, '\0');
        for (std::uint32_t count : {0u, 0u, 0u, times, 2u, 8u}) PutBe32(out, count);
    };
    auto body = [](std::string& out, int time_size) {
        for (std::int64_t t : {1000, 2000}) {
            if (time_size == 8) PutBe32(out, 0);
            PutBe32(out, static_cast<std::uint32_t>(t));
        }
        out.push_back('\1');
        out.push_back('\0');
        PutBe32(out, 3600);
        out += '\0';
        out += '\0';
        PutBe32(out, 7200);
        out += '\1';
        out += '\4';
        out.append("CET\0CEST", 8);
    };
    std::string out;
    header(out, 2);
    body(out, 4);
    header(out, 2);
    body(out, 8);
    out += "\n";
    out += footer;
    out += "\n";
    return out;
}

TEST(TimeZones, ReadsTzifWithItsFooter) {
    auto zone = TimeZone::FromTzif("Test/Zone", SyntheticTzif("XST-5"));
    ASSERT_TRUE(zone) << zone.error().detail;
    EXPECT_EQ((*zone)->name(), "Test/Zone");
    EXPECT_EQ((*zone)->OffsetAt(0), 3600);  // before the first transition: the first type
    EXPECT_EQ((*zone)->OffsetAt(1000), 7200);
    EXPECT_EQ((*zone)->OffsetAt(1500), 7200);
    EXPECT_EQ((*zone)->OffsetAt(999), 3600);
    EXPECT_EQ((*zone)->OffsetAt(2500), 5 * 3600);  // past the last transition: the footer rule
    auto no_footer = TimeZone::FromTzif("Test/Zone", SyntheticTzif(""));
    ASSERT_TRUE(no_footer);
    EXPECT_EQ((*no_footer)->OffsetAt(2500), 3600);
    const std::string good = SyntheticTzif("XST-5");
    for (std::size_t cut : {std::size_t{0}, std::size_t{10}, std::size_t{44}, std::size_t{60}, good.size() / 2}) {
        EXPECT_FALSE(TimeZone::FromTzif("Cut", good.substr(0, cut))) << cut;
    }
    std::string bad_index = good;
    bad_index[44 + 30 + 44 + 16] = '\7';  // a v2 transition pointing at a type that does not exist
    EXPECT_FALSE(TimeZone::FromTzif("Bad", bad_index));
}

TEST(TimeZones, FindsNamesOffsetsAndSystemZones) {
    EXPECT_EQ((*TimeZone::Find("UTC"))->OffsetAt(0), 0);
    EXPECT_EQ((*TimeZone::Find("+05:30"))->OffsetAt(0), 5 * 3600 + 1800);
    EXPECT_EQ((*TimeZone::Find("-0800"))->OffsetAt(0), -8 * 3600);
    EXPECT_EQ((*TimeZone::Find("+02"))->OffsetAt(0), 7200);
    auto prague = TimeZone::Find("Europe/Prague");
    ASSERT_TRUE(prague) << "the system tz database (package tzdata) is required";
    EXPECT_EQ((*prague)->OffsetAt(Utc("2024-07-01T00:00:00Z")), 7200);
    EXPECT_EQ((*prague)->OffsetAt(Utc("2024-01-01T00:00:00Z")), 3600);
    EXPECT_EQ((*prague)->OffsetAt(Utc("2099-07-01T00:00:00Z")), 7200);
    EXPECT_EQ(TimeZone::Find("Europe/Prague")->get(), prague->get());  // cached
    // 2024-03-31 02:30 does not exist in Prague (read with the offset before the gap); 2024-10-27 02:30
    // happens twice (the earlier instant wins).
    EXPECT_EQ((*prague)->LocalToUtc(Utc("2024-03-31T02:30:00Z")), Utc("2024-03-31T01:30:00Z"));
    EXPECT_EQ((*prague)->LocalToUtc(Utc("2024-10-27T02:30:00Z")), Utc("2024-10-27T00:30:00Z"));
    EXPECT_EQ((*prague)->LocalToUtc(Utc("2024-07-01T12:00:00Z")), Utc("2024-07-01T10:00:00Z"));
    for (const char* bad : {"", "../etc/passwd", "/etc/localtime", "Europe//Prague", "Europe/Prague/", "a b", "+25:00",
                            "+1", "-05:3", "Europe/Prague.tmp"}) {
        EXPECT_FALSE(TimeZone::Find(bad)) << bad;
    }
    EXPECT_EQ(TimeZone::Find("Mars/Olympus").error().detail, "unknown time zone 'Mars/Olympus'");
}

// ---- digests ----

std::string Hex(HashAlgorithm a, std::string_view data) { return core::HexEncode(Digest(a, data)); }
std::string HexHmac(HashAlgorithm a, std::string_view key, std::string_view data) {
    return core::HexEncode(Hmac(a, key, data));
}

TEST(Digests, KnownVectors) {
    const std::string fox = "The quick brown fox jumps over the lazy dog";
    const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 56 bytes
    const std::string million(1'000'000, 'a');
    EXPECT_EQ(Hex(HashAlgorithm::kMd5, fox), "9e107d9d372bb6826bd81d3542a419d6");
    EXPECT_EQ(Hex(HashAlgorithm::kMd5, two_blocks), "8215ef0796a20bcaaae116d3876c664a");
    EXPECT_EQ(Hex(HashAlgorithm::kMd5, million), "7707d6ae4e027c70eea2a935c2296f21");
    EXPECT_EQ(Hex(HashAlgorithm::kSha1, ""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(Hex(HashAlgorithm::kSha1, two_blocks), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    EXPECT_EQ(Hex(HashAlgorithm::kSha1, million), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    EXPECT_EQ(Hex(HashAlgorithm::kSha256, ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(HexHmac(HashAlgorithm::kMd5, std::string(16, '\x0b'), "Hi There"), "9294727a3638bb1c13f48ef8158bfc9d");
    EXPECT_EQ(HexHmac(HashAlgorithm::kSha1, std::string(20, '\x0b'), "Hi There"),
              "b617318655057264e28bc0b6fb378c8ef146be00");
    EXPECT_EQ(HexHmac(HashAlgorithm::kSha256, std::string(131, '\xaa'),
                      "Test Using Larger Than Block-Size Key - Hash Key First"),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    EXPECT_EQ(HexHmac(HashAlgorithm::kSha512, "Jefe", "what do ya want for nothing?"),
              "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaea"
              "b1a34d4a6b4b636e070a38bce737");
}

// ---- number text and values ----

std::string NumberText(double d) {
    std::string out;
    AppendNumber(out, d);
    return out;
}

TEST(Values, NumbersPrintAsJavaScriptDoes) {
    EXPECT_EQ(NumberText(0.1), "0.1");
    EXPECT_EQ(NumberText(100), "100");
    EXPECT_EQ(NumberText(-1.5), "-1.5");
    EXPECT_EQ(NumberText(-0.0), "0");
    EXPECT_EQ(NumberText(1.0 / 3), "0.3333333333333333");
    EXPECT_EQ(NumberText(1e20), "100000000000000000000");
    EXPECT_EQ(NumberText(1e21), "1e+21");
    EXPECT_EQ(NumberText(123e-20), "1.23e-18");
    EXPECT_EQ(NumberText(0.000001), "0.000001");
    EXPECT_EQ(NumberText(1e-7), "1e-7");
    EXPECT_EQ(NumberText(5e-324), "5e-324");
    EXPECT_EQ(NumberText(1.7976931348623157e308), "1.7976931348623157e+308");
    EXPECT_EQ(NumberText(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(NumberText(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(Values, TextOfStructuredValuesIsCompactJson) {
    const json::value v =
        json::parse(R"({"a":[1,2.5,"x\"y\n",null,true,{}],"b":{"c":[]},"d":1e300,"u":18446744073709551615})");
    EXPECT_EQ(ToText(v), R"({"a":[1,2.5,"x\"y\n",null,true,{}],"b":{"c":[]},"d":1e+300,"u":18446744073709551615})");
    EXPECT_EQ(ToText(json::value("\x01")), "\x01");
    EXPECT_EQ(ToText(json::array{json::value("\x01")}), "[\"\\u0001\"]");
    json::value deep = json::array{};
    for (int i = 0; i < 2000; ++i) deep = json::array{std::move(deep)};
    const std::string text = ToText(deep);  // iterative: no recursion per level
    EXPECT_EQ(text.size(), 2 * 2001u);
}

TEST(Values, NumberConversion) {
    EXPECT_EQ(ToNumber(json::value("  12.5 ")), 12.5);
    EXPECT_EQ(ToNumber(json::value("")), 0.0);
    EXPECT_EQ(ToNumber(json::value("-3e2")), -300.0);
    EXPECT_EQ(ToNumber(json::value("+.5")), 0.5);
    EXPECT_FALSE(ToNumber(json::value("0x10")));
    EXPECT_FALSE(ToNumber(json::value("inf")));
    EXPECT_FALSE(ToNumber(json::value("1,5")));
    EXPECT_FALSE(ToNumber(json::array{}));
    EXPECT_TRUE(MakeNumber(3.0).is_int64());
    EXPECT_TRUE(MakeNumber(3.5).is_double());
    EXPECT_TRUE(MakeNumber(1e300).is_double());
}

TEST(Values, ComparisonRules) {
    EXPECT_TRUE(LooseEquals(json::value(1), json::value(1.0)));
    EXPECT_TRUE(LooseEquals(json::value(std::uint64_t{5}), json::value(5)));
    EXPECT_FALSE(LooseEquals(json::value(-1), json::value(std::uint64_t{18446744073709551615ULL})));
    EXPECT_TRUE(LooseEquals(json::value(false), json::value(0)));
    EXPECT_TRUE(LooseEquals(json::parse("[1,{\"a\":2}]"), json::parse("[1.0,{\"a\":2}]")));
    EXPECT_FALSE(StrictEquals(json::value("1"), json::value(1)));
    EXPECT_EQ(Compare(json::value("2024-01-01T10:00:00+02:00"), json::value("2024-01-01T09:00:00Z")),
              std::strong_ordering::less);
    EXPECT_FALSE(Compare(json::value("a"), json::value(1)));
    EXPECT_EQ(SortOrder(json::value(nullptr), json::value(false), false), std::strong_ordering::less);
    EXPECT_EQ(SortOrder(json::value(10), json::value("1"), false), std::strong_ordering::less);
    EXPECT_EQ(SortOrder(json::value("B"), json::value("a"), true), std::strong_ordering::greater);
}

// ---- UTF-8 ----

TEST(Utf8, DecodesAndKeepsInvalidBytes) {
    EXPECT_EQ(DecodeUtf8("é", 0).value, U'é');
    EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80", 0).length, 4);
    for (std::string_view bad : {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xFF", "\x80"}) {
        const CodePoint cp = DecodeUtf8(bad, 0);
        EXPECT_FALSE(cp.valid);
        EXPECT_EQ(cp.length, 1);
    }
    EXPECT_EQ(CodePointCount("aé😀\xFF"), 4u);
    EXPECT_EQ(ByteOffset("aé😀", 2), 3u);
    EXPECT_EQ(ByteOffset("aé", 9), 3u);
    EXPECT_EQ(CodePointIndex("aé😀", 7), 3u);
    EXPECT_EQ(ToUpper("a\xFF\xC3"), "A\xFF\xC3");
    EXPECT_EQ(ToLower("ĹĽŇ Ÿ"), "ĺľň ÿ");
    EXPECT_EQ(ToUpper("ĺľň ÿ ς"), "ĹĽŇ Ÿ Σ");
}

}  // namespace
}  // namespace switchboard::iml

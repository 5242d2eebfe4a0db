// core::Redact against the std::regex implementation it replaced, kept here as the oracle: the hand-written scanner
// must produce byte-identical lines on a corpus of tricky lines and on a bounded pseudo-random corpus.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"

namespace switchboard::core {
namespace {

// The former core::Redact, verbatim: three std::regex_replace over the line cut at 4096 bytes.
std::string RegexRedact(std::string_view line) {
    static const std::regex token_re(R"(sbt_[A-Za-z0-9_\-]+)");
    static const std::regex auth_header_re(
        R"(((?:authorization|x-api-key|cookie)\s*[:=]\s*"?)(?:(token|bearer|basic)\s+)?[^\s",}]+)", std::regex::icase);
    static const std::regex key_value_re(
        R"((\"?(?:password|passwd|secret|client_secret|clientSecret|api_?key|apiKey|access_?token|accessToken|refresh_?token|refreshToken|token|master_?key)\"?\s*[:=]\s*\"?)[^\s\",}&]+)",
        std::regex::icase);
    constexpr std::size_t kMaxLine = 4096;
    std::string s(line.substr(0, kMaxLine));
    if (line.size() > kMaxLine) s += "…[" + std::to_string(line.size() - kMaxLine) + " more bytes]";
    s = std::regex_replace(s, token_re, "sbt_[redacted]");
    s = std::regex_replace(s, auth_header_re, "$1$2 [redacted]");
    s = std::regex_replace(s, key_value_re, "$1[redacted]");
    return s;
}

// A line as a C string literal, so that a mismatch on control or non-ASCII bytes can be read and replayed.
std::string Escaped(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[u >> 4];
            out += kHex[u & 15];
            out += "\"\"";  // ends the hex escape
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// Compares Redact with the oracle on every line; reports the first mismatches. Returns how many lines the oracle
// changed, so that a corpus can show it exercises the rules.
std::size_t ExpectSameAsRegex(const std::vector<std::string>& corpus) {
    std::size_t mismatches = 0;
    std::size_t changed = 0;
    for (const std::string& line : corpus) {
        const std::string expected = RegexRedact(line);
        if (expected != line) ++changed;
        const std::string actual = Redact(line);
        if (actual == expected) continue;
        if (++mismatches <= 10) {
            ADD_FAILURE() << "line:     " << Escaped(line) << "\nregex:    " << Escaped(expected)
                          << "\nscanner:  " << Escaped(actual);
        }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << corpus.size() << " lines";
    return changed;
}

TEST(Redact, KnownCasesAsTheRegexDid) {
    // The ones where the regex semantics are easy to get wrong, with the literal output (checked on both).
    struct Case {
        std::string line;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"access method=POST route=/hooks/{token} status=200 bytes=123 ms=0.812 remote=127.0.0.1",
         "access method=POST route=/hooks/{token} status=200 bytes=123 ms=0.812 remote=127.0.0.1"},
        {"mytoken=abc tokens=def", "mytoken=[redacted] tokens=def"},  // no word boundary; no `=` right after token
        {"access_token=abc", "access_token=[redacted]"},
        {"Authorization: Bearer", "Authorization:  [redacted]"},  // the scheme is the value, $2 empty
        {"Authorization: Bearer   abc def", "Authorization: Bearer [redacted] def"},
        {"AUTHORIZATION=basic ,x", "AUTHORIZATION= [redacted] ,x"},
        {"cookie=a; b", "cookie= [redacted] b"},
        {"Authorization: token=abc", "Authorization:  [redacted]"},
        {R"({"password" : "p w","x":1})", R"({"password" : "[redacted] w","x":1})"},
        {"password= ", "password= "},  // no value, no match
        {"sbt_", "sbt_"},
        {"sbt_sbt_x-y.z", "sbt_[redacted].z"},
        {"x-api-key: sbt_abc", "x-api-key:  [redacted]"},  // rule 2 runs over rule 1's output
    };
    for (const Case& c : cases) {
        EXPECT_EQ(Redact(c.line), c.expected) << c.line;
        EXPECT_EQ(RegexRedact(c.line), c.expected) << c.line;
    }
}

TEST(Redact, MatchesTheRegexOnTrickyLines) {
    std::vector<std::string> corpus = {
        "",
        "nothing secret here",
        "access method=POST route=/hooks/{token} status=200 bytes=123 ms=0.812 remote=127.0.0.1",
        "access method=GET route=/api/v2/connections status=401 bytes=64 ms=1.250 remote=::1",
        "token sbt_AbC-123_x used",
        "sbt_",
        "sbt_-",
        "xsbt_abc",
        "SBT_abc",
        "sbt_abc sbt_ sbt_def",
        "sbt_sbt_",
        "sbsbt_x",
        "a sbt_ÿ b",
        "Authorization: Bearer abc.def",
        "Authorization: Bearer",
        "Authorization: Bearer ",
        "Authorization: Bearer \"",
        "Authorization: Bearer\tabc",
        "Authorization: basic",
        "Authorization: basic dXNlcjpwYXNz",
        "authorization=Basic\n",
        "AUTHORIZATION : TOKEN sbt_x",
        "Authorization: Token sbt_SECRETVALUE123 and client_secret=topsecret42",
        "Authorization: Tokens abc",
        "Authorization: tokenabc def",
        "Authorization: \"Bearer abc\"",
        "Authorization:\"\"",
        "Authorization: \"",
        "Authorization:",
        "Authorization=",
        "Authorization::x",
        "Authorization: ,x",
        "Authorization: }",
        "Authorization\t\r\n:\v\fvalue",
        "preauthorization: x",
        "authorizationauthorization: x",
        "headers={Authorization: Bearer eyJ.abc.def, Cookie: sid=1}",
        "cookie=a; b",
        "Cookie: a=1; b=2",
        "COOKIE:\"v\"",
        "cookie: token: abc",
        "cookie : bearer  basic x",
        "x-api-key: abc",
        "X-Api-Key=abc,def",
        "x-api-key:",
        "x_api_key: abc",
        "x-api-keyx: abc",
        "password=hunter2&user=bob",
        "password=",
        "password=&x=1",
        "password",
        "password:",
        "PASSWORD = \"hunter2\"",
        "passwd=x",
        "Passwd: x",
        "passwordd=x",
        "mypassword=x",
        "secret=x",
        "client_secret=x",
        "clientSecret=x",
        "CLIENTSECRET:x",
        "client-secret=x",
        "api_key=x",
        "apikey=x",
        "apiKey=x",
        "api__key=x",
        "api-key=x",
        "access_token=x",
        "accesstoken=x",
        "accessToken=x",
        "access__token=x",
        "refresh_token=x",
        "refreshtoken=x",
        "refreshToken=x",
        "token=x",
        "tokens=x",
        "mytoken=x",
        "tokentoken=x",
        "master_key=x",
        "masterkey=x",
        "masterKey=x",
        "master-key=x",
        "key=x",
        "\"token\":\"x\"",
        "\"token\" : \"x\"",
        "\"token\"  \"=x\"",
        "token \"=x",
        "token\"\"=x",
        "\"\"token=x",
        "token==x",
        "token=:x",
        "token=\"\"",
        "token= \"",
        "token=x=y",
        "token=x&token=y&token=z",
        "token=mytoken\"=x",
        "password=api_key\" : y",
        "cookie=cookie =v",
        "token=a,token=b}token=c\"token=d token=e",
        "token:a:b",
        "token=x password=y secret=z",
        R"({"apiKey":"k-123","name":"x"})",
        R"({"password":"p","secret":"s","client_secret":"cs","clientSecret":"cs2","api_key":"a","apikey":"b"})",
        R"({"accessToken":"a","refresh_token":"r","token":"t","master_key":"m","masterKey":"n","user":"u"})",
        R"({"password":"","next":"x"})",
        R"({"password": null})",
        R"({"password":{"nested":1}})",
        R"({"tokens":[1,2],"token_type":"bearer","expires_in":3600})",
        R"(body={"grant_type":"refresh_token","refresh_token":"r-1","client_id":"c"})",
        "grant_type=refresh_token&refresh_token=abc&client_secret=def",
        "POST /oauth/token?code=1&client_secret=s3&redirect_uri=https://x/cb",
        "url=https://user:password@host/path",
        "password=\xc3\xa9t\xc3\xa9 end",
        "\xe2\x80\xa6token=\xff\xfe",
        "token=\x80",
        std::string("token=a\0b", 9),
        std::string("Authorization: Bearer \0x", 24),
        "Tok\xc3\xa9n=x",
        "TOKEN=x Token=y tOkEn=z",
        "pAsSwOrD=x PaSsWd=y SeCrEt=z",
        "Authorization: Bearer x password=y sbt_z cookie=w",
        "passwordtoken=x",
        "password_token=x",
        "secret_token: x",
        "key_password_secret=x",
        "token=[redacted]",
        "sbt_[redacted]",
        "end token=",
        "end token",
        "end password=x",
        "end sbt_x",
        "end Authorization: Bearer x",
    };
    // The 4096-byte cut: secrets across, before and after it, and a line exactly at the limit.
    const std::string filler(4090, 'a');
    corpus.push_back(std::string(4096, 'x'));
    corpus.push_back(std::string(4097, 'x'));
    corpus.push_back(" " + filler + "password=abcdefgh");
    corpus.push_back(" " + filler.substr(0, 4085) + "token=abcdefgh");
    corpus.push_back(" " + filler.substr(0, 4083) + "sbt_abcdefghijkl");
    corpus.push_back("Authorization: Bearer x " + filler + " sbt_later password=later");
    corpus.push_back(filler.substr(0, 4080) + " Authorization: Bearer abcdefghijkl");
    corpus.push_back(filler.substr(0, 4093) + " token=x");

    const std::size_t changed = ExpectSameAsRegex(corpus);
    EXPECT_GT(changed, corpus.size() / 2);
}

TEST(Redact, MatchesTheRegexOnRandomLines) {
    // Lines of fragments: the trigger words and parts of them in random case, separators, quotes, the whitespace
    // set, and random bytes. Fixed seed; std::mt19937's sequence is specified, so the corpus is the same anywhere.
    const std::vector<std::string> words = {
        "password", "passwd",       "secret",      "client_secret", "clientSecret",  "api_key",      "apikey",
        "apiKey",   "access_token", "accesstoken", "accessToken",   "refresh_token", "refreshtoken", "refreshToken",
        "token",    "tokens",       "master_key",  "masterkey",     "authorization", "x-api-key",    "cookie",
        "bearer",   "basic",        "sbt_",        "sbt",           "pass",          "acc",          "tok",
        "api_",     "master",       "client_",     "key",           "refresh_",      "x-api",        "auth",
        "my",       "[redacted]",   "…",           "hooks/{token}",
    };
    const std::vector<std::string> separators = {
        ":", "=", "\"", " ", "  ", "\t", "\n",     "\r",  "\v", "\f",  ",",
        "}", "{", "&",  "_", "-",  "; ", "\": \"", "=\"", ": ", " = ",
    };
    std::mt19937 rng(20240611);
    const auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const auto word = [&]() {
        std::string w = words[pick(words.size())];
        for (char& c : w) {
            if (c >= 'a' && c <= 'z' && pick(4) == 0) {
                c = static_cast<char>(c - 'a' + 'A');
            } else if (c >= 'A' && c <= 'Z' && pick(4) == 0) {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        return w;
    };
    const auto value = [&]() {
        std::string v;
        for (std::size_t i = 1 + pick(6); i > 0; --i) v += "abcXYZ019._/+"[pick(13)];
        return v;
    };
    const auto separator = [&]() { return separators[pick(separators.size())]; };
    const auto maybe = [&](const char* text) { return std::string(pick(3) == 0 ? text : ""); };
    const auto fragment = [&]() -> std::string {
        switch (pick(5)) {
            case 0:
                return word();
            case 1:
                return separator();
            case 2:
                return value();
            case 3: {  // shaped like key"? ws [:=] ws "? scheme? value, each part sometimes left out or replaced
                std::string pair = word() + maybe("\"") + maybe(" ") + maybe("\t");
                pair += pick(6) == 0 ? separator() : std::string(pick(2) == 0 ? ":" : "=");
                pair += maybe(" ") + maybe("\"");
                if (pick(3) == 0) pair += word() + maybe(" ") + maybe("  ");
                return pair + (pick(6) == 0 ? separator() : value());
            }
            default:
                return std::string(1, static_cast<char>(pick(256)));
        }
    };
    std::vector<std::string> corpus;
    constexpr std::size_t kLines = 20000;
    corpus.reserve(kLines);
    for (std::size_t i = 0; i < kLines; ++i) {
        std::string line;
        for (std::size_t n = 1 + pick(12); n > 0; --n) line += fragment();
        corpus.push_back(std::move(line));
    }
    const std::size_t changed = ExpectSameAsRegex(corpus);
    EXPECT_GT(changed, kLines / 5);  // the corpus must exercise the rules, not only the cheap path
}

}  // namespace
}  // namespace switchboard::core

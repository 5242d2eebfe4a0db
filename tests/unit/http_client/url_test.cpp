#include "http_client/url.hpp"

#include <gtest/gtest.h>

namespace switchboard::http_client {
namespace {

TEST(UrlTest, PercentEncodeKeepsOnlyUnreserved) {
    EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(PercentEncode("a b&c=d+e/f?g#h"), "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h");
    EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
    EXPECT_EQ(PercentEncode(std::string("\0\xFF", 2)), "%00%FF");
}

TEST(UrlTest, FormEncodeUsesPlusForSpace) {
    EXPECT_EQ(FormEncode("a b+c*d~e"), "a+b%2Bc*d%7Ee");
    EXPECT_EQ(EncodeForm({{"name", "Jane Doe"}, {"q", "x&y=z"}, {"empty", ""}}), "name=Jane+Doe&q=x%26y%3Dz&empty=");
}

TEST(UrlTest, PercentDecodeRoundTripsAndKeepsBrokenEscapes) {
    EXPECT_EQ(PercentDecode("a%20b%2Bc+d", false), "a b+c+d");
    EXPECT_EQ(PercentDecode("a%20b%2Bc+d", true), "a b+c d");
    EXPECT_EQ(PercentDecode("100%", false), "100%");
    EXPECT_EQ(PercentDecode("%zz%4", false), "%zz%4");
    EXPECT_EQ(PercentDecode(PercentEncode("\xC3\xA9 &="), false), "\xC3\xA9 &=");
}

TEST(UrlTest, BuildUrlAppendsEncodedQueryAndDropsFragment) {
    auto url = BuildUrl("https://api.example.com/v1/items?page=2#top", {{"q", "a b&c"}, {"tag", "x/y"}});
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(*url, "https://api.example.com/v1/items?page=2&q=a%20b%26c&tag=x%2Fy");

    url = BuildUrl("http://example.com", {{"k", "v"}});
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(*url, "http://example.com/?k=v");

    url = BuildUrl("http://example.com?a=1", {{"b", "2"}});
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(*url, "http://example.com/?a=1&b=2");

    url = BuildUrl("HTTPS://Example.com:8443/p", {});
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(*url, "HTTPS://Example.com:8443/p");
}

TEST(UrlTest, BuildUrlRefusesWhatIsNotAnHttpUrl) {
    for (const char* bad : {"", "example.com/path", "/relative", "ftp://example.com/", "file:///etc/passwd",
                            "gopher://example.com/", "http://", "http:///path", "https://user:pass@example.com/",
                            "https://user@example.com/", "http://exa mple.com/"}) {
        const auto url = BuildUrl(bad, {});
        ASSERT_FALSE(url.has_value()) << bad;
        EXPECT_EQ(url.error().code, core::Errc::kInvalidArgument) << bad;
        // Never repeats the URL: it may carry a secret.
        if (std::string_view(bad).size() > 8) {
            EXPECT_EQ(url.error().detail.find(bad), std::string::npos);
        }
    }
}

TEST(UrlTest, OriginNormalisesCaseAndDefaultPorts) {
    EXPECT_EQ(Origin("http://Example.COM/a"), "http://example.com:80");
    EXPECT_EQ(Origin("http://example.com:80/b"), "http://example.com:80");
    EXPECT_EQ(Origin("https://example.com/"), "https://example.com:443");
    EXPECT_EQ(Origin("https://example.com:8443/"), "https://example.com:8443");
    EXPECT_EQ(Origin("ftp://example.com/"), "");
    EXPECT_EQ(Origin("not a url"), "");
}

struct RedirectCase {
    const char* from;
    const char* method;
    int status;
    const char* location;
    const char* url;
    const char* new_method;
    bool keep_body;
    bool same_origin;
};

TEST(UrlTest, ResolveRedirectFollowsBrowserRules) {
    const RedirectCase cases[] = {
        {"https://a.test/x/y", "GET", 302, "z", "https://a.test/x/z", "GET", true, true},
        {"https://a.test/x/y", "GET", 301, "/root?q=1#frag", "https://a.test/root?q=1", "GET", true, true},
        {"https://a.test/x", "GET", 302, "https://b.test/", "https://b.test/", "GET", true, false},
        {"https://a.test/x", "GET", 302, "//b.test/p", "https://b.test/p", "GET", true, false},
        {"https://a.test/x", "GET", 302, "https://b.test?x=1", "https://b.test/?x=1", "GET", true, false},
        {"https://a.test/x", "GET", 302, "https://B.TEST:443", "https://B.TEST:443/", "GET", true, false},
        {"https://b.test/x", "GET", 302, "https://B.TEST:443/y", "https://B.TEST:443/y", "GET", true, true},
        {"http://a.test/x", "GET", 302, "https://a.test/x", "https://a.test/x", "GET", true, false},
        {"http://a.test/x", "GET", 302, "http://a.test:80/y", "http://a.test:80/y", "GET", true, true},
        {"http://a.test/x", "GET", 302, "http://a.test:8080/y", "http://a.test:8080/y", "GET", true, false},
        {"https://a.test/x", "POST", 301, "/y", "https://a.test/y", "GET", false, true},
        {"https://a.test/x", "POST", 302, "/y", "https://a.test/y", "GET", false, true},
        {"https://a.test/x", "POST", 303, "/y", "https://a.test/y", "GET", false, true},
        {"https://a.test/x", "PUT", 303, "/y", "https://a.test/y", "GET", false, true},
        {"https://a.test/x", "HEAD", 303, "/y", "https://a.test/y", "HEAD", false, true},
        {"https://a.test/x", "PUT", 302, "/y", "https://a.test/y", "PUT", true, true},
        {"https://a.test/x", "POST", 307, "/y", "https://a.test/y", "POST", true, true},
        {"https://a.test/x", "PATCH", 308, "/y", "https://a.test/y", "PATCH", true, true},
    };
    for (const RedirectCase& c : cases) {
        const auto step = ResolveRedirect(c.from, c.method, c.status, c.location);
        ASSERT_TRUE(step.has_value()) << c.from << " -> " << c.location;
        EXPECT_EQ(step->url, c.url) << c.location;
        EXPECT_EQ(step->method, c.new_method) << c.method << " " << c.status;
        EXPECT_EQ(step->keep_body, c.keep_body) << c.method << " " << c.status;
        EXPECT_EQ(step->same_origin, c.same_origin) << c.from << " -> " << c.location;
    }
}

TEST(UrlTest, ResolveRedirectRefusesDowngradeOtherSchemesAndCredentials) {
    const struct {
        const char* from;
        const char* location;
        const char* reason;
    } cases[] = {
        {"https://a.test/", "http://a.test/", "https to http"},
        {"https://a.test/", "http://b.test/x", "https to http"},
        {"http://a.test/", "ftp://a.test/file", "scheme"},
        {"https://a.test/", "file:///etc/passwd", "scheme"},
        {"https://a.test/", "javascript:alert(1)", "scheme"},
        {"https://a.test/", "https://user:pw@b.test/", "credentials"},
        {"https://a.test/", "https://b.test/ space", "invalid"},
    };
    for (const auto& c : cases) {
        const auto step = ResolveRedirect(c.from, "GET", 302, c.location);
        ASSERT_FALSE(step.has_value()) << c.location;
        EXPECT_EQ(step.error().code, core::Errc::kUpstreamError);
        EXPECT_NE(step.error().message.find(c.reason), std::string::npos) << step.error().message;
    }
}

TEST(UrlTest, RedirectStatusesAreTheFiveRedirects) {
    for (int status : {301, 302, 303, 307, 308}) EXPECT_TRUE(IsRedirectStatus(status)) << status;
    for (int status : {200, 300, 304, 305, 306, 400, 500}) EXPECT_FALSE(IsRedirectStatus(status)) << status;
}

}  // namespace
}  // namespace switchboard::http_client

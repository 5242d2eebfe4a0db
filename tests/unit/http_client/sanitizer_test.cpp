#include "http_client/sanitizer.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

#include "core/encoding.hpp"
#include "http_client/url.hpp"

namespace switchboard::http_client {
namespace {

// Contains characters that change under every encoding the sanitizer knows.
const std::string kSecret = "s3cr3t/Value+with spaces&\"quotes\"";

std::vector<core::Secret> Secrets() { return {core::Secret(kSecret)}; }

SanitizeRules Rules(const std::vector<std::string>& paths) {
    auto rules = SanitizeRules::FromPaths(paths);
    EXPECT_TRUE(rules.has_value());
    return rules.has_value() ? *rules : SanitizeRules{};
}

// Every form in which kSecret could leak.
std::vector<std::string> LeakForms() {
    return {kSecret,
            PercentEncode(kSecret),
            FormEncode(kSecret),
            core::Base64Encode(kSecret),
            core::Base64UrlEncode(kSecret),
            "s3cr3t/Value"};
}

void ExpectNoLeak(std::string_view text) {
    for (const std::string& form : LeakForms()) {
        EXPECT_EQ(text.find(form), std::string_view::npos) << "leaked '" << form << "' in: " << text;
    }
}

TEST(SanitizerTest, RedactsRawAndEncodedFormsOfKnownSecrets) {
    const Sanitizer sanitizer(Secrets());
    const std::string json_escaped = R"(s3cr3t/Value+with spaces&\"quotes\")";
    const std::string lower_hex = "s3cr3t%2fValue%2bwith%20spaces%26%22quotes%22";
    const std::string base64url = core::Base64UrlEncode(kSecret);
    for (const std::string& form : {kSecret, PercentEncode(kSecret), FormEncode(kSecret), json_escaped, lower_hex,
                                    core::Base64Encode(kSecret), base64url}) {
        const std::string text = "before " + form + " after";
        EXPECT_EQ(sanitizer.Text(text), "before [redacted] after") << form;
        EXPECT_TRUE(sanitizer.ContainsSecret(text)) << form;
    }
    EXPECT_EQ(sanitizer.Text("nothing to hide"), "nothing to hide");
    EXPECT_FALSE(sanitizer.ContainsSecret("nothing to hide"));
}

TEST(SanitizerTest, FindsBase64OfTheSecretAtAnyAlignmentInsideLongerBase64) {
    const Sanitizer sanitizer(Secrets());
    for (const std::string prefix : {"", "u", "us", "user:", "client-id:"}) {
        const std::string encoded = core::Base64Encode(prefix + kSecret + ":tail");
        const std::string line = "Authorization-ish: Basic " + encoded;
        const std::string clean = sanitizer.Text(line);
        EXPECT_NE(clean.find("[redacted]"), std::string::npos) << prefix;
        // What remains of the base64 text is too short to carry the secret: at most the prefix/suffix groups.
        EXPECT_LT(clean.size(), line.size()) << prefix;
        EXPECT_FALSE(sanitizer.ContainsSecret(clean)) << prefix;
    }
}

TEST(SanitizerTest, RedactsOverlappingAndRepeatedOccurrences) {
    const Sanitizer sanitizer({core::Secret("abcabc"), core::Secret("cab")});
    EXPECT_EQ(sanitizer.Text("xabcabcabcx"), "x[redacted]x");
    EXPECT_EQ(sanitizer.Text("abcabc-abcabc"), "[redacted]-[redacted]");
}

TEST(SanitizerTest, TruncationNeverLeavesPartOfASecret) {
    const Sanitizer sanitizer({core::Secret("TOPSECRETVALUE")});
    const std::string text = std::string(95, 'a') + "TOPSECRETVALUE" + std::string(100, 'b');
    // The cut at 100 falls inside the secret: the whole secret is redacted, nothing of it remains.
    const std::string clean = sanitizer.Text(text, 100);
    EXPECT_EQ(clean, std::string(95, 'a') + "[redacted]...[100 more bytes]");
    // A cut before the secret shows none of it either.
    EXPECT_EQ(sanitizer.Text(text, 10), "aaaaaaaaaa...[199 more bytes]");
    // No cut when the text fits.
    EXPECT_EQ(sanitizer.Text("short", 100), "short");
}

TEST(SanitizerTest, UrlMasksSensitiveQueryValuesUserinfoAndSecrets) {
    const Sanitizer sanitizer(Secrets(), Rules({"request.qs.sig"}));
    const std::string url = "https://u:p@api.test/bots/" + PercentEncode(kSecret) +
                            "/send?api_key=k123&sig=abc&Access_Token=t0k&page=2#frag";
    const std::string clean = sanitizer.Url(url);
    EXPECT_EQ(clean,
              "https://[redacted]@api.test/bots/[redacted]/send?api_key=[redacted]&sig=[redacted]&"
              "Access_Token=[redacted]&page=2");
}

TEST(SanitizerTest, HeadersAreMaskedByNameAndBySecretValue) {
    const Sanitizer sanitizer(Secrets(), Rules({"request.headers.X-Custom-Auth", "response.headers.x-session"}));
    const Headers request = {{"Authorization", "Bearer abc"}, {"x-custom-auth", "zzz"},
                             {"X-Trace", "id-" + kSecret},    {"Cookie", "sid=1"},
                             {"Accept", "application/json"},  {"X-Api-Key", "k"}};
    const Headers clean = sanitizer.RequestHeaders(request);
    ASSERT_EQ(clean.size(), request.size());
    EXPECT_EQ(clean[0], (std::pair<std::string, std::string>{"Authorization", "[redacted]"}));
    EXPECT_EQ(clean[1].second, "[redacted]");
    EXPECT_EQ(clean[2].second, "id-[redacted]");
    EXPECT_EQ(clean[3].second, "[redacted]");
    EXPECT_EQ(clean[4].second, "application/json");
    EXPECT_EQ(clean[5].second, "[redacted]");
    EXPECT_TRUE(sanitizer.IsSensitiveRequestHeader("X-CUSTOM-AUTH"));
    EXPECT_FALSE(sanitizer.IsSensitiveRequestHeader("X-Trace"));

    const Headers response = {{"set-cookie", "sid=2"}, {"x-session", "s"}, {"content-type", "text/plain"}};
    const Headers clean_response = sanitizer.ResponseHeaders(response);
    EXPECT_EQ(clean_response[0].second, "[redacted]");
    EXPECT_EQ(clean_response[1].second, "[redacted]");
    EXPECT_EQ(clean_response[2].second, "text/plain");
}

TEST(SanitizerTest, JsonBodyPathsAndBuiltInKeysAreMasked) {
    const Sanitizer sanitizer(Secrets(), Rules({"request.body.credentials.pin", "request.body.items.code"}));
    JsonBody body{boost::json::parse(R"({
        "credentials": {"pin": "1234", "user": "jane"},
        "items": [{"code": "a1", "name": "one"}, {"code": "b2", "name": "two"}],
        "nested": {"deep": {"client_secret": "cs", "password": "pw"}},
        "note": "contains )" + std::string("s3cr3t/Value+with spaces&\\\"quotes\\\"") +
                                     R"("
    })")};
    const std::string clean = sanitizer.RequestBody(body);
    const auto parsed = boost::json::parse(clean);
    EXPECT_EQ(parsed.at("credentials").at("pin"), "[redacted]");
    EXPECT_EQ(parsed.at("credentials").at("user"), "jane");
    EXPECT_EQ(parsed.at("items").at(0).at("code"), "[redacted]");
    EXPECT_EQ(parsed.at("items").at(1).at("code"), "[redacted]");
    EXPECT_EQ(parsed.at("items").at(1).at("name"), "two");
    EXPECT_EQ(parsed.at("nested").at("deep").at("client_secret"), "[redacted]");
    EXPECT_EQ(parsed.at("nested").at("deep").at("password"), "[redacted]");
    EXPECT_EQ(parsed.at("note"), "contains [redacted]");
}

TEST(SanitizerTest, ResponseBodyRulesApplyToJsonAndFormResponses) {
    const Sanitizer sanitizer({}, Rules({"response.body.data.session"}));
    const std::string json =
        sanitizer.ResponseBody("application/json", R"({"data":{"session":"xyz","id":7},"token":"t"})");
    EXPECT_EQ(json, R"({"data":{"session":"[redacted]","id":7},"token":"[redacted]"})");
    // GitHub answers token requests form-encoded.
    const std::string form =
        sanitizer.ResponseBody("application/x-www-form-urlencoded", "access_token=gho_x&scope=repo&token_type=bearer");
    EXPECT_EQ(form, "access_token=[redacted]&scope=repo&token_type=bearer");
    EXPECT_EQ(sanitizer.ResponseBody("image/png", std::string("\x89PNG\0\0", 6)), "<6 bytes of image/png>");
    EXPECT_EQ(sanitizer.ResponseBody("application/json", "not json {"), "not json {");
}

TEST(SanitizerTest, FormMultipartAndRawBodies) {
    const Sanitizer sanitizer(Secrets(), Rules({"request.body.pin"}));
    EXPECT_EQ(sanitizer.RequestBody(FormBody{{{"user", "jane"}, {"pin", "1234"}, {"password", "pw"}, {"n", kSecret}}}),
              "user=jane&pin=[redacted]&password=[redacted]&n=[redacted]");
    MultipartBody multipart;
    multipart.fields = {{"title", "hello"}, {"pin", "1234"}};
    multipart.files = {{"upload", "a.bin", "", std::string("\0\1\2", 3)}};
    EXPECT_EQ(sanitizer.RequestBody(multipart),
              "title=hello\npin=[redacted]\nupload=<file \"a.bin\", application/octet-stream, 3 bytes>\n");
    EXPECT_EQ(sanitizer.RequestBody(RawBody{"name," + kSecret, "text/csv"}), "name,[redacted]");
    EXPECT_EQ(sanitizer.RequestBody(RawBody{std::string("\0\1", 2), ""}), "<2 bytes of application/octet-stream>");
    EXPECT_EQ(sanitizer.RequestBody(RawBody{R"({"pin":"1","x":2})", "application/json"}),
              R"({"pin":"[redacted]","x":2})");
    EXPECT_EQ(sanitizer.RequestBody(NoBody{}), "");
}

TEST(SanitizerTest, WholeBodyRuleHidesTheBody) {
    const Sanitizer sanitizer({}, Rules({"request.body", "response.body"}));
    EXPECT_EQ(sanitizer.RequestBody(JsonBody{boost::json::parse(R"({"a":1})")}), "[redacted]");
    EXPECT_EQ(sanitizer.ResponseBody("text/plain", "anything"), "[redacted]");
}

TEST(SanitizerTest, BodiesAreCutAfterRedaction) {
    const Sanitizer sanitizer(Secrets(), {}, 64);
    const std::string long_text = std::string(60, 'x') + kSecret + std::string(1000, 'y');
    const std::string clean = sanitizer.ResponseBody("text/plain", long_text);
    EXPECT_TRUE(clean.starts_with(std::string(60, 'x') + "[redacted]...[1000 more bytes]")) << clean;
    ExpectNoLeak(clean);
}

TEST(SanitizerTest, SanitizePathsParseAndRejectUnknownForms) {
    const auto rules =
        SanitizeRules::FromPaths({"request.headers.Authorization", "response.headers.x-token", "request.qs.api.key",
                                  "request.query.sig", "request.body.a.b", "response.body.token", "request.body"});
    ASSERT_TRUE(rules.has_value());
    EXPECT_EQ(rules->request_headers, std::vector<std::string>{"authorization"});
    EXPECT_EQ(rules->response_headers, std::vector<std::string>{"x-token"});
    EXPECT_EQ(rules->query_keys, (std::vector<std::string>{"api.key", "sig"}));
    ASSERT_EQ(rules->request_body.size(), 2u);
    EXPECT_EQ(rules->request_body[0], (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(rules->request_body[1].empty());
    EXPECT_EQ(rules->response_body[0], std::vector<std::string>{"token"});

    for (const char* bad : {"", "request", "request.headers", "request.cookies.x", "response.qs.x", "foo.body",
                            "request.body..x", "request.headers."}) {
        const auto parsed = SanitizeRules::FromPaths({bad});
        ASSERT_FALSE(parsed.has_value()) << bad;
        EXPECT_EQ(parsed.error().code, core::Errc::kInvalidArgument);
    }
}

TEST(SanitizerTest, DescribeBuildsASanitisedEntryForResponsesAndErrors) {
    const auto sanitizer = std::make_shared<Sanitizer>(Secrets(), Rules({"request.body.pin"}));
    Request request;
    request.method = "POST";
    request.url = "https://api.test/v1/items";
    request.query = {{"key", kSecret}, {"page", "1"}};
    request.headers = {{"Authorization", "Bearer " + kSecret}, {"X-Note", kSecret}};
    request.body = JsonBody{boost::json::object{{"pin", "1234"}, {"text", kSecret}}};

    Response response;
    response.status = 201;
    response.headers = {{"content-type", "application/json"}, {"set-cookie", "sid=" + kSecret}};
    response.body = R"({"echo":")" + PercentEncode(kSecret) + R"("})";
    response.url = "https://api.test/v1/items/9?token=" + PercentEncode(kSecret);
    response.redirects = 1;
    const LogEntry entry = sanitizer->Describe(request, response, std::chrono::milliseconds(42));

    EXPECT_EQ(entry.method, "POST");
    EXPECT_EQ(entry.url, "https://api.test/v1/items?key=[redacted]&page=1");
    EXPECT_EQ(entry.final_url, "https://api.test/v1/items/9?token=[redacted]");
    EXPECT_EQ(entry.status, 201);
    EXPECT_EQ(entry.request_body, R"({"pin":"[redacted]","text":"[redacted]"})");
    EXPECT_EQ(entry.response_body, R"({"echo":"[redacted]"})");
    EXPECT_EQ(entry.response_bytes, response.body.size());
    EXPECT_EQ(entry.elapsed.count(), 42);
    const std::string summary = entry.Summary();
    EXPECT_EQ(summary, "POST https://api.test/v1/items?key=[redacted]&page=1 -> 201 (" +
                           std::to_string(response.body.size()) +
                           " bytes) in 42 ms after 1 redirect(s) to https://api.test/v1/items/9?token=[redacted]");
    for (const auto& [name, value] : entry.request_headers) ExpectNoLeak(value);
    for (const auto& [name, value] : entry.response_headers) ExpectNoLeak(value);

    const core::Result<Response> failure =
        core::Error::Make(core::Errc::kUpstreamError, "could not connect", "GET https://x/" + kSecret);
    const LogEntry failed = sanitizer->Describe(request, failure, std::chrono::milliseconds(5));
    EXPECT_EQ(failed.status, 0);
    EXPECT_EQ(failed.error, "could not connect: GET https://x/[redacted]");
    EXPECT_EQ(failed.Summary(),
              "POST https://api.test/v1/items?key=[redacted]&page=1 -> failed in 5 ms: could not connect: GET "
              "https://x/[redacted]");
}

}  // namespace
}  // namespace switchboard::http_client

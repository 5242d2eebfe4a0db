#include "connections/parameters.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "catalog/validate.hpp"

namespace switchboard::connections {
namespace {

namespace json = boost::json;

// The parameters of a connection type, parsed by the catalog as in production.
std::vector<catalog::Parameter> Params() {
    auto app = catalog::ParseApp(json::parse(R"({
      "name": "t", "label": "T", "version": "1.0.0", "description": "d", "theme": "#000000",
      "connections": {"t": {"type": "apikey", "label": "T", "parameters": [
        {"name": "key", "type": "password", "label": "Key", "required": true,
         "validate": {"pattern": "^k-[a-z]+$", "min": 4, "max": 12}},
        {"name": "email", "type": "email", "label": "Email"},
        {"name": "site", "type": "url", "label": "Site"},
        {"name": "port", "type": "number", "label": "Port", "validate": {"min": 1, "max": 65535}},
        {"name": "tls", "type": "boolean", "label": "TLS"},
        {"name": "region", "type": "select", "label": "Region", "editable": false, "default": "eu",
         "options": [{"label": "EU", "value": "eu"}, {"label": "US", "value": "us"}]},
        {"name": "tags", "type": "array", "label": "Tags"}
      ], "api": {"url": "https://t.example/me"}}}})"),
                                 "t.json", false);
    EXPECT_TRUE(app) << (app ? "" : app.error().detail);
    return app->connections.at(0).parameters;
}

std::vector<std::string> Problems(const json::object& given, const json::object* previous = nullptr) {
    auto r = CheckParameters(Params(), given, previous);
    if (r) return {};
    return r.error().suberrors;
}

TEST(CheckParameters, AcceptsAndNormalisesGoodValues) {
    auto r = CheckParameters(Params(), json::parse(R"({"key":"k-abc","email":"a@b.co","site":"https://x.test",
        "port":"8080","tls":"true","tags":["a"]})")
                                           .as_object());
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->values.at("port"), json::value(8080));
    EXPECT_EQ(r->values.at("tls"), json::value(true));
    EXPECT_EQ(r->values.at("region"), json::value("eu"));  // default applied
}

TEST(CheckParameters, EveryBadFieldIsOneSuberror) {
    struct Case {
        const char* given;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases{
        {R"({})", {"key: is required"}},
        {R"({"key":""})", {"key: is required"}},
        {R"({"key":5})", {"key: must be a string"}},
        {R"({"key":"k-"})", {"key: must be at least 4 characters"}},
        {R"({"key":"k-abcdefghijkl"})", {"key: must be at most 12 characters"}},
        {R"({"key":"x-abc"})", {"key: does not match the expected format ^k-[a-z]+$"}},
        {R"({"key":"k-ab","email":"nope"})", {"email: must be an email address"}},
        {R"({"key":"k-ab","site":"ftp://x"})", {"site: must be an http(s) URL"}},
        {R"({"key":"k-ab","port":"80a"})", {"port: must be a number"}},
        {R"({"key":"k-ab","port":0})", {"port: must be at least 1"}},
        {R"({"key":"k-ab","tls":"yes"})", {"tls: must be true or false"}},
        {R"({"key":"k-ab","region":"mars"})", {"region: must be one of the listed options"}},
        {R"({"key":"k-ab","tags":"a"})", {"tags: must be an array"}},
        {R"({"key":"k-ab","colour":"red"})", {"colour: is not a field of this connection type"}},
        {R"({"email":"x","port":-1})",
         {"key: is required", "email: must be an email address", "port: must be at least 1"}},
    };
    for (const auto& c : cases) {
        auto got = Problems(json::parse(c.given).as_object());
        std::sort(got.begin(), got.end());
        auto want = c.expected;
        std::sort(want.begin(), want.end());
        EXPECT_EQ(got, want) << c.given;
    }
}

TEST(CheckParameters, NonEditableFieldsKeepTheirValueOnEdit) {
    const json::object previous = json::parse(R"({"key":"k-old","region":"us"})").as_object();
    auto kept = CheckParameters(Params(), json::parse(R"({"key":"k-new"})").as_object(), &previous);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->values.at("region"), json::value("us"));
    EXPECT_EQ(Problems(json::parse(R"({"key":"k-new","region":"eu"})").as_object(), &previous),
              std::vector<std::string>{"region: cannot be changed; create a new connection instead"});
    EXPECT_TRUE(CheckParameters(Params(), json::parse(R"({"key":"k-new","region":"us"})").as_object(), &previous));
}

TEST(NonSecretValues, DropsSecrets) {
    const json::object values = json::parse(R"({"key":"k-abc","email":"a@b.co"})").as_object();
    const json::object shown = NonSecretValues(Params(), values);
    EXPECT_FALSE(shown.contains("key"));
    EXPECT_EQ(shown.at("email"), json::value("a@b.co"));
}

}  // namespace
}  // namespace switchboard::connections

// Every built-in app in apps/ must validate, parse, load together and have its docs page; the verify requests
// of the connection types must be the vendors' real ones.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "catalog/catalog.hpp"
#include "catalog/validate.hpp"

namespace switchboard::catalog {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kApps = SWITCHBOARD_APPS_DIR;
const fs::path kDocs = SWITCHBOARD_DOCS_DIR;

std::vector<fs::path> AppFiles() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kApps)) {
        if (e.path().extension() == ".json") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST(BuiltinApps, EveryFileValidatesWithZeroProblemsAndParses) {
    const auto files = AppFiles();
    ASSERT_EQ(files.size(), 12u);
    for (const auto& file : files) {
        SCOPED_TRACE(file.string());
        auto problems = ValidateFile(file.string());
        for (const auto& p : problems) ADD_FAILURE() << ToString(p);
        std::vector<Problem> read_problems;
        auto doc = ReadJsonFile(file.string(), read_problems);
        ASSERT_TRUE(doc.has_value());
        auto app = ParseApp(*doc, file.string(), true);
        ASSERT_TRUE(app.has_value());
        EXPECT_EQ(app->name, file.stem().string()) << "the file is named after the app";
        EXPECT_FALSE(app->description.empty());
        EXPECT_TRUE(fs::exists(kDocs / "apps" / (app->name + ".md"))) << "docs/apps/" << app->name << ".md";
        for (const auto& ct : app->connections) {
            SCOPED_TRACE(ct.name);
            EXPECT_EQ(ct.name.rfind(app->name, 0), 0u) << "connection type names start with the app name";
            EXPECT_TRUE(std::any_of(ct.parameters.begin(), ct.parameters.end(), [](const Parameter& p) {
                return p.IsSecret() && p.required;
            })) << "every built-in connection type asks for a secret";
            ASSERT_TRUE(ct.api.is_object());
            EXPECT_TRUE(ct.api.as_object().contains("url"));
        }
        for (const auto& m : app->modules) {
            SCOPED_TRACE(m.name);
            ASSERT_TRUE(m.communication.is_object());
            const auto& url = m.communication.at("url").as_string();
            EXPECT_TRUE(url.starts_with("https://") || url.starts_with("{{")) << url;
            EXPECT_FALSE(m.interface.is_null()) << "modules declare their output";
        }
    }
}

TEST(BuiltinApps, LoadTogetherWithoutProblems) {
    Catalog catalog;
    auto report = catalog.Load(kApps.string(), "");
    EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
    std::set<std::string> names;
    for (const auto* app : catalog.Apps()) {
        names.insert(app->name);
        EXPECT_TRUE(app->builtin);
    }
    EXPECT_EQ(names, (std::set<std::string>{"airtable", "confluence", "github", "http", "jira", "mailchimp", "notion",
                                            "sendgrid", "slack", "stripe", "trello", "twilio"}));
}

struct Verify {
    std::string type;
    ConnectionKind kind;
    std::string method;
    std::string url;
};

TEST(BuiltinApps, VerifyRequestsAreTheVendorsRealEndpoints) {
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    const std::vector<Verify> expected = {
        {"http-basic", ConnectionKind::kBasic, "GET", "{{parameters.verifyUrl}}"},
        {"http-apikey", ConnectionKind::kApiKey, "GET", "{{parameters.verifyUrl}}"},
        {"http-bearer", ConnectionKind::kApiKey, "GET", "{{parameters.verifyUrl}}"},
        {"github", ConnectionKind::kApiKey, "GET", "https://api.github.com/user"},
        {"slack", ConnectionKind::kApiKey, "POST", "https://slack.com/api/auth.test"},
        {"jira", ConnectionKind::kBasic, "GET", "{{parameters.site}}/rest/api/3/myself"},
        {"confluence", ConnectionKind::kBasic, "GET", "{{parameters.site}}/wiki/rest/api/user/current"},
        {"airtable", ConnectionKind::kApiKey, "GET", "https://api.airtable.com/v0/meta/whoami"},
        {"notion", ConnectionKind::kApiKey, "GET", "https://api.notion.com/v1/users/me"},
        {"stripe", ConnectionKind::kApiKey, "GET", "https://api.stripe.com/v1/account"},
        {"sendgrid", ConnectionKind::kApiKey, "GET", "https://api.sendgrid.com/v3/scopes"},
        {"mailchimp", ConnectionKind::kApiKey, "GET",
         "https://{{last(split(parameters.apiKey, '-'))}}.api.mailchimp.com/3.0/"},
        {"twilio", ConnectionKind::kBasic, "GET",
         "https://api.twilio.com/2010-04-01/Accounts/{{parameters.accountSid}}.json"},
        {"trello", ConnectionKind::kApiKey, "GET", "https://api.trello.com/1/members/me"},
    };
    for (const auto& v : expected) {
        SCOPED_TRACE(v.type);
        const auto* ct = catalog.FindConnectionType(v.type);
        ASSERT_NE(ct, nullptr);
        EXPECT_EQ(ct->kind, v.kind);
        EXPECT_EQ(ct->api.at("method").as_string(), v.method);
        EXPECT_EQ(ct->api.at("url").as_string(), v.url);
    }
    // The generic HTTP types verify only when the user gives a verify URL.
    EXPECT_EQ(catalog.FindConnectionType("http-basic")->api.at("condition").as_string(), "{{!!parameters.verifyUrl}}");
    EXPECT_EQ(catalog.FindConnectionType("slack")->api.at("response").at("valid").as_string(), "{{body.ok}}");
    EXPECT_EQ(catalog.FindConnectionType("github")->api.at("response").at("uid").as_string(), "{{body.id}}");
    EXPECT_EQ(catalog.FindConnectionType("notion")->api.at("headers").at("notion-version").as_string(), "2022-06-28");
}

TEST(BuiltinApps, ModuleScopesAreGrantedByDefault) {
    // A new connection holds the type's default scope; every built-in module must work with it.
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    for (const auto* app : catalog.Apps()) {
        for (const auto& m : app->modules) {
            if (m.scope.empty()) continue;
            const auto* ct = catalog.FindConnectionType(m.connection);
            ASSERT_NE(ct, nullptr) << m.name;
            for (const auto& s : m.scope) {
                EXPECT_TRUE(ct->KnowsScope(s)) << app->name << ":" << m.name << " " << s;
            }
        }
    }
    const auto* post = catalog.FindModule("slack:postMessage");
    ASSERT_NE(post, nullptr);
    EXPECT_EQ(post->scope, std::vector<std::string>{"chat:write"});
    EXPECT_EQ(post->communication.at("url").as_string(), "https://slack.com/api/chat.postMessage");
    EXPECT_EQ(post->communication.at("response").at("valid").as_string(), "{{body.ok}}");  // from the base
    EXPECT_EQ(catalog.FindModule("github:createIssue")->communication.at("headers").at("user-agent").as_string(),
              "Switchboard");
}

}  // namespace
}  // namespace switchboard::catalog

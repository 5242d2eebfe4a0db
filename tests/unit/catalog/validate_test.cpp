// Validator cases as data: tests/fixtures/catalog/invalid/NAME.json holds a broken definition and NAME.expect
// lists every problem it must produce ("PATH :: message fragment"); nothing more and nothing less may come out.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "catalog/validate.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::catalog {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kFixtures = SWITCHBOARD_CATALOG_FIXTURES;

struct Expected {
    std::string path;
    std::string fragment;
};

std::vector<Expected> ReadExpectations(const fs::path& file) {
    std::vector<Expected> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("schema:", 0) == 0) continue;
        auto sep = line.find(" :: ");
        if (sep == std::string::npos) {
            out.push_back({line, ""});
        } else {
            out.push_back({line.substr(0, sep), line.substr(sep + 4)});
        }
    }
    return out;
}

std::string Describe(const std::vector<Problem>& problems) {
    std::string out;
    for (const auto& p : problems) out += "  " + ToString(p) + "\n";
    return out;
}

json::value ParseText(std::string_view text) { return json::parse(text); }

TEST(ValidateFixtures, EveryInvalidFixtureReportsExactlyItsExpectedProblems) {
    std::size_t cases = 0;
    for (const auto& entry : fs::directory_iterator(kFixtures / "invalid")) {
        if (entry.path().extension() != ".json") continue;
        ++cases;
        const auto expect_file = fs::path(entry.path()).replace_extension(".expect");
        ASSERT_TRUE(fs::exists(expect_file)) << "missing " << expect_file;
        const auto expected = ReadExpectations(expect_file);
        ASSERT_FALSE(expected.empty()) << expect_file;
        auto actual = ValidateFile(entry.path().string());
        SCOPED_TRACE(entry.path().filename().string() + " reported:\n" + Describe(actual));

        std::vector<bool> used(actual.size(), false);
        for (const auto& e : expected) {
            bool found = false;
            for (std::size_t i = 0; i < actual.size() && !found; ++i) {
                if (!used[i] && actual[i].path == e.path && actual[i].message.find(e.fragment) != std::string::npos) {
                    used[i] = found = true;
                }
            }
            EXPECT_TRUE(found) << "expected problem not reported: " << e.path << " :: " << e.fragment;
        }
        for (std::size_t i = 0; i < actual.size(); ++i) {
            EXPECT_TRUE(used[i]) << "unexpected problem: " << ToString(actual[i]);
        }
    }
    EXPECT_GE(cases, 10u);
}

TEST(ValidateFixtures, ValidFixturesHaveNoProblemsAndParse) {
    std::size_t cases = 0;
    for (const auto& entry : fs::directory_iterator(kFixtures / "valid")) {
        ++cases;
        auto problems = ValidateFile(entry.path().string());
        EXPECT_TRUE(problems.empty()) << entry.path() << "\n" << Describe(problems);
        std::vector<Problem> read_problems;
        auto doc = ReadJsonFile(entry.path().string(), read_problems);
        ASSERT_TRUE(doc.has_value());
        EXPECT_TRUE(ParseApp(*doc, entry.path().string(), false).has_value()) << entry.path();
    }
    EXPECT_EQ(cases, 3u);
}

TEST(Validate, NativeTypesAndModulesParseWithoutRequests) {
    const auto file = (kFixtures / "valid" / "native.json").string();
    std::vector<Problem> problems;
    auto doc = ReadJsonFile(file, problems);
    ASSERT_TRUE(doc.has_value());
    auto app = ParseApp(*doc, file, false);
    ASSERT_TRUE(app.has_value()) << app.error().detail;
    const auto* server = app->FindConnectionType("nat-server");
    ASSERT_NE(server, nullptr);
    EXPECT_TRUE(server->native);
    EXPECT_TRUE(server->api.is_null());
    EXPECT_FALSE(app->FindConnectionType("nat-http")->native);
    const auto* watch = app->FindModule("watch");
    ASSERT_NE(watch, nullptr);
    EXPECT_TRUE(watch->native);
    EXPECT_EQ(watch->type, ModuleType::kTrigger);
    EXPECT_EQ(watch->connection, "nat-server");
    EXPECT_TRUE(watch->communication.is_null());
    ASSERT_EQ(watch->parameters.size(), 1u);
    EXPECT_EQ(watch->parameters[0].default_value.as_string(), "INBOX");
    const auto* ping = app->FindModule("ping");
    EXPECT_FALSE(ping->native);
    EXPECT_TRUE(ping->communication.is_object());
}

TEST(Validate, ProblemPathsQuoteKeysThatAreNotIdentifiers) {
    auto problems = ValidateApp(ParseText(R"({"name":"a","label":"A","version":"1","it's":1,
        "modules":{"m":{"type":"action","label":"M","communication":{"url":"https://x.test","headers":{"a b":{}}}}}})"));
    ASSERT_EQ(problems.size(), 2u) << Describe(problems);
    EXPECT_EQ(problems[0].path, R"($['it\'s'])");
    EXPECT_EQ(problems[1].path, "$.modules.m.communication.headers['a b']");
}

TEST(Validate, ReportsEveryProblemNotOnlyTheFirst) {
    auto problems = ValidateApp(ParseText(R"({"connections":{"x":{"type":"basic"}}})"));
    // name, label, version missing; the connection type lacks label and api.
    ASSERT_EQ(problems.size(), 5u) << Describe(problems);
    EXPECT_EQ(problems[0].path, "$.name");
    EXPECT_EQ(problems[3].path, "$.connections.x.label");
    EXPECT_EQ(problems[4].path, "$.connections.x.api");
}

TEST(Validate, ParseAppRefusesAnInvalidDocumentWithOneSuberrorPerProblem) {
    auto app = ParseApp(ParseText(R"({"name":"Bad","label":"","version":"1","modules":{}})"), "bad.json", false);
    ASSERT_FALSE(app.has_value());
    EXPECT_EQ(app.error().code, core::Errc::kInvalidArgument);
    EXPECT_NE(app.error().detail.find("bad.json"), std::string::npos);
    ASSERT_EQ(app.error().suberrors.size(), 3u);
    EXPECT_EQ(app.error().suberrors[0].rfind("$.name: ", 0), 0u) << app.error().suberrors[0];
}

TEST(ReadJsonFile, ReportsUnreadableAndOversizedFiles) {
    testing::TempDir dir;
    std::vector<Problem> problems;
    EXPECT_FALSE(ReadJsonFile(dir.file("missing.json"), problems).has_value());
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].path, "$");
    EXPECT_NE(problems[0].message.find("cannot read"), std::string::npos);

    {
        std::ofstream big(dir.file("big.json"));
        big << "[\"" << std::string(4 * 1024 * 1024 + 10, 'x') << "\"]";
    }
    problems.clear();
    EXPECT_FALSE(ReadJsonFile(dir.file("big.json"), problems).has_value());
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].message.find("larger than 4 MiB"), std::string::npos);
}

TEST(ReadJsonFile, SyntaxErrorsCarryLineAndColumn) {
    testing::TempDir dir;
    {
        std::ofstream f(dir.file("a.json"));
        f << "{\n  \"name\": \"x\",\n  \"label\": tru\n}\n";
    }
    std::vector<Problem> problems;
    EXPECT_FALSE(ReadJsonFile(dir.file("a.json"), problems).has_value());
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].message.find("at 3:"), std::string::npos) << problems[0].message;
}

TEST(ReadJsonFile, FindsDuplicateKeysInsideArrays) {
    testing::TempDir dir;
    {
        std::ofstream f(dir.file("a.json"));
        f << R"({"a": [1, {"b": 1}, {"c": 1, "c": 2}], "d": {"e": {}, "e": {}}})";
    }
    std::vector<Problem> problems;
    EXPECT_FALSE(ReadJsonFile(dir.file("a.json"), problems).has_value());
    ASSERT_EQ(problems.size(), 2u) << Describe(problems);
    EXPECT_EQ(problems[0].path, "$.a[2].c");
    EXPECT_EQ(problems[1].path, "$.d.e");
}

class ParsedAcme : public ::testing::Test {
  protected:
    void SetUp() override {
        std::vector<Problem> problems;
        auto doc = ReadJsonFile((kFixtures / "valid" / "oauth.json").string(), problems);
        ASSERT_TRUE(doc.has_value()) << Describe(problems);
        auto parsed = ParseApp(*doc, "acme.json", true);
        ASSERT_TRUE(parsed.has_value());
        app_ = std::move(*parsed);
    }
    App app_;
};

TEST_F(ParsedAcme, TopLevelFields) {
    EXPECT_EQ(app_.name, "acme");
    EXPECT_EQ(app_.label, "Acme CRM");
    EXPECT_EQ(app_.version, "3");
    EXPECT_EQ(app_.theme, "#AA3300");
    EXPECT_EQ(app_.source_file, "acme.json");
    EXPECT_TRUE(app_.builtin);
    EXPECT_TRUE(app_.base.contains("baseUrl"));
    ASSERT_EQ(app_.connections.size(), 3u);
    ASSERT_EQ(app_.modules.size(), 5u);
}

TEST_F(ParsedAcme, ConnectionTypes) {
    const auto* oauth = app_.FindConnectionType("acme-oauth");
    ASSERT_NE(oauth, nullptr);
    EXPECT_EQ(oauth->kind, ConnectionKind::kOAuthRefresh);
    EXPECT_TRUE(oauth->IsOAuth());
    EXPECT_TRUE(oauth->pkce);
    EXPECT_EQ(oauth->app, "acme");
    EXPECT_EQ(oauth->default_scope, std::vector<std::string>{"contacts.read"});
    ASSERT_EQ(oauth->scopes.size(), 3u);
    EXPECT_EQ(oauth->scopes[0].scope, "contacts.read");
    EXPECT_EQ(oauth->scopes[2].scope, "offline");  // the order written, not sorted
    EXPECT_EQ(oauth->scopes[1].description, "Create and change contacts");
    EXPECT_TRUE(oauth->KnowsScope("contacts.write"));
    EXPECT_FALSE(oauth->KnowsScope("admin"));
    EXPECT_EQ(oauth->common.at("clientId").as_string(), "operator-client-id");
    ASSERT_TRUE(oauth->api.is_object());
    EXPECT_EQ(oauth->api.at("authorize").at("response").at("temp").at("code").as_string(), "{{query.code}}");
    EXPECT_EQ(oauth->api.at("token").at("response").at("expires").as_string(), "{{addDays(now, 90)}}");

    const auto* secret = oauth->FindParameter("clientSecret");
    ASSERT_NE(secret, nullptr);
    EXPECT_TRUE(secret->IsSecret());
    EXPECT_FALSE(secret->editable);
    EXPECT_TRUE(secret->advanced);
    const auto* id = oauth->FindParameter("clientId");
    ASSERT_NE(id, nullptr);
    EXPECT_FALSE(id->IsSecret());
    EXPECT_TRUE(id->editable);
    EXPECT_EQ(oauth->FindParameter("nope"), nullptr);

    const auto* legacy = app_.FindConnectionType("acme-legacy");
    ASSERT_NE(legacy, nullptr);
    EXPECT_EQ(legacy->kind, ConnectionKind::kOAuth);
    EXPECT_FALSE(legacy->pkce);
    const auto* service = app_.FindConnectionType("acme-service");
    ASSERT_NE(service, nullptr);
    EXPECT_EQ(service->kind, ConnectionKind::kOAuthClientCredentials);
    EXPECT_TRUE(service->IsOAuth());
    EXPECT_TRUE(service->parameters.empty());
}

TEST_F(ParsedAcme, ModuleParameters) {
    const auto* mod = app_.FindModule("createContact");
    ASSERT_NE(mod, nullptr);
    EXPECT_EQ(mod->type, ModuleType::kAction);
    EXPECT_EQ(mod->connection, "acme-oauth");
    EXPECT_EQ(mod->scope, std::vector<std::string>{"contacts.write"});
    EXPECT_EQ(mod->app, "acme");
    ASSERT_EQ(mod->parameters.size(), 1u);
    const auto& list = mod->parameters[0];
    EXPECT_EQ(list.type, ParamType::kSelect);
    ASSERT_EQ(list.options.size(), 2u);
    EXPECT_EQ(list.options[1].label, "Customers");
    EXPECT_EQ(list.options[1].value, json::value(2));
    EXPECT_EQ(list.default_value, json::value(2));

    ASSERT_EQ(mod->expect.size(), 5u);
    EXPECT_TRUE(mod->expect[0].required);
    EXPECT_EQ(mod->expect[0].type, ParamType::kEmail);
    EXPECT_TRUE(mod->expect[0].default_value.is_null());
    EXPECT_EQ(mod->expect[1].validate.min_value, 0.0);
    EXPECT_EQ(mod->expect[1].validate.max_value, 150.0);
    EXPECT_FALSE(mod->expect[1].validate.min_length.has_value());
    EXPECT_EQ(mod->expect[2].default_value, json::value(false));
    EXPECT_EQ(mod->expect[3].validate.max_length, 10u);
    const auto& code = mod->expect[4].validate;
    ASSERT_TRUE(code.pattern.has_value());
    EXPECT_EQ(code.pattern_source, "^[A-Z]{3}$");
    EXPECT_TRUE(std::regex_search("ABC", *code.pattern));
    EXPECT_FALSE(std::regex_search("abc", *code.pattern));
    EXPECT_EQ(code.min_length, 3u);
    EXPECT_EQ(code.max_length, 3u);
    ASSERT_TRUE(mod->interface.is_array());
    EXPECT_EQ(mod->interface.as_array().size(), 2u);
}

TEST_F(ParsedAcme, InstantTriggersKeepTheirCommunicationUnmerged) {
    const auto* instant = app_.FindModule("contactCreated");
    ASSERT_NE(instant, nullptr);
    EXPECT_EQ(instant->type, ModuleType::kInstant);
    EXPECT_EQ(instant->communication,
              ParseText(R"({"response":{"output":"{{body.contact}}","iterate":"{{body.events}}"}})"));
    const auto* bare = app_.FindModule("contactDeleted");
    ASSERT_NE(bare, nullptr);
    EXPECT_TRUE(bare->communication.is_null());
    EXPECT_EQ(app_.FindModule("watchContacts")->type, ModuleType::kTrigger);
    EXPECT_EQ(app_.FindModule("makeApiCall")->type, ModuleType::kUniversal);
}

TEST(Enums, RoundTripThroughTheirNames) {
    for (auto s : {"text", "password", "email", "url", "number", "select", "boolean", "array"}) {
        auto t = ParamTypeFromString(s);
        ASSERT_TRUE(t.has_value()) << s;
        EXPECT_EQ(ToString(*t), s);
    }
    for (auto s : {"basic", "apikey", "other", "oauth", "oauth-refresh", "oauth-clicre"}) {
        auto k = ConnectionKindFromString(s);
        ASSERT_TRUE(k.has_value()) << s;
        EXPECT_EQ(ToString(*k), s);
    }
    for (auto s : {"trigger", "instant", "action", "search", "universal"}) {
        auto m = ModuleTypeFromString(s);
        ASSERT_TRUE(m.has_value()) << s;
        EXPECT_EQ(ToString(*m), s);
    }
    EXPECT_FALSE(ParamTypeFromString("Text").has_value());
    EXPECT_FALSE(ConnectionKindFromString("oauth2").has_value());
    EXPECT_FALSE(ModuleTypeFromString("responder").has_value());
}

TEST(Parameter, SensitiveTextIsSecret) {
    Parameter p;
    p.type = ParamType::kText;
    EXPECT_FALSE(p.IsSecret());
    p.sensitive = true;
    EXPECT_TRUE(p.IsSecret());
}

}  // namespace
}  // namespace switchboard::catalog

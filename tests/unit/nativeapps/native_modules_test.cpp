// The native modules as the runner calls them, for what is decided before any network access: input checks and
// the SSRF policy (loopback refused unless the server allows private networks). The servers themselves are
// exercised in tests/integration/email_apps.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "catalog/catalog.hpp"
#include "engine/runner.hpp"
#include "nativeapps/native_apps.hpp"
#include "nativeapps/native_verifier.hpp"

namespace switchboard::nativeapps {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "pa55-Word-9c1e";

class NativeModulesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto report = catalog.Load(SWITCHBOARD_APPS_DIR, "");
        ASSERT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
        RegisterNativeModules(registry, NativeAppsOptions{});
        env.sanitizer = std::make_shared<http_client::Sanitizer>(std::vector<core::Secret>{core::Secret(kPassword)});
    }

    // Runs `name` with the connection fields and the module fields, as the runner would.
    engine::ModuleOutcome Run(const std::string& name, const std::string& connection_type, json::object connection,
                              json::object fields, json::value mapper = nullptr) {
        auto info = engine::DescribeModule(catalog, registry, name);
        EXPECT_TRUE(info.has_value()) << name;
        if (!info) return {};
        EXPECT_EQ(info->connection_type, connection_type);
        resolved.row.type = connection_type;
        resolved.type = catalog.FindConnectionType(connection_type);
        resolved.credentials.parameters = std::move(connection);
        node.module = name;
        node.mapper = std::move(mapper);
        engine::ModuleCall call;
        call.node = &node;
        call.definition = info->definition;
        call.parameters = std::move(fields);
        call.connection = &resolved;
        call.env = &env;
        return info->native->run(call);
    }

    static json::object Imap() {
        return json::object{{"host", "127.0.0.1"},
                            {"port", 1},
                            {"security", "none"},
                            {"username", "ana@example.test"},
                            {"password", kPassword}};
    }
    static json::object Postgres(const std::string& host = "127.0.0.1") {
        return json::object{{"host", host},      {"port", 5432},          {"database", "crm"},
                            {"username", "app"}, {"password", kPassword}, {"sslMode", "disable"}};
    }

    catalog::Catalog catalog;
    engine::ModuleRegistry registry = engine::ModuleRegistry::WithBuiltins();
    engine::RunEnv env;
    engine::ModuleNode node;
    connections::ResolvedConnection resolved;
};

void ExpectFailure(const engine::ModuleOutcome& out, std::string_view type, std::string_view fragment) {
    ASSERT_TRUE(out.failure.has_value());
    EXPECT_EQ(out.failure->type, type) << out.failure->message;
    EXPECT_NE(out.failure->message.find(fragment), std::string::npos) << out.failure->message;
    EXPECT_EQ(out.failure->message.find(kPassword), std::string::npos);
    EXPECT_TRUE(out.bundles.empty());
    EXPECT_FALSE(out.cursor.has_value());
}

TEST_F(NativeModulesTest, EveryNativeModuleOfTheCatalogHasAnImplementation) {
    int native = 0;
    for (const auto* app : catalog.Apps()) {
        for (const auto& m : app->modules) {
            if (!m.native) continue;
            ++native;
            const std::string name = app->name + ":" + m.name;
            auto info = engine::DescribeModule(catalog, registry, name);
            ASSERT_TRUE(info.has_value()) << name;
            EXPECT_NE(info->native, nullptr) << name;
            EXPECT_EQ(info->type, m.type) << name;
            EXPECT_EQ(registry.Find(name)->type, m.type) << name << ": the registration mirrors the definition";
            // Their IMAP, SMTP and libpq clients block a thread: in a webhook's fiber the runner offloads them.
            EXPECT_TRUE(registry.Find(name)->blocks) << name;
        }
    }
    EXPECT_EQ(native, 10);
}

TEST_F(NativeModulesTest, SendEmailChecksItsInputBeforeConnecting) {
    auto smtp = Imap();
    ExpectFailure(Run("email:sendEmail", "email-smtp", smtp, {{"subject", "x"}}), engine::errors::kBundleValidation,
                  "recipient");
    ExpectFailure(Run("email:sendEmail", "email-smtp", smtp, {{"to", "not-an-address"}}),
                  engine::errors::kBundleValidation, "to");
    ExpectFailure(Run("email:sendEmail", "email-smtp", smtp,
                      {{"to", json::array{"b@example.test"}},
                       {"attachments", json::array{json::object{{"fileName", "a.txt"}, {"data", "%%%"}}}}}),
                  engine::errors::kBundleValidation, "base64");
    smtp["username"] = "ana";  // not an address: From must be given
    ExpectFailure(Run("email:sendEmail", "email-smtp", smtp, {{"to", "b@example.test"}}),
                  engine::errors::kBundleValidation, "from");
}

TEST_F(NativeModulesTest, LoopbackMailServersAreRefusedWithoutThePrivateNetworkSetting) {
    ExpectFailure(Run("email:watchEmails", "email-imap", Imap(), {}), engine::errors::kInvalidConfiguration,
                  "127.0.0.1");
    ExpectFailure(Run("email:markAsRead", "email-imap", Imap(), {{"uid", 3}}), engine::errors::kInvalidConfiguration,
                  "127.0.0.1");
    ExpectFailure(Run("email:markAsRead", "email-imap", Imap(), {}), engine::errors::kBundleValidation, "uid");
    ExpectFailure(Run("email:moveEmail", "email-imap", Imap(), {{"uid", "7"}}), engine::errors::kBundleValidation,
                  "destination");
    ExpectFailure(Run("email:sendEmail", "email-smtp", Imap(), {{"to", "b@example.test"}}),
                  engine::errors::kInvalidConfiguration, "127.0.0.1");
    auto broken = Imap();
    broken["security"] = "ssl";
    ExpectFailure(Run("email:watchEmails", "email-imap", broken, {}), engine::errors::kInvalidConfiguration,
                  "security");
}

TEST_F(NativeModulesTest, PostgresModulesCheckInputAndTheAddressBeforeConnecting) {
    ExpectFailure(Run("postgres:insertRow", "postgres", Postgres(),
                      {{"table", "t"}, {"values", json::array{json::object{{"column", "a"}, {"value", 1}}}}}),
                  engine::errors::kInvalidConfiguration, "127.0.0.1");
    ExpectFailure(Run("postgres:insertRow", "postgres", Postgres("10.0.0.5,127.0.0.1"),
                      {{"table", "t"}, {"values", json::array{}}}),
                  engine::errors::kInvalidConfiguration, "one host");
    ExpectFailure(Run("postgres:insertRow", "postgres", Postgres(), {{"table", "t"}}),
                  engine::errors::kBundleValidation, "values");
    ExpectFailure(Run("postgres:selectRows", "postgres", Postgres(), {{"table", "t"}, {"limit", 0}}),
                  engine::errors::kBundleValidation, "limit");
    // The query text itself must not be mapped: values go through params.
    ExpectFailure(Run("postgres:executeQuery", "postgres", Postgres(), {{"query", "SELECT * FROM t WHERE a = 'x'"}},
                      json::object{{"query", "SELECT * FROM t WHERE a = '{{1.subject}}'"}}),
                  engine::errors::kBundleValidation, "$1");
    ExpectFailure(Run("postgres:executeQuery", "postgres", Postgres(), {{"query", "SELECT 1"}, {"params", "x"}}),
                  engine::errors::kBundleValidation, "params");
    ExpectFailure(Run("postgres:watchRows", "postgres", Postgres(), {{"table", "t"}}),
                  engine::errors::kBundleValidation, "column");
}

class FakeVerifier final : public connections::Verifier {
  public:
    bool HasVerifyRequest(const catalog::ConnectionType&) const override { return true; }
    core::Result<connections::VerifyResult> Verify(const catalog::App&, const catalog::ConnectionType& type,
                                                   const json::object&, const json::object&) override {
        asked.push_back(type.name);
        connections::VerifyResult r;
        r.verified = true;
        return r;
    }
    std::vector<std::string> asked;
};

TEST_F(NativeModulesTest, TheVerifierChecksNativeTypesAndDelegatesTheRest) {
    FakeVerifier http;
    NativeVerifier verifier(http, NativeAppsOptions{});
    const auto* imap = catalog.FindConnectionType("email-imap");
    const auto* pg = catalog.FindConnectionType("postgres");
    const auto* github = catalog.FindConnectionType("github");
    ASSERT_TRUE(imap && pg && github);
    EXPECT_TRUE(verifier.HasVerifyRequest(*imap));
    EXPECT_TRUE(verifier.HasVerifyRequest(*pg));

    auto refused = verifier.Verify(*catalog.FindApp("email"), *imap, Imap(), {});
    ASSERT_TRUE(refused.has_value());
    EXPECT_FALSE(refused->verified);
    EXPECT_NE(refused->message.find("127.0.0.1"), std::string::npos) << refused->message;
    EXPECT_EQ(refused->message.find(kPassword), std::string::npos);
    auto pg_refused = verifier.Verify(*catalog.FindApp("postgres"), *pg, Postgres(), {});
    ASSERT_TRUE(pg_refused.has_value());
    EXPECT_FALSE(pg_refused->verified);
    EXPECT_NE(pg_refused->message.find("loopback"), std::string::npos) << pg_refused->message;
    EXPECT_TRUE(http.asked.empty());

    auto delegated = verifier.Verify(*catalog.FindApp("github"), *github, {}, {});
    ASSERT_TRUE(delegated.has_value());
    EXPECT_TRUE(delegated->verified);
    EXPECT_EQ(http.asked, (std::vector<std::string>{"github"}));
}

}  // namespace
}  // namespace switchboard::nativeapps

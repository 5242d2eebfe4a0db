// DescribeModule: how the runner and the scenario checks see a module name (built-in, app JSON, native app module,
// the universal API call).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/runner.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::engine {
namespace {

constexpr const char* kNativeApp = R"({
  "name": "nat", "label": "Native", "version": "1", "description": "A native test app",
  "connections": {"nat-server": {"type": "basic", "label": "Server", "native": true,
                                 "parameters": [{"name": "password", "type": "password", "label": "Password"}]}},
  "modules": {
    "watch": {"type": "trigger", "label": "Watch", "native": true, "connection": "nat-server"},
    "missing": {"type": "action", "label": "No implementation", "native": true, "connection": "nat-server"}
  }
})";

class DescribeModuleTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::ofstream(dir.file("nat.json")) << kNativeApp;
        auto report = catalog.Load(dir.path().string(), "");
        ASSERT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
        registry.Add({"nat:watch", catalog::ModuleType::kAction, "", {"ignored"}, [](ModuleCall&) {
                          ModuleOutcome out;
                          out.bundles.push_back(boost::json::object{{"ran", true}});
                          return out;
                      }});
    }
    testing::TempDir dir;
    catalog::Catalog catalog;
    ModuleRegistry registry = ModuleRegistry::WithBuiltins();
};

TEST_F(DescribeModuleTest, ANativeAppModuleRunsTheRegisteredCodeWithTheCatalogDefinition) {
    auto info = DescribeModule(catalog, registry, "nat:watch");
    ASSERT_TRUE(info.has_value());
    ASSERT_NE(info->native, nullptr);
    ASSERT_NE(info->definition, nullptr);
    EXPECT_EQ(info->definition->name, "watch");
    // The definition wins over what the registration says.
    EXPECT_EQ(info->type, catalog::ModuleType::kTrigger);
    EXPECT_EQ(info->connection_type, "nat-server");
    EXPECT_TRUE(info->NeedsConnection());
    EXPECT_TRUE(info->scope.empty());
    EXPECT_TRUE(info->IsTrigger());
    ModuleCall call;
    EXPECT_TRUE(info->native->run(call).bundles.at(0).as_object().at("ran").as_bool());
}

TEST_F(DescribeModuleTest, ANativeAppModuleWithoutAnImplementationIsUnknown) {
    EXPECT_FALSE(DescribeModule(catalog, registry, "nat:missing").has_value());
    EXPECT_FALSE(DescribeModule(catalog, registry, "nat:makeApiCall").has_value());  // no base URL
}

TEST_F(DescribeModuleTest, BuiltInsStayAsTheyWere) {
    auto http = DescribeModule(catalog, registry, "http:ActionSendData");
    ASSERT_TRUE(http.has_value());
    ASSERT_NE(http->native, nullptr);
    EXPECT_EQ(http->definition, nullptr);
    EXPECT_EQ(http->connection_app, "http");
    EXPECT_FALSE(DescribeModule(catalog, registry, "nat:nothing").has_value());
}

}  // namespace
}  // namespace switchboard::engine

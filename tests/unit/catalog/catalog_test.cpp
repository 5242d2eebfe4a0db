// Catalog::Load over real folders: built-in apps/ plus an operator folder with broken and clashing files.
#include "catalog/catalog.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace switchboard::catalog {
namespace {

namespace fs = std::filesystem;

const std::string kApps = SWITCHBOARD_APPS_DIR;
constexpr std::size_t kBuiltinApps = 26;  // apps/*.json

void Write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
}

std::string MinimalApp(const std::string& name, const std::string& label, const std::string& type_name) {
    return R"({"name":")" + name + R"(","label":")" + label + R"(","version":"1","connections":{")" + type_name +
           R"(":{"type":"apikey","label":"Key","parameters":[{"name":"apiKey","type":"password","label":"Key"}],)" +
           R"("api":{"url":"https://example.test/me"}}},"modules":{"ping":{"type":"action","label":"Ping","connection":")" +
           type_name + R"(","communication":{"url":"https://example.test/ping"}}}})";
}

const FileReport* ReportFor(const LoadReport& report, const std::string& file_name) {
    auto it = std::find_if(report.files.begin(), report.files.end(),
                           [&](const FileReport& f) { return fs::path(f.file).filename() == file_name; });
    return it == report.files.end() ? nullptr : &*it;
}

class OperatorFolder : public ::testing::Test {
  protected:
    void SetUp() override {
        Write(dir_, "acme.json", MinimalApp("acme", "Acme", "acme"));
        Write(dir_, "broken-syntax.json", R"({"name": "oops",)");
        Write(dir_, "broken-rules.json", R"({"name": "Rules", "label": "Rules", "version": "1", "modules": {}})");
        Write(dir_, "steals-github.json", MinimalApp("my-github", "My GitHub", "github"));
        Write(dir_, "slack-again.json", MinimalApp("slack", "Another Slack", "slack-custom"));
        Write(dir_, "zeta.json", MinimalApp("zeta", "Zeta", "acme"));  // loaded after acme.json: loses
        Write(dir_, "notes.txt", "not an app");
        Write(dir_, ".hidden.json", "{");
        fs::create_directory(dir_.path() / "sub.json");
        report_ = catalog_.Load(kApps, dir_.path().string());
    }

    testing::TempDir dir_;
    Catalog catalog_;
    LoadReport report_;
};

TEST_F(OperatorFolder, BrokenOperatorFilesAreReportedAndSkippedWhileOthersLoad) {
    EXPECT_FALSE(report_.ok());
    EXPECT_FALSE(report_.HasBuiltinProblems()) << ::testing::PrintToString(report_.Lines());

    const auto* acme = ReportFor(report_, "acme.json");
    ASSERT_NE(acme, nullptr);
    EXPECT_TRUE(acme->loaded);
    EXPECT_FALSE(acme->builtin);
    EXPECT_TRUE(acme->problems.empty());
    ASSERT_NE(catalog_.FindApp("acme"), nullptr);
    EXPECT_FALSE(catalog_.FindApp("acme")->builtin);

    const auto* syntax = ReportFor(report_, "broken-syntax.json");
    ASSERT_NE(syntax, nullptr);
    EXPECT_FALSE(syntax->loaded);
    ASSERT_EQ(syntax->problems.size(), 1u);
    EXPECT_NE(syntax->problems[0].message.find("JSON syntax error at 1:"), std::string::npos);
    EXPECT_EQ(catalog_.FindApp("oops"), nullptr);

    const auto* rules = ReportFor(report_, "broken-rules.json");
    ASSERT_NE(rules, nullptr);
    EXPECT_FALSE(rules->loaded);
    ASSERT_EQ(rules->problems.size(), 2u);
    EXPECT_EQ(rules->problems[0].path, "$.name");

    // Only *.json regular files that are not hidden are looked at.
    EXPECT_EQ(ReportFor(report_, "notes.txt"), nullptr);
    EXPECT_EQ(ReportFor(report_, ".hidden.json"), nullptr);
    EXPECT_EQ(ReportFor(report_, "sub.json"), nullptr);

    const auto lines = report_.Lines();
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        dir_.file("broken-rules.json") + ": $: an app needs at least one connection type or module"),
              lines.end())
        << ::testing::PrintToString(lines);
}

TEST_F(OperatorFolder, ConnectionTypeNamesAreUniqueAcrossTheCatalogAndBuiltinsWin) {
    const auto* steal = ReportFor(report_, "steals-github.json");
    ASSERT_NE(steal, nullptr);
    EXPECT_FALSE(steal->loaded);
    ASSERT_EQ(steal->problems.size(), 1u);
    EXPECT_EQ(steal->problems[0].path, "$.connections.github");
    EXPECT_NE(steal->problems[0].message.find("already defined by app \"github\""), std::string::npos);
    EXPECT_EQ(catalog_.FindApp("my-github"), nullptr);
    ASSERT_NE(catalog_.FindConnectionType("github"), nullptr);
    EXPECT_EQ(catalog_.FindConnectionType("github")->app, "github");

    const auto* zeta = ReportFor(report_, "zeta.json");
    ASSERT_NE(zeta, nullptr);
    EXPECT_FALSE(zeta->loaded);
    ASSERT_EQ(zeta->problems.size(), 1u);
    EXPECT_EQ(zeta->problems[0].path, "$.connections.acme");
    EXPECT_EQ(catalog_.FindConnectionType("acme")->app, "acme");
}

TEST_F(OperatorFolder, AppNamesAreUniqueAndBuiltinsWin) {
    const auto* again = ReportFor(report_, "slack-again.json");
    ASSERT_NE(again, nullptr);
    EXPECT_FALSE(again->loaded);
    ASSERT_EQ(again->problems.size(), 1u);
    EXPECT_EQ(again->problems[0].path, "$.name");
    EXPECT_EQ(catalog_.FindApp("slack")->label, "Slack");
    EXPECT_EQ(catalog_.FindConnectionType("slack-custom"), nullptr);
}

TEST_F(OperatorFolder, Lookups) {
    const auto* type = catalog_.FindConnectionType("http-apikey");
    ASSERT_NE(type, nullptr);
    EXPECT_EQ(type->app, "http");
    EXPECT_EQ(type->kind, ConnectionKind::kApiKey);
    EXPECT_EQ(catalog_.FindConnectionType("http"), nullptr);

    const auto* module = catalog_.FindModule("github", "createIssue");
    ASSERT_NE(module, nullptr);
    EXPECT_EQ(module->label, "Create an issue");
    EXPECT_EQ(catalog_.FindModule("github:createIssue"), module);
    EXPECT_EQ(catalog_.FindModule("acme:ping"), catalog_.FindModule("acme", "ping"));
    EXPECT_NE(catalog_.FindModule("acme:ping"), nullptr);
    EXPECT_EQ(catalog_.FindModule("github"), nullptr);
    EXPECT_EQ(catalog_.FindModule("github:"), nullptr);
    EXPECT_EQ(catalog_.FindModule("nope:createIssue"), nullptr);
    EXPECT_EQ(catalog_.FindModule("github", "nope"), nullptr);
    EXPECT_EQ(catalog_.FindApp("nope"), nullptr);
}

TEST_F(OperatorFolder, AppsAreSortedByLabel) {
    auto apps = catalog_.Apps();
    ASSERT_EQ(apps.size(), kBuiltinApps + 1);  // the built-in apps + acme
    EXPECT_TRUE(
        std::is_sorted(apps.begin(), apps.end(), [](const App* a, const App* b) { return a->label < b->label; }));
    EXPECT_EQ(apps.front()->name, "acme");
    EXPECT_EQ(apps.back()->name, "zoom");
    EXPECT_EQ(report_.LoadedCount(), kBuiltinApps + 1);
}

TEST(CatalogLoad, AMissingOperatorFolderIsReportedAndBuiltinsStillLoad) {
    Catalog catalog;
    auto report = catalog.Load(kApps, "/nonexistent/switchboard-apps");
    EXPECT_FALSE(report.ok());
    EXPECT_FALSE(report.HasBuiltinProblems());
    ASSERT_EQ(report.Lines().size(), 1u);
    EXPECT_EQ(report.Lines()[0].rfind("/nonexistent/switchboard-apps: $: cannot read the apps folder", 0), 0u);
    EXPECT_EQ(catalog.Apps().size(), kBuiltinApps);

    report = catalog.Load(kApps, kApps + "/http.json");  // a file, not a folder
    ASSERT_EQ(report.Lines().size(), 1u);
    EXPECT_NE(report.Lines()[0].find(": $: cannot read the apps folder"), std::string::npos);
    EXPECT_EQ(catalog.Apps().size(), kBuiltinApps);
}

TEST(CatalogLoad, AnEmptyOperatorFolderMeansNone) {
    Catalog catalog;
    auto report = catalog.Load(kApps, "");
    EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
    EXPECT_EQ(report.files.size(), kBuiltinApps);
}

TEST(CatalogLoad, BuiltinProblemsAreFlaggedAndTheLaterDuplicateIsSkipped) {
    testing::TempDir builtin;
    Write(builtin, "a.json", MinimalApp("a", "A", "shared"));
    Write(builtin, "b.json", MinimalApp("b", "B", "shared"));
    Catalog catalog;
    auto report = catalog.Load(builtin.path().string(), "");
    EXPECT_TRUE(report.HasBuiltinProblems());
    EXPECT_EQ(report.LoadedCount(), 1u);
    EXPECT_EQ(catalog.FindConnectionType("shared")->app, "a");
    EXPECT_EQ(catalog.FindApp("b"), nullptr);
}

TEST(CatalogLoad, AMissingBuiltinFolderIsABuiltinProblem) {
    Catalog catalog;
    auto report = catalog.Load("/nonexistent/builtin", "");
    EXPECT_TRUE(report.HasBuiltinProblems());
    EXPECT_TRUE(catalog.Apps().empty());
}

TEST(CatalogLoad, LoadingAgainReplacesTheCatalog) {
    testing::TempDir first;
    Write(first, "a.json", MinimalApp("a", "A", "type-a"));
    testing::TempDir second;
    Write(second, "b.json", MinimalApp("b", "B", "type-a"));
    Catalog catalog;
    EXPECT_TRUE(catalog.Load(first.path().string(), "").ok());
    auto report = catalog.Load(second.path().string(), "");
    EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
    EXPECT_EQ(catalog.FindApp("a"), nullptr);
    EXPECT_EQ(catalog.FindConnectionType("type-a")->app, "b");
}

}  // namespace
}  // namespace switchboard::catalog

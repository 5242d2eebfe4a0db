#include "catalog/validate_cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace switchboard::catalog {
namespace {

const std::string kFixtures = SWITCHBOARD_CATALOG_FIXTURES;

TEST(RunAppValidate, NoFilesIsAUsageError) {
    std::ostringstream out, err;
    EXPECT_EQ(RunAppValidate({}, out, err), 2);
    EXPECT_TRUE(out.str().empty());
    EXPECT_NE(err.str().find("usage: switchboard app validate FILE"), std::string::npos);
}

TEST(RunAppValidate, ValidFilesPrintOkAndExitZero) {
    std::ostringstream out, err;
    const std::string a = kFixtures + "/valid/minimal.json";
    const std::string b = kFixtures + "/valid/oauth.json";
    EXPECT_EQ(RunAppValidate({a, b}, out, err), 0);
    EXPECT_EQ(out.str(), a + ": ok\n" + b + ": ok\n");
    EXPECT_TRUE(err.str().empty());
}

TEST(RunAppValidate, EveryProblemOfEveryFileIsPrintedAndTheExitCodeIsOne) {
    std::ostringstream out, err;
    const std::string good = kFixtures + "/valid/minimal.json";
    const std::string bad = kFixtures + "/invalid/base.json";
    const std::string missing = kFixtures + "/invalid/does-not-exist.json";
    EXPECT_EQ(RunAppValidate({bad, good, missing}, out, err), 1);
    const std::string text = out.str();
    EXPECT_NE(text.find(bad + ": $.base.body: unknown key \"body\""), std::string::npos) << text;
    EXPECT_NE(text.find(bad + ": $.base.log.sanitize: must be an array"), std::string::npos) << text;
    EXPECT_NE(text.find(good + ": ok\n"), std::string::npos) << text;
    EXPECT_NE(text.find(missing + ": $: cannot read the file"), std::string::npos) << text;
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    EXPECT_EQ(lines, 7u + 1u + 1u);  // base.json has 7 problems
}

}  // namespace
}  // namespace switchboard::catalog

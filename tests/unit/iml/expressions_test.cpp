// Runs tests/fixtures/iml/expressions.json: every case parses and renders one template against a context
// and checks the typed result, or that parsing/rendering fails with the given text in the error detail.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "iml/template.hpp"

namespace switchboard::iml {
namespace {

namespace json = boost::json;

struct Case {
    std::size_t index = 0;
    json::object spec;
    json::object context;
};

json::value LoadTable() {
    std::ifstream file(IML_EXPRESSIONS_FILE);
    std::stringstream text;
    text << file.rdbuf();
    return json::parse(text.str());
}

std::vector<Case> LoadCases() {
    const json::value table = LoadTable();
    const json::object& defaults = table.at("default_context").as_object();
    std::vector<Case> cases;
    for (const json::value& c : table.at("cases").as_array()) {
        Case item;
        item.index = cases.size();
        item.spec = c.as_object();
        item.context = c.as_object().contains("context") ? c.at("context").as_object() : defaults;
        cases.push_back(std::move(item));
    }
    return cases;
}

// Equality that also requires the same number kind: 3 (integer) and 3.0 (double) differ, so a result that
// should print without ".0" is checked to be an integer.
bool SameValue(const json::value& a, const json::value& b) {
    const bool a_int = a.is_int64() || a.is_uint64();
    const bool b_int = b.is_int64() || b.is_uint64();
    if (a_int && b_int)
        return a == b ||
               (a.is_int64() && b.is_uint64() && a.get_int64() >= 0 &&
                static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64()) ||
               (a.is_uint64() && b.is_int64() && b.get_int64() >= 0 &&
                a.get_uint64() == static_cast<std::uint64_t>(b.get_int64()));
    if (a.kind() != b.kind()) return false;
    if (a.is_array()) {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!SameValue(x[i], y[i])) return false;
        }
        return true;
    }
    if (a.is_object()) {
        const auto& x = a.get_object();
        const auto& y = b.get_object();
        if (x.size() != y.size()) return false;
        for (const auto& kv : x) {
            const json::value* other = y.if_contains(kv.key());
            if (other == nullptr || !SameValue(kv.value(), *other)) return false;
        }
        return true;
    }
    return a == b;
}

void PrintTo(const Case& c, std::ostream* os) { *os << json::serialize(c.spec.at("template")); }

class ExpressionTable : public testing::TestWithParam<Case> {};

TEST_P(ExpressionTable, Renders) {
    const Case& c = GetParam();
    const std::string tmpl(c.spec.at("template").as_string());
    SCOPED_TRACE("case " + std::to_string(c.index) + ": " + tmpl);
    core::ManualClock clock(1'700'000'000'000);
    core::SeededRandom random(42);
    Context ctx;
    ctx.root = &c.context;
    ctx.clock = &clock;
    ctx.random = &random;
    std::string zone = "UTC";
    if (const auto* tz = c.spec.if_contains("timezone")) zone = std::string(tz->as_string());
    ctx.timezone = zone;

    auto parsed = Template::Parse(tmpl);
    core::Result<json::value> rendered = parsed ? parsed->Render(ctx) : core::Result<json::value>(parsed.error());
    if (const auto* expected_error = c.spec.if_contains("error")) {
        ASSERT_FALSE(rendered) << "expected an error, got " << json::serialize(*rendered);
        EXPECT_EQ(rendered.error().code, core::Errc::kInvalidArgument);
        EXPECT_NE(rendered.error().detail.find(std::string(expected_error->as_string())), std::string::npos)
            << "error detail: " << rendered.error().detail;
        return;
    }
    ASSERT_TRUE(rendered) << rendered.error().detail;
    const json::value& expected = c.spec.at("expected");
    EXPECT_TRUE(SameValue(*rendered, expected))
        << "expected " << json::serialize(expected) << " (" << expected.kind() << "), got "
        << json::serialize(*rendered) << " (" << rendered->kind() << ")";
}

INSTANTIATE_TEST_SUITE_P(Fixture, ExpressionTable, testing::ValuesIn(LoadCases()),
                         [](const testing::TestParamInfo<Case>& param) {
                             return "case" + std::to_string(param.param.index);
                         });

TEST(ExpressionTableFile, HasEnoughCases) {
    const json::value table = LoadTable();
    std::size_t errors = 0;
    for (const auto& c : table.at("cases").as_array()) errors += c.as_object().contains("error") ? 1 : 0;
    EXPECT_GE(table.at("cases").as_array().size(), 150u);
    EXPECT_GE(errors, 20u);
}

}  // namespace
}  // namespace switchboard::iml

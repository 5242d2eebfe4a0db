// The public Template / ValueTemplate API: error locations, typed results, limits, thread safety.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "iml/template.hpp"

namespace switchboard::iml {
namespace {

namespace json = boost::json;

class TemplateTest : public testing::Test {
  protected:
    TemplateTest() {
        root_ = json::parse(R"({
            "1": {"subject": "Hi", "count": 41, "vip": true, "items": [{"id": 7}], "from": {"address": "a@b.c"},
                  "date": "2024-03-01T09:30:00Z"},
            "parameters": {"apiKey": "k-1", "name": "Ann", "email": "ANN@EXAMPLE.COM"},
            "connection": {"accessToken": "tok"}
        })")
                    .as_object();
        ctx_.root = &root_;
        ctx_.clock = &clock_;
        ctx_.random = &random_;
    }

    core::Result<json::value> Render(std::string_view text) {
        auto t = Template::Parse(text);
        if (!t) return t.error();
        return t->Render(ctx_);
    }

    std::string ParseError(std::string_view text) {
        auto t = Template::Parse(text);
        if (t) return "(parsed)";
        EXPECT_EQ(t.error().code, core::Errc::kInvalidArgument);
        return t.error().detail;
    }

    std::string RenderError(std::string_view text) {
        auto r = Render(text);
        if (r) return "(rendered " + json::serialize(*r) + ")";
        EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
        return r.error().detail;
    }

    json::object root_;
    core::ManualClock clock_{1'700'000'000'000};
    core::SeededRandom random_{7};
    Context ctx_;
};

TEST_F(TemplateTest, ParseErrorsNameTheColumnAndWhatWasExpected) {
    EXPECT_EQ(ParseError("{{lower(1.subject}}"), "column 18: expected ')' but found '}}'");
    EXPECT_EQ(ParseError("Hello {{(1 + 2}} there"), "column 15: expected ')' but found '}}'");
    EXPECT_EQ(ParseError("{{1 +}}"), "column 6: expected an expression but found '}}'");
    EXPECT_EQ(ParseError("{{}}"), "column 3: expected an expression");
    EXPECT_EQ(ParseError("ab {{ nope(1) }}"), "column 7: unknown function 'nope'");
    EXPECT_EQ(ParseError("{{ 'x }}"), "column 4: unterminated string");
    EXPECT_EQ(ParseError("{{1.items[1}}"), "column 12: expected ']' but found '}}'");
    EXPECT_EQ(ParseError("{{ 1 2 }}"), "column 6: expected '}}' but found '2'");
    EXPECT_EQ(ParseError("{{ a ; b }}"), "column 6: expected '}}' but found ';'");
    EXPECT_EQ(ParseError("{{ x"), "column 5: expected '}}' but found the end of the template");
    EXPECT_EQ(ParseError("{{ @ }}"), "column 4: unexpected character '@'");
    EXPECT_EQ(ParseError("{{ lower(1; 2) }}"), "column 4: function 'lower' expects 1 argument, got 2");
    EXPECT_EQ(ParseError("{{ formatDate(now) }}"), "column 4: function 'formatDate' expects 2 to 3 arguments, got 1");
    EXPECT_EQ(ParseError("{{ add() }}"), "column 4: function 'add' expects at least 1 argument, got 0");
}

TEST_F(TemplateTest, ColumnsCountCharactersAndLines) {
    EXPECT_EQ(ParseError("héllo {{ ) }}"), "column 10: expected an expression but found ')'");
    EXPECT_EQ(ParseError("line 1\nline 2 {{ ) }}"), "line 2, column 11: expected an expression but found ')'");
    EXPECT_EQ(ParseError("{{ 1 +\n\n  }}"), "line 3, column 3: expected an expression but found '}}'");
}

TEST_F(TemplateTest, RenderErrorsNameTheColumnOfTheFailingPart) {
    EXPECT_EQ(RenderError("x {{ 1 / 0 }}"), "column 8: division by zero");
    EXPECT_EQ(RenderError("{{formatDate('soon'; 'YYYY')}}"), "column 3: formatDate: invalid date 'soon'");
    EXPECT_EQ(RenderError("{{ upper(toNumber('x')) }}"), "column 10: toNumber: cannot convert 'x' to a number");
}

TEST_F(TemplateTest, SingleExpressionKeepsItsType) {
    EXPECT_EQ(*Render("{{1.count}}"), json::value(41));
    EXPECT_TRUE(Render("{{1.count}}")->is_int64());
    EXPECT_EQ(*Render("{{1.vip}}"), json::value(true));
    EXPECT_TRUE(Render("{{1.missing}}")->is_null());
    EXPECT_EQ(*Render("{{1.items}}"), json::parse(R"([{"id":7}])"));
    EXPECT_EQ(*Render("{{1.from}}"), json::parse(R"({"address":"a@b.c"})"));
    EXPECT_EQ(*Render("{{ 1.count / 2 }}"), json::value(20.5));
    EXPECT_TRUE(Render("{{ 4 / 2 }}")->is_int64());
    EXPECT_TRUE(Render("{{ round(2.4) }}")->is_int64());
}

TEST_F(TemplateTest, AnythingElseIsText) {
    EXPECT_EQ(*Render(" {{1.count}}"), json::value(" 41"));
    EXPECT_EQ(*Render("{{1.count}}{{1.vip}}"), json::value("41true"));
    EXPECT_EQ(*Render("[{{1.missing}}]"), json::value("[]"));
    EXPECT_EQ(*Render("{{1.items}}!"), json::value(R"([{"id":7}]!)"));
    EXPECT_EQ(*Render("{{ 2.0 * 3 }}."), json::value("6."));
    EXPECT_EQ(*Render("{{ 1 / 3 }}"), json::value(1.0 / 3));
    EXPECT_EQ(*Render("x{{ 1 / 3 }}"), json::value("x0.3333333333333333"));
    EXPECT_EQ(*Render("no expressions"), json::value("no expressions"));
    EXPECT_EQ(*Render(""), json::value(""));
}

TEST_F(TemplateTest, RenderTextAlwaysGivesText) {
    auto t = Template::Parse("{{1.count + 1}}");
    ASSERT_TRUE(t);
    EXPECT_EQ(*t->RenderText(ctx_), "42");
    EXPECT_TRUE(t->HasExpressions());
    EXPECT_EQ(t->source(), "{{1.count + 1}}");
    EXPECT_FALSE(Template::Parse("plain")->HasExpressions());
    EXPECT_EQ(*RenderString("Bearer {{connection.accessToken}}", ctx_), "Bearer tok");
}

TEST_F(TemplateTest, MissingRootAndPathsAreNullNeverErrors) {
    Context empty;
    auto t = Template::Parse("[{{a.b[2].c}}]{{parameters}}");
    ASSERT_TRUE(t);
    EXPECT_EQ(*t->Render(empty), json::value("[]"));
    EXPECT_TRUE(Template::Parse("{{x.y.z}}")->Render(empty)->is_null());
}

TEST_F(TemplateTest, ClockAndRandomMustBeProvidedWhenUsed) {
    Context bare;
    EXPECT_EQ(Template::Parse("{{now}}")->Render(bare).error().detail, "column 3: now: no clock is available here");
    EXPECT_EQ(Template::Parse("{{uuid}}")->Render(bare).error().detail,
              "column 3: uuid: no random source is available here");
}

TEST_F(TemplateTest, UuidIsVersion4FromTheInjectedRandom) {
    const std::string a(Render("{{uuid}}")->as_string());
    ASSERT_EQ(a.size(), 36u);
    EXPECT_EQ(a[8], '-');
    EXPECT_EQ(a[13], '-');
    EXPECT_EQ(a[14], '4');
    EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
    const std::string b(Render("{{uuid}}")->as_string());
    EXPECT_NE(a, b);
    core::SeededRandom again(7);
    ctx_.random = &again;
    EXPECT_EQ(std::string(Render("{{uuid}}")->as_string()), a);  // same seed, same value
}

TEST_F(TemplateTest, NowFollowsTheInjectedClock) {
    EXPECT_EQ(*Render("{{now}}"), json::value("2023-11-14T22:13:20.000Z"));
    clock_.Advance(std::chrono::hours(1));
    EXPECT_EQ(*Render("{{formatDate(now; 'HH:mm')}}"), json::value("23:13"));
    ctx_.timezone = "Europe/Prague";
    EXPECT_EQ(*Render("{{formatDate(now; 'HH:mm')}}"), json::value("00:13"));
    ctx_.timezone = "Nowhere/Special";
    EXPECT_EQ(RenderError("{{formatDate(now; 'HH:mm')}}"), "column 3: formatDate: unknown time zone 'Nowhere/Special'");
}

TEST_F(TemplateTest, NestingDepthIsLimited) {
    auto nested = [](int depth) {
        std::string s = "{{";
        for (int i = 0; i < depth; ++i) s += "(";
        s += "1";
        for (int i = 0; i < depth; ++i) s += ")";
        return s + "}}";
    };
    EXPECT_TRUE(Template::Parse(nested(kMaxNestingDepth)));
    EXPECT_EQ(ParseError(nested(kMaxNestingDepth + 1)), "column 67: expression nested too deeply (limit 64)");
    std::string calls = "{{";
    for (int i = 0; i < 10000; ++i) calls += "lower(";
    EXPECT_NE(ParseError(calls).find("nested too deeply"), std::string::npos);
    std::string nots = "{{" + std::string(100000, '!') + "true}}";
    EXPECT_NE(ParseError(nots).find("nested too deeply"), std::string::npos);
    std::string brackets = "{{a";
    for (int i = 0; i < 5000; ++i) brackets += "[a";
    EXPECT_NE(ParseError(brackets).find("nested too deeply"), std::string::npos);
}

TEST_F(TemplateTest, LongOperatorChainsAreLimited) {
    std::string sum = "{{1";
    for (int i = 0; i < 200; ++i) sum += " + 1";
    EXPECT_EQ(*Render(sum + "}}"), json::value(201));
    std::string longer = "{{1";
    for (int i = 0; i < 100000; ++i) longer += "+1";
    EXPECT_NE(ParseError(longer + "}}").find("too long or nested too deeply"), std::string::npos);
}

TEST_F(TemplateTest, TemplateSizeIsLimited) {
    const std::string big(kMaxTemplateBytes + 1, 'x');
    EXPECT_NE(ParseError(big).find("template is longer than"), std::string::npos);
    EXPECT_TRUE(Template::Parse(std::string(kMaxTemplateBytes, 'x')));
}

TEST_F(TemplateTest, OutputSizeIsLimited) {
    ctx_.limits.max_output_bytes = 1000;
    // Every step doubles the text; the budget stops it long before memory is at risk.
    std::string doubling = "'ab'";
    for (int i = 0; i < 40; ++i) doubling = "replace(" + doubling + "; 'a'; 'aa')";
    EXPECT_NE(RenderError("{{ " + doubling + " }}").find("output exceeds the limit of 1000 bytes"), std::string::npos);
    std::string concat = "'ab'";
    for (int i = 0; i < 12; ++i) concat = "join(merge(split(" + concat + "; ''); split(" + concat + "; '')); '')";
    EXPECT_NE(RenderError("{{ " + concat + " }}").find("exceeds"), std::string::npos);
    EXPECT_NE(RenderError("{{ join(split('" + std::string(300, 'a') + "'; ''); '----') }}").find("exceeds"),
              std::string::npos);
    EXPECT_NE(RenderError("{{ replace('" + std::string(200, 'a') + "'; /a/g; 'bbbbbbbbbb') }}").find("exceeds"),
              std::string::npos);
    EXPECT_NE(
        RenderError("x{{ '" + std::string(600, 'a') + "' }}{{ '" + std::string(600, 'a') + "' }}").find("exceeds"),
        std::string::npos);
    // Within the budget everything works.
    EXPECT_EQ(Render("{{ length(replace('aaaa'; 'a'; 'aa')) }}")->as_int64(), 8);
}

TEST_F(TemplateTest, RegexWorkIsLimited) {
    ctx_.limits.max_steps = 10000;
    EXPECT_NE(RenderError("{{ replace('" + std::string(5000, 'a') + "'; /(a|aa)*b/g; 'x') }}").find("work limit"),
              std::string::npos);
    ctx_.limits.max_steps = 20'000'000;
    // Patterns that backtrack exponentially elsewhere run in linear time here.
    EXPECT_EQ(*Render("{{ replace('" + std::string(3000, 'a') + "'; /(a*)*b/; 'x') }}"),
              json::value(std::string(3000, 'a')));
}

TEST_F(TemplateTest, LongSearchTextsStayLinear) {
    // Quadratic for a naive search (every position compares ~200k bytes); linear here.
    const std::string hay = "'" + std::string(400000, 'a') + "'";
    const std::string needle = "'" + std::string(200000, 'a') + "b'";
    EXPECT_EQ(*Render("{{ contains(" + hay + "; " + needle + ") }}"), json::value(false));
    EXPECT_EQ(*Render("{{ indexOf(" + hay + " + 'b'; " + needle + ") }}"), json::value(200000));
    EXPECT_EQ(*Render("{{ length(replace(" + hay + "; " + needle + "; 'x')) }}"), json::value(400000));
    EXPECT_EQ(*Render("{{ length(split(" + hay + "; " + needle + ")) }}"), json::value(1));
    const std::string period = std::string(40, 'a') + "b";
    std::string repeated;
    for (int i = 0; i < 3; ++i) repeated += period;
    EXPECT_EQ(*Render("{{ replace('" + repeated + "'; '" + period + "'; '-') }}"), json::value("---"));
    EXPECT_EQ(*Render("{{ indexOf('xx" + period + "'; '" + period + "') }}"), json::value(2));
    EXPECT_EQ(*Render("{{ indexOf('abc'; '') }}"), json::value(0));
}

TEST_F(TemplateTest, FunctionWorkIsLimited) {
    ctx_.limits.max_steps = 500;
    const std::string chars = "split('" + std::string(300, 'x') + "'; '')";
    EXPECT_EQ(RenderError("{{ sort(" + chars + ") }}"), "column 4: sort: sort exceeded its work limit");
    EXPECT_EQ(RenderError("{{ remove(" + chars + "; 'a'; 'b') }}"), "column 4: remove: remove exceeded its work limit");
    EXPECT_EQ(Render("{{ length(remove(" + chars + "; 'a')) }}")->as_int64(), 300);
}

TEST_F(TemplateTest, ConstantRegexesAreCheckedAtParseTime) {
    EXPECT_EQ(ParseError("{{ replace(1.subject; '/a{2,1}/'; '') }}"),
              "column 23: invalid regular expression: numbers out of order in {} quantifier at offset 6");
    EXPECT_EQ(ParseError("{{ split(1.subject; /(?<=a)b/) }}"),
              "column 21: invalid regular expression: lookbehind is not supported at offset 3");
    // A regex that only exists at render time is compiled then.
    root_["re"] = "/[/";
    EXPECT_NE(RenderError("{{ replace('x'; re; '') }}").find("column 4: replace: invalid regular expression"),
              std::string::npos);
}

TEST_F(TemplateTest, ValueTemplateRendersEveryStringOfASpec) {
    const json::value spec = json::parse(R"({
        "url": "/users/{{parameters.name}}",
        "method": "POST",
        "headers": {"authorization": "Bearer {{connection.accessToken}}", "x-count": "{{1.count}}"},
        "qs": {"ids": ["{{1.items[1].id}}", "static", 3]},
        "body": {"email": "{{lower(parameters.email)}}", "vip": "{{1.vip}}", "nested": {"fixed": [1, 2]}}
    })");
    auto compiled = ValueTemplate::Compile(spec);
    ASSERT_TRUE(compiled) << compiled.error().detail;
    auto rendered = compiled->Render(ctx_);
    ASSERT_TRUE(rendered) << rendered.error().detail;
    EXPECT_EQ(*rendered, json::parse(R"({
        "url": "/users/Ann",
        "method": "POST",
        "headers": {"authorization": "Bearer tok", "x-count": 41},
        "qs": {"ids": [7, "static", 3]},
        "body": {"email": "ann@example.com", "vip": true, "nested": {"fixed": [1, 2]}}
    })"));
    EXPECT_EQ(*RenderValue(spec, ctx_), *rendered);
    EXPECT_EQ(*RenderValue(json::value(5), ctx_), json::value(5));
}

TEST_F(TemplateTest, ValueTemplateErrorsNameThePath) {
    auto bad =
        ValueTemplate::Compile(json::parse(R"({"headers": {"authorization": "Bearer {{connection.accessToken"}})"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().detail, "headers.authorization: column 32: expected '}}' but found the end of the template");
    auto render_error = RenderValue(json::parse(R"({"qs": {"ids": ["ok", "{{1 / 0}}"]}})"), ctx_);
    ASSERT_FALSE(render_error);
    EXPECT_EQ(render_error.error().detail, "qs.ids[2]: column 5: division by zero");
    json::value deep = json::value("{{1}}");
    for (int i = 0; i < kMaxNestingDepth + 1; ++i) deep = json::array{deep};
    EXPECT_NE(ValueTemplate::Compile(deep).error().detail.find("value nested too deeply"), std::string::npos);
}

TEST_F(TemplateTest, ValueTemplateSpreadKeyAndTemplatedKeysAreOptIn) {
    root_["parameters"].as_object()["headers"] =
        json::parse(R"([{"key": "X-A", "value": "1"}, {"key": "X-B", "value": "2"}])");
    root_["parameters"].as_object()["in"] = "header";
    const json::value spec = json::parse(R"({
        "{{...}}": "{{toCollection(parameters.headers, 'key', 'value')}}",
        "X-B": "mine",
        "{{if(parameters.in == 'header', 'X-Key', '')}}": "{{parameters.apiKey}}",
        "{{if(parameters.in == 'query', 'key', '')}}": "{{parameters.apiKey}}"
    })");
    ValueTemplate::Options options;
    options.spread_key = true;
    options.template_keys = true;
    auto rendered = RenderValue(spec, ctx_, options);
    ASSERT_TRUE(rendered) << rendered.error().detail;
    EXPECT_EQ(*rendered, json::parse(R"({"X-A": "1", "X-B": "mine", "X-Key": "k-1"})"));

    // Without the options keys are literal, and "{{...}}" is just a key.
    auto literal = RenderValue(json::parse(R"({"{{...}}": "{{1.count}}", "{{a}}": 1})"), ctx_);
    ASSERT_TRUE(literal) << literal.error().detail;
    EXPECT_EQ(*literal, json::parse(R"({"{{...}}": 41, "{{a}}": 1})"));

    auto not_object = RenderValue(json::parse(R"({"h": {"{{...}}": "{{1.count}}"}})"), ctx_, options);
    ASSERT_FALSE(not_object);
    EXPECT_EQ(not_object.error().detail, "h.{{...}}: the {{...}} entry must yield an object");
    EXPECT_TRUE(RenderValue(json::parse(R"({"{{...}}": "{{1.missing}}"})"), ctx_, options)->as_object().empty());
    auto bad_key = ValueTemplate::Compile(json::parse(R"({"q": {"{{lower(}}": 1}})"), options);
    ASSERT_FALSE(bad_key);
    EXPECT_EQ(bad_key.error().detail, "q.{{lower(}}: column 9: expected an expression but found '}}'");
}

TEST_F(TemplateTest, ValueTemplateSharesOneBudget) {
    ctx_.limits.max_output_bytes = 100;
    json::array many;
    for (int i = 0; i < 10; ++i) many.push_back(json::value("x{{'" + std::string(20, 'a') + "'}}"));
    auto r = RenderValue(many, ctx_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("output exceeds the limit of 100 bytes"), std::string::npos);
}

TEST_F(TemplateTest, RendersConcurrentlyFromOneParse) {
    auto t = Template::Parse("{{lower(parameters.email)}}-{{1.count * 2}}-{{formatDate(1.date; 'YYYY')}}");
    ASSERT_TRUE(t);
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            core::ManualClock clock;
            Context ctx;
            ctx.root = &root_;
            ctx.clock = &clock;
            for (int n = 0; n < 500; ++n) {
                auto r = t->Render(ctx);
                ok[i] += r && *r == json::value("ann@example.com-82-2024") ? 1 : 0;
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int count : ok) EXPECT_EQ(count, 500);
}

TEST_F(TemplateTest, CopiesShareTheParsedForm) {
    auto t = Template::Parse("{{parameters.apiKey}}");
    ASSERT_TRUE(t);
    Template copy = *t;
    EXPECT_EQ(*copy.Render(ctx_), json::value("k-1"));
    EXPECT_EQ(&copy.source(), &t->source());
}

}  // namespace
}  // namespace switchboard::iml

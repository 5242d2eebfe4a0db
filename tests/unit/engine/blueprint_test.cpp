// Make's blueprint format: what an export holds loads, every malformed part is refused with its JSON path; the
// connection reference; scenario inputs.
#include "engine/blueprint.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace switchboard::engine {
namespace {

namespace json = boost::json;

// A blueprint as Make exports it (trimmed designer metadata kept, unknown keys included).
constexpr const char* kMakeExport = R"({
  "name": "Orders to Slack",
  "flow": [
    {"id": 1, "module": "gateway:CustomWebHook", "version": 1,
     "parameters": {"hook": 123, "maxResults": 1}, "mapper": {},
     "metadata": {"designer": {"x": 0, "y": 0}, "restore": {"parameters": {"hook": {"label": "Orders"}}}}},
    {"id": 2, "module": "http:ActionSendData", "version": 3,
     "parameters": {"handleErrors": false, "__IMTCONN__": 4411},
     "mapper": {"url": "https://x/{{1.item}}", "method": "get"},
     "metadata": {"designer": {"x": 300, "y": 0}, "expect": [{"name": "url", "type": "url"}]},
     "onerror": [{"id": 9, "module": "builtin:Ignore", "version": 1, "metadata": {"designer": {"x": 300, "y": 150}}}]},
    {"id": 3, "module": "builtin:BasicRouter", "version": 1, "mapper": null,
     "metadata": {"designer": {"x": 600, "y": 0}},
     "routes": [
       {"flow": [{"id": 4, "module": "slack:CreateMessage", "version": 4, "parameters": {"__IMTCONN__": "dynamic:7"},
                  "mapper": {"text": "{{1.item}}"}, "metadata": {"designer": {"x": 900, "y": -150}},
                  "filter": {"name": "only big", "conditions": [[{"a": "{{1.n}}", "b": "10", "o": "number:greater"}]]}}]},
       {"flow": [{"id": 5, "module": "util:SetVariable2", "mapper": {"name": "x", "value": "{{1.n}}"},
                  "metadata": {"designer": {"x": 900, "y": 150}}}]}
     ]}
  ],
  "metadata": {"instant": true, "version": 1,
               "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true, "autoCommitTriggerLast": true,
                            "sequential": false, "confidential": false, "dataloss": false, "dlq": false,
                            "freshVariables": false},
               "designer": {"orphans": []}, "zone": "eu1.make.com"}
})";

TEST(Blueprint, MakeExportLoads) {
    auto b = ParseBlueprint(json::parse(kMakeExport));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    EXPECT_EQ(b->name, "Orders to Slack");
    ASSERT_EQ(b->flow.size(), 3u);

    const ModuleNode& hook = b->flow[0];
    EXPECT_EQ(hook.id, 1);
    EXPECT_EQ(hook.module, "gateway:CustomWebHook");
    EXPECT_EQ(hook.parameters.at("hook").as_int64(), 123);
    EXPECT_TRUE(hook.mapper.is_object());
    EXPECT_TRUE(hook.metadata.contains("restore"));

    const ModuleNode& http = b->flow[1];
    EXPECT_EQ(http.version, 3);
    EXPECT_EQ(http.mapper.at("url").as_string(), "https://x/{{1.item}}");  // templates stay text
    ASSERT_EQ(http.onerror.size(), 1u);
    EXPECT_EQ(http.onerror[0].module, "builtin:Ignore");

    const ModuleNode& router = b->flow[2];
    EXPECT_TRUE(router.mapper.is_null());
    ASSERT_EQ(router.routes.size(), 2u);
    const ModuleNode& slack = router.routes[0].flow.at(0);
    ASSERT_TRUE(slack.filter.has_value());
    EXPECT_EQ(slack.filter->name, "only big");
    ASSERT_EQ(slack.filter->conditions.size(), 1u);
    ASSERT_EQ(slack.filter->conditions[0].size(), 1u);
    EXPECT_EQ(slack.filter->conditions[0][0].a, "{{1.n}}");
    EXPECT_EQ(slack.filter->conditions[0][0].o, "number:greater");
    EXPECT_EQ(slack.filter->conditions[0][0].b, "10");
    const ModuleNode& set_var = router.routes[1].flow.at(0);
    EXPECT_EQ(set_var.version, 1);  // absent: 1
    EXPECT_TRUE(set_var.parameters.empty());

    EXPECT_EQ(b->settings.max_errors, 3);
    EXPECT_EQ(b->settings.roundtrips, 1);
    EXPECT_TRUE(b->settings.auto_commit);
    EXPECT_FALSE(b->settings.dlq);
    EXPECT_EQ(b->metadata.at("zone").as_string(), "eu1.make.com");  // unknown keys kept
}

TEST(Blueprint, AcceptsJsonTextAsMakesApiSendsIt) {
    auto b = ParseBlueprint(json::value(kMakeExport));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    EXPECT_EQ(b->flow.size(), 3u);
}

TEST(Blueprint, SettingsAreRead) {
    auto b = ParseBlueprint(json::parse(
        R"({"flow": [], "metadata": {"scenario": {"maxErrors": 7, "sequential": true, "confidential": true,
            "dlq": true, "roundtrips": 4, "autoCommit": false}}})"));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    EXPECT_EQ(b->settings.max_errors, 7);
    EXPECT_TRUE(b->settings.sequential);
    EXPECT_TRUE(b->settings.confidential);
    EXPECT_TRUE(b->settings.dlq);
    EXPECT_EQ(b->settings.roundtrips, 4);
    EXPECT_FALSE(b->settings.auto_commit);
}

TEST(Blueprint, HandlerMayHoldModulesBeforeItsDirective) {
    auto b = ParseBlueprint(json::parse(R"({"flow": [{"id": 1, "module": "http:ActionSendData", "onerror": [
        {"id": 2, "module": "slack:CreateMessage"}, {"id": 3, "module": "builtin:Resume", "mapper": {"x": 1}}]}]})"));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    ASSERT_EQ(b->flow[0].onerror.size(), 2u);
    EXPECT_EQ(b->flow[0].onerror[1].module, "builtin:Resume");
}

// A chain of routers `levels` deep, one module per route.
std::string NestedRouters(int levels) {
    std::string inner = R"({"id": 1000, "module": "util:SetVariable2"})";
    for (int i = levels; i >= 1; --i) {
        inner = R"({"id": )" + std::to_string(i) + R"(, "module": "builtin:BasicRouter", "routes": [{"flow": [)" +
                inner + "]}]}";
    }
    return R"({"flow": [)" + inner + "]}";
}

TEST(Blueprint, NestingUpToSixteenLevels) {
    auto ok = ParseBlueprint(json::value(NestedRouters(16)));
    EXPECT_TRUE(ok.has_value()) << ok.error().detail;
    auto deep = ParseBlueprint(json::value(NestedRouters(17)));
    ASSERT_FALSE(deep.has_value());
    EXPECT_NE(deep.error().detail.find("nested more than 16 levels"), std::string::npos) << deep.error().detail;
    EXPECT_EQ(deep.error().detail.rfind("flow[0].routes[0].flow[0].routes[0].flow", 0), 0u) << deep.error().detail;
}

TEST(Blueprint, AtMostFiveHundredModules) {
    auto make = [](int n) {
        json::array flow;
        for (int i = 1; i <= n; ++i) flow.push_back(json::object{{"id", i}, {"module", "util:SetVariable2"}});
        return json::value(json::object{{"flow", flow}});
    };
    EXPECT_TRUE(ParseBlueprint(make(500)).has_value());
    auto r = ParseBlueprint(make(501));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().detail, "flow[500]: a blueprint may have at most 500 modules");
}

TEST(Blueprint, AtMostOneMegabyte) {
    const std::string big =
        R"({"flow": [{"id": 1, "module": "a:b", "mapper": {"x": ")" + std::string(1024 * 1024, 'x') + R"("}}]})";
    auto as_text = ParseBlueprint(json::value(big));
    ASSERT_FALSE(as_text.has_value());
    EXPECT_EQ(as_text.error().detail.rfind("blueprint: larger than 1 MB", 0), 0u) << as_text.error().detail;
    auto as_object = ParseBlueprint(json::parse(big));
    ASSERT_FALSE(as_object.has_value());
    EXPECT_EQ(as_object.error().detail.rfind("blueprint: larger than 1 MB", 0), 0u);
}

struct ErrorCase {
    const char* blueprint;
    const char* error;  // the start of the detail: the JSON path and what is wrong
};

const ErrorCase kErrors[] = {
    {R"([])", "blueprint: must be a JSON object"},
    {R"("not json)", "blueprint: not valid JSON"},
    {R"({"name": 1, "flow": []})", "name: must be text"},
    {R"({"name": "x"})", "flow: the module list is missing"},
    {R"({"flow": {}})", "flow: must be an array of modules"},
    {R"({"flow": [1]})", "flow[0]: must be an object"},
    {R"({"flow": [{"module": "a:b"}]})", "flow[0].id: the module id is missing"},
    {R"({"flow": [{"id": 0, "module": "a:b"}]})", "flow[0].id: must be a positive integer"},
    {R"({"flow": [{"id": "1", "module": "a:b"}]})", "flow[0].id: must be a positive integer"},
    {R"({"flow": [{"id": 1.5, "module": "a:b"}]})", "flow[0].id: must be a positive integer"},
    {R"({"flow": [{"id": 1, "module": "a:b"}, {"id": 2, "module": "builtin:BasicRouter", "routes": [
        {"flow": [{"id": 1, "module": "a:b"}]}]}]})",
     "flow[1].routes[0].flow[0].id: duplicate module id 1"},
    {R"({"flow": [{"id": 1}]})", "flow[0].module: the module name is missing"},
    {R"({"flow": [{"id": 1, "module": 5}]})", "flow[0].module: must be text"},
    {R"({"flow": [{"id": 1, "module": "http"}]})", "flow[0].module: 'http' is not a module name"},
    {R"({"flow": [{"id": 1, "module": "http:a b"}]})", "flow[0].module: 'http:a b' is not a module name"},
    {R"({"flow": [{"id": 1, "module": "a:b", "version": "3"}]})", "flow[0].version: must be a positive integer"},
    {R"({"flow": [{"id": 1, "module": "a:b", "version": 0}]})", "flow[0].version: must be a positive integer"},
    {R"({"flow": [{"id": 1, "module": "a:b", "parameters": []}]})", "flow[0].parameters: must be an object"},
    {R"({"flow": [{"id": 1, "module": "a:b", "parameters": {"__IMTCONN__": "abc"}}]})",
     "flow[0].parameters.__IMTCONN__: must be a connection id"},
    {R"({"flow": [{"id": 1, "module": "a:b", "parameters": {"__IMTCONN__": -4}}]})",
     "flow[0].parameters.__IMTCONN__: must be a connection id"},
    {R"({"flow": [{"id": 1, "module": "a:b", "mapper": "x"}]})", "flow[0].mapper: must be an object or null"},
    {R"({"flow": [{"id": 1, "module": "a:b", "mapper": []}]})", "flow[0].mapper: must be an object or null"},
    {R"({"flow": [{"id": 1, "module": "a:b", "metadata": 3}]})", "flow[0].metadata: must be an object"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": "x"}]})", "flow[0].filter: must be an object"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"name": 2}}]})", "flow[0].filter.name: must be text"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": {}}}]})",
     "flow[0].filter.conditions: must be an array"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": [{}]}}]})",
     "flow[0].filter.conditions[0]: must be an array of conditions"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": [[3]]}}]})",
     "flow[0].filter.conditions[0][0]: must be an object"},
    {R"({"flow": [{"id": 1, "module": "a:b"}, {"id": 2, "module": "a:c", "filter": {"conditions": [[
        {"a": "1", "o": "exist"}, {"a": "x", "o": "text:eq", "b": "y"}]]}}]})",
     "flow[1].filter.conditions[0][1].o: unknown operator 'text:eq'"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": [[{"a": "x"}]]}}]})",
     "flow[0].filter.conditions[0][0].o: the operator is missing"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": [[{"a": {}, "o": "exist"}]]}}]})",
     "flow[0].filter.conditions[0][0].a: must be text"},
    {R"({"flow": [{"id": 1, "module": "a:b", "filter": {"conditions": [[{"a": "x", "o": "text:equal", "b": []}]]}}]})",
     "flow[0].filter.conditions[0][0].b: must be text"},
    {R"({"flow": [{"id": 1, "module": "http:ActionSendData", "routes": [{"flow": []}]}]})",
     "flow[0].routes: only builtin:BasicRouter has routes, not http:ActionSendData"},
    {R"({"flow": [{"id": 1, "module": "builtin:BasicRouter", "routes": {}}]})", "flow[0].routes: must be an array"},
    {R"({"flow": [{"id": 1, "module": "builtin:BasicRouter", "routes": [5]}]})",
     "flow[0].routes[0]: must be an object"},
    {R"({"flow": [{"id": 1, "module": "builtin:BasicRouter", "routes": [{"flow": 5}]}]})",
     "flow[0].routes[0].flow: must be an array of modules"},
    {R"({"flow": [{"id": 1, "module": "builtin:BasicRouter", "routes": [{"flow": [{"id": 2}]}]}]})",
     "flow[0].routes[0].flow[0].module: the module name is missing"},
    {R"({"flow": [{"id": 1, "module": "a:b", "onerror": {}}]})", "flow[0].onerror: must be an array of modules"},
    {R"({"flow": [{"id": 1, "module": "a:b", "onerror": [{"id": 2, "module": "slack:CreateMessage"}]}]})",
     "flow[0].onerror[0].module: an error handler must end with a directive"},
    {R"({"flow": [{"id": 1, "module": "a:b", "onerror": [{"id": 2, "module": "builtin:Ignore"},
        {"id": 3, "module": "builtin:Break"}]}]})",
     "flow[0].onerror[0].module: builtin:Ignore must be the last module of its error handler"},
    {R"({"flow": [{"id": 1, "module": "a:b"}, {"id": 2, "module": "builtin:Commit"}]})",
     "flow[1].module: builtin:Commit is an error-handler directive"},
    {R"({"flow": [{"id": 1, "module": "a:b", "onerror": [{"id": 2, "module": "builtin:Rollback",
        "onerror": [{"id": 3, "module": "builtin:Ignore"}]}]}]})",
     "flow[0].onerror[0].onerror: a directive cannot have an error handler"},
    {R"({"flow": [{"id": 1, "module": "a:b", "onerror": [{"id": 2, "module": "x:y", "onerror": [
        {"id": 1, "module": "builtin:Ignore"}]}, {"id": 4, "module": "builtin:Break"}]}]})",
     "flow[0].onerror[0].onerror[0].id: duplicate module id 1"},
    {R"({"flow": [], "metadata": []})", "metadata: must be an object"},
    {R"({"flow": [], "metadata": {"scenario": 1}})", "metadata.scenario: must be an object"},
    {R"({"flow": [], "metadata": {"scenario": {"maxErrors": 0}}})",
     "metadata.scenario.maxErrors: must be an integer from 1"},
    {R"({"flow": [], "metadata": {"scenario": {"roundtrips": "2"}}})",
     "metadata.scenario.roundtrips: must be an integer from 1"},
    {R"({"flow": [], "metadata": {"scenario": {"sequential": "yes"}}})",
     "metadata.scenario.sequential: must be a boolean"},
    {R"({"flow": [], "metadata": {"scenario": {"dlq": 1}}})", "metadata.scenario.dlq: must be a boolean"},
};

TEST(Blueprint, EveryErrorNamesItsJsonPath) {
    for (const auto& c : kErrors) {
        SCOPED_TRACE(c.blueprint);
        // Both forms: the object, and JSON text as Make's API sends it.
        std::error_code ec;
        json::value parsed = json::parse(c.blueprint, ec);
        const json::value inputs[] = {ec ? json::value(c.blueprint) : parsed, json::value(c.blueprint)};
        for (const auto& input : inputs) {
            auto r = ParseBlueprint(input);
            ASSERT_FALSE(r.has_value());
            EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
            EXPECT_EQ(r.error().detail.rfind(c.error, 0), 0u) << "got: " << r.error().detail;
        }
    }
}

TEST(Blueprint, EmptyOnErrorAndNullFieldsAreAbsent) {
    auto b = ParseBlueprint(json::parse(R"({"flow": [{"id": 1, "module": "a:b", "onerror": [], "routes": [],
        "filter": null, "parameters": null, "version": null, "metadata": null}]})"));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    EXPECT_TRUE(b->flow[0].onerror.empty());
    EXPECT_FALSE(b->flow[0].filter.has_value());
    EXPECT_EQ(b->flow[0].version, 1);
}

// ---- walking the model ----

TEST(Blueprint, ForEachModuleVisitsDepthFirstInFlowOrder) {
    auto b = ParseBlueprint(json::parse(kMakeExport));
    ASSERT_TRUE(b.has_value());
    std::vector<std::int64_t> ids;
    ForEachModule(*b, [&](const ModuleNode& m) { ids.push_back(m.id); });
    EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2, 9, 3, 4, 5}));
}

TEST(Blueprint, FindModuleSearchesRoutesAndHandlers) {
    auto b = ParseBlueprint(json::parse(kMakeExport));
    ASSERT_TRUE(b.has_value());
    ASSERT_NE(FindModule(*b, 4), nullptr);
    EXPECT_EQ(FindModule(*b, 4)->module, "slack:CreateMessage");
    ASSERT_NE(FindModule(*b, 9), nullptr);
    EXPECT_EQ(FindModule(*b, 9)->module, "builtin:Ignore");
    EXPECT_EQ(FindModule(*b, 6), nullptr);
}

TEST(Blueprint, UnknownModulesEachOnceInFlowOrder) {
    auto b = ParseBlueprint(json::parse(R"({"flow": [
        {"id": 1, "module": "x:trigger"}, {"id": 2, "module": "http:ActionSendData"},
        {"id": 3, "module": "builtin:BasicRouter", "routes": [
            {"flow": [{"id": 4, "module": "y:one"}, {"id": 5, "module": "x:trigger"}]},
            {"flow": [{"id": 6, "module": "z:two", "onerror": [{"id": 7, "module": "builtin:Ignore"}]}]}]}]})"));
    ASSERT_TRUE(b.has_value()) << b.error().detail;
    std::vector<std::string> asked;
    auto unknown = UnknownModules(*b, [&](const std::string& m) {
        asked.push_back(m);
        return m.starts_with("http:") || m.starts_with("builtin:");
    });
    EXPECT_EQ(unknown, (std::vector<std::string>{"x:trigger", "y:one", "z:two"}));
    EXPECT_EQ(asked.size(), 6u);  // each distinct name asked once
    EXPECT_TRUE(UnknownModules(*b, [](const std::string&) { return true; }).empty());
}

// ---- the connection reference ----

struct ConnCase {
    const char* parameters;
    bool has = false;
    bool dynamic = false;
    std::int64_t id = 0;
};

TEST(Blueprint, ConnectionOfReadsEveryForm) {
    const ConnCase cases[] = {
        {R"({"__IMTCONN__": 12})", true, false, 12},
        {R"({"__IMTCONN__": "12"})", true, false, 12},
        {R"({"__IMTCONN__": "dynamic:5"})", true, true, 5},
        {R"({"__IMTCONN__": {"dynamic": 5}})", true, true, 5},
        {R"({"__IMTCONN__": {"dynamic": "5"}})", true, true, 5},
        {R"({})", false, false, 0},
        {R"({"__IMTCONN__": null})", false, false, 0},
        {R"({"__IMTCONN__": ""})", false, false, 0},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.parameters);
        ModuleNode m;
        m.id = 3;
        m.parameters = json::parse(c.parameters).as_object();
        auto r = ConnectionOf(m);
        ASSERT_TRUE(r.has_value()) << r.error().detail;
        ASSERT_EQ(r->has_value(), c.has);
        if (c.has) {
            EXPECT_EQ((*r)->dynamic, c.dynamic);
            EXPECT_EQ((*r)->id, c.id);
        }
    }
}

TEST(Blueprint, ConnectionOfRefusesOtherForms) {
    for (const char* p :
         {R"({"__IMTCONN__": 0})", R"({"__IMTCONN__": -1})", R"({"__IMTCONN__": 1.5})", R"({"__IMTCONN__": "12a"})",
          R"({"__IMTCONN__": " 12"})", R"({"__IMTCONN__": "dynamic:"})", R"({"__IMTCONN__": "dynamic:x"})",
          R"({"__IMTCONN__": {"x": 1}})", R"({"__IMTCONN__": {"dynamic": 0}})", R"({"__IMTCONN__": [1]})",
          R"({"__IMTCONN__": true})", R"({"__IMTCONN__": "99999999999999999999"})"}) {
        SCOPED_TRACE(p);
        ModuleNode m;
        m.id = 3;
        m.parameters = json::parse(p).as_object();
        auto r = ConnectionOf(m);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
        EXPECT_EQ(r.error().detail.rfind("module 3: parameters.__IMTCONN__: ", 0), 0u) << r.error().detail;
    }
}

// ---- scenario inputs ----

constexpr const char* kInputs = R"([
  {"name": "customer", "type": "text", "label": "Customer", "required": true},
  {"name": "limit", "type": "number", "default": "10"},
  {"name": "dry_run", "type": "boolean", "default": false},
  {"name": "since", "type": "date"},
  {"name": "extra", "type": "json"},
  {"name": "ids", "type": "array"},
  {"name": "options", "type": "collection", "help": "kept out", "multiline": true},
  {"name": "_note"}
])";

TEST(ScenarioInputs, ParseAndWriteBack) {
    auto inputs = ParseInputs(json::parse(kInputs));
    ASSERT_TRUE(inputs.has_value()) << inputs.error().detail;
    ASSERT_EQ(inputs->size(), 8u);
    EXPECT_EQ((*inputs)[0].label, "Customer");
    EXPECT_TRUE((*inputs)[0].required);
    EXPECT_EQ((*inputs)[1].default_value, json::value(10));  // converted to the type
    EXPECT_EQ((*inputs)[7].type, "text");                    // the default type
    const json::array written = InputsToJson(*inputs);
    EXPECT_EQ(written[1], json::parse(R"({"name": "limit", "type": "number", "required": false, "default": 10})"));
    auto again = ParseInputs(written);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(InputsToJson(*again), written);
    // JSON text works too (the store keeps the inputs as text).
    auto from_text = ParseInputs(json::value(json::serialize(written)));
    ASSERT_TRUE(from_text.has_value());
    EXPECT_EQ(from_text->size(), 8u);
}

TEST(ScenarioInputs, ParseErrorsNameTheInput) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({})", "inputs: must be an array"},
        {R"([1])", "inputs[0]: must be an object"},
        {R"([{"type": "text"}])", "inputs[0].name: the name is missing"},
        {R"([{"name": "1st"}])", "inputs[0].name: '1st' is not a valid name"},
        {R"([{"name": "a-b"}])", "inputs[0].name: 'a-b' is not a valid name"},
        {R"([{"name": "a"}, {"name": "a"}])", "inputs[1].name: duplicate input 'a'"},
        {R"([{"name": "a", "type": "file"}])", "inputs[0].type: unknown type 'file'"},
        {R"([{"name": "a", "required": "yes"}])", "inputs[0].required: must be a boolean"},
        {R"([{"name": "a", "label": 1}])", "inputs[0].label: must be text"},
        {R"([{"name": "a", "type": "number", "default": "many"}])", "inputs[0].default: must be a number"},
        {R"([{"name": "a", "type": "date", "default": "someday"}])", "inputs[0].default: must be a date"},
    };
    for (const auto& [text, error] : cases) {
        SCOPED_TRACE(text);
        auto r = ParseInputs(json::parse(text));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
        EXPECT_EQ(r.error().detail.rfind(error, 0), 0u) << r.error().detail;
    }
}

TEST(ScenarioInputs, ApplyConvertsAndFillsDefaults) {
    auto inputs = ParseInputs(json::parse(kInputs));
    ASSERT_TRUE(inputs.has_value());
    auto r = ApplyInputs(*inputs, json::parse(R"({"customer": 42, "dry_run": "TRUE", "since": "2024-03-01",
        "extra": "{\"a\": [1]}", "ids": "[1, 2]", "options": {"x": 1}})")
                                      .as_object());
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    EXPECT_EQ(json::value(*r), json::parse(R"({"customer": "42", "limit": 10, "dry_run": true,
        "since": "2024-03-01T00:00:00.000Z", "extra": {"a": [1]}, "ids": [1, 2], "options": {"x": 1},
        "_note": null})"));
}

TEST(ScenarioInputs, ApplyConversionsPerType) {
    struct Conv {
        const char* type;
        const char* given;     // JSON
        const char* expected;  // JSON, or nullptr for an error
    };
    const Conv cases[] = {
        {"text", R"("hi")", R"("hi")"},
        {"text", "1.5", R"("1.5")"},
        {"text", "false", R"("false")"},
        {"text", "[1]", nullptr},
        {"number", R"("12")", "12"},
        {"number", R"(" -1.5 ")", "-1.5"},
        {"number", "7", "7"},
        {"number", R"("12abc")", nullptr},
        {"number", R"("")", nullptr},
        {"number", "true", nullptr},
        {"boolean", R"("true")", "true"},
        {"boolean", R"(" False ")", "false"},
        {"boolean", "true", "true"},
        {"boolean", R"("yes")", nullptr},
        {"boolean", "1", nullptr},
        {"date", R"("2024-03-01T10:00:00+01:00")", R"("2024-03-01T09:00:00.000Z")"},
        {"date", "0", R"("1970-01-01T00:00:00.000Z")"},
        {"date", R"("tomorrow")", nullptr},
        {"date", "{}", nullptr},
        {"json", R"("[1, {\"a\": 2}]")", R"([1, {"a": 2}])"},
        {"json", R"({"a": 1})", R"({"a": 1})"},
        {"json", R"("not json")", nullptr},
        {"array", "[1]", "[1]"},
        {"array", R"("[\"a\"]")", R"(["a"])"},
        {"array", R"("a")", nullptr},
        {"array", R"({"a": 1})", nullptr},
        {"collection", R"({"a": 1})", R"({"a": 1})"},
        {"collection", R"("{\"a\": 1}")", R"({"a": 1})"},
        {"collection", "[1]", nullptr},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.type) + " " + c.given);
        ScenarioInput input;
        input.name = "v";
        input.type = c.type;
        json::object given;
        given["v"] = json::parse(c.given);
        auto r = ApplyInputs({input}, given);
        if (c.expected == nullptr) {
            ASSERT_FALSE(r.has_value());
            EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
            EXPECT_EQ(r.error().detail.rfind("inputs.v: must be", 0), 0u) << r.error().detail;
        } else {
            ASSERT_TRUE(r.has_value()) << r.error().detail;
            EXPECT_EQ(r->at("v"), json::parse(c.expected));
        }
    }
}

TEST(ScenarioInputs, ApplyRefusesMissingRequiredAndUnknownNames) {
    auto inputs = ParseInputs(json::parse(kInputs));
    ASSERT_TRUE(inputs.has_value());
    auto missing = ApplyInputs(*inputs, json::object{{"limit", 3}});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().detail, "inputs.customer: a value is required");
    auto null_given = ApplyInputs(*inputs, json::object{{"customer", nullptr}});
    ASSERT_FALSE(null_given.has_value());
    EXPECT_EQ(null_given.error().detail, "inputs.customer: a value is required");
    auto unknown = ApplyInputs(*inputs, json::object{{"customer", "a"}, {"nope", 1}});
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().detail, "inputs.nope: the scenario has no such input");
    auto wrong = ApplyInputs(*inputs, json::object{{"customer", "a"}, {"limit", "lots"}});
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().detail, "inputs.limit: must be a number");
}

TEST(ScenarioInputs, RequiredWithDefaultUsesTheDefault) {
    auto inputs = ParseInputs(json::parse(R"([{"name": "n", "type": "number", "required": true, "default": 5}])"));
    ASSERT_TRUE(inputs.has_value());
    auto r = ApplyInputs(*inputs, {});
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    EXPECT_EQ(r->at("n"), json::value(5));
}

}  // namespace
}  // namespace switchboard::engine

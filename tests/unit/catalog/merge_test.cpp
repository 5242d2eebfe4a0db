// How a module request inherits the app's base (Make's rules; see MergeWithBase in catalog/validate.hpp).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "catalog/validate.hpp"

namespace switchboard::catalog {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }
json::value Val(std::string_view text) { return json::parse(text); }

TEST(MergeWithBase, RelativeUrlIsAppendedToBaseUrlWithOneSlash) {
    auto base = Obj(R"({"baseUrl":"https://api.example.com/v1/"})");
    EXPECT_EQ(MergeWithBase(base, Val(R"({"url":"/items"})")).at("url"), "https://api.example.com/v1/items");
    auto no_slash = Obj(R"({"baseUrl":"https://{{connection.dc}}.api.example.com"})");
    EXPECT_EQ(MergeWithBase(no_slash, Val(R"({"url":"/ping"})")).at("url"),
              "https://{{connection.dc}}.api.example.com/ping");
}

TEST(MergeWithBase, AbsoluteAndTemplateUrlsAreKept) {
    auto base = Obj(R"({"baseUrl":"https://api.example.com"})");
    EXPECT_EQ(MergeWithBase(base, Val(R"({"url":"https://other.example.com/x"})")).at("url"),
              "https://other.example.com/x");
    EXPECT_EQ(MergeWithBase(base, Val(R"({"url":"{{parameters.url}}"})")).at("url"), "{{parameters.url}}");
}

TEST(MergeWithBase, ModuleHeadersOverrideBaseHeadersCaseInsensitively) {
    auto base = Obj(R"({"headers":{"Authorization":"Bearer {{connection.token}}","Accept":"application/json"}})");
    auto merged = MergeWithBase(base, Val(R"({"url":"/x","headers":{"authorization":"Basic abc","X-Extra":"1"}})"));
    // Base entries first (minus the overridden one), then the module's.
    EXPECT_EQ(merged.at("headers"), Val(R"({"Accept":"application/json","authorization":"Basic abc","X-Extra":"1"})"));
}

TEST(MergeWithBase, QueryStringMergesPerExactKey) {
    auto base = Obj(R"({"qs":{"key":"{{connection.apiKey}}","format":"json"}})");
    auto merged = MergeWithBase(base, Val(R"({"url":"/x","qs":{"format":"xml","Format":"kept"}})"));
    EXPECT_EQ(merged.at("qs"), Val(R"({"key":"{{connection.apiKey}}","format":"xml","Format":"kept"})"));
    auto only_base = MergeWithBase(base, Val(R"({"url":"/x"})"));
    EXPECT_EQ(only_base.at("qs"), Val(R"({"key":"{{connection.apiKey}}","format":"json"})"));
}

TEST(MergeWithBase, ResponseErrorValidAndTypeAreInheritedUnlessSet) {
    auto base = Obj(R"({"response":{"error":{"message":"base"},"valid":"{{body.ok}}","type":"json"}})");
    auto inherited = MergeWithBase(base, Val(R"({"url":"/x","response":{"output":"{{body}}"}})"));
    EXPECT_EQ(inherited.at("response"),
              Val(R"({"output":"{{body}}","error":{"message":"base"},"valid":"{{body.ok}}","type":"json"})"));
    auto own = MergeWithBase(base, Val(R"({"url":"/x","response":{"error":"mine","valid":true}})"));
    EXPECT_EQ(own.at("response"), Val(R"({"error":"mine","valid":true,"type":"json"})"));
    auto without_response = MergeWithBase(base, Val(R"({"url":"/x"})"));
    EXPECT_EQ(without_response.at("response").at("error"), Val(R"({"message":"base"})"));
}

TEST(MergeWithBase, LogSanitizeIsInheritedUnlessSet) {
    auto base = Obj(R"({"log":{"sanitize":["request.headers.authorization"]}})");
    EXPECT_EQ(MergeWithBase(base, Val(R"({"url":"/x"})")).at("log"),
              Val(R"({"sanitize":["request.headers.authorization"]})"));
    EXPECT_EQ(MergeWithBase(base, Val(R"({"url":"/x","log":{"sanitize":["request.body.password"]}})")).at("log"),
              Val(R"({"sanitize":["request.body.password"]})"));
}

TEST(MergeWithBase, KeysTheBaseDoesNotKnowAreUntouched) {
    auto comm = Val(R"({"url":"https://x.test/a","method":"POST","body":{"a":1},"pagination":{"qs":{"p":2}}})");
    EXPECT_EQ(MergeWithBase(json::object{}, comm), comm);
    auto base = Obj(R"({"baseUrl":"https://api.test","headers":{"a":"1"}})");
    auto merged = MergeWithBase(base, comm);
    EXPECT_EQ(merged.at("body"), Val(R"({"a":1})"));
    EXPECT_EQ(merged.at("pagination"), Val(R"({"qs":{"p":2}})"));
    EXPECT_EQ(merged.at("method"), "POST");
}

TEST(MergeWithBase, NonObjectCommunicationIsReturnedUnchanged) {
    auto base = Obj(R"({"baseUrl":"https://api.test"})");
    EXPECT_EQ(MergeWithBase(base, Val("null")), Val("null"));
    EXPECT_EQ(MergeWithBase(base, Val(R"([{"url":"/a"}])")), Val(R"([{"url":"/a"}])"));
}

TEST(MergeWithBase, ParseAppStoresTheMergedCommunication) {
    auto doc = Val(R"({
        "name": "merge", "label": "Merge", "version": "1",
        "base": {"baseUrl": "https://api.test/v1", "headers": {"authorization": "Bearer {{connection.token}}"},
                 "response": {"error": "[{{statusCode}}]"}, "log": {"sanitize": ["request.headers.authorization"]}},
        "connections": {"merge": {"type": "apikey", "label": "Key", "api": {"url": "https://api.test/v1/me"}}},
        "modules": {"get": {"type": "action", "label": "Get", "connection": "merge",
                            "communication": {"url": "/things/{{parameters.id}}", "headers": {"accept": "text/plain"}}}}
    })");
    auto app = ParseApp(doc, "merge.json", false);
    ASSERT_TRUE(app.has_value());
    const auto& comm = app->modules.at(0).communication;
    EXPECT_EQ(comm, Val(R"({"url":"https://api.test/v1/things/{{parameters.id}}",
        "headers":{"authorization":"Bearer {{connection.token}}","accept":"text/plain"},
        "response":{"error":"[{{statusCode}}]"},"log":{"sanitize":["request.headers.authorization"]}})"));
    // Connection requests do not inherit the base.
    EXPECT_EQ(app->connections.at(0).api, Val(R"({"url":"https://api.test/v1/me"})"));
}

}  // namespace
}  // namespace switchboard::catalog

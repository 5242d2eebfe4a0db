// Keeps docs/openapi.json honest against the real router (api::BuildRouter with real services, the scenario
// service, the executor and a web UI folder included, so that every route of src/api is registered; the UI's page
// paths, registered in a loop, are not API and not documented):
//  - the document parses, says OpenAPI 3.1.x, every operation has responses, every $ref resolves, every 4xx/5xx
//    response uses the shared Error schema, every {param} of a path is declared as a path parameter;
//  - every documented (method, path) is served by the router under exactly that pattern, and a path serves no
//    method the document leaves out (the router's 405 "allowed" list equals the documented methods);
//  - every (method, pattern) the code registers (kRoutes, checked against the router.Add calls in src/api) is
//    documented.
// The checks are functions returning their findings, so the test also proves they fail on a broken document.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/api.hpp"
#include "catalog/catalog.hpp"
#include "connections/connection_service.hpp"
#include "connections/credential_store.hpp"
#include "connections/http_verifier.hpp"
#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/random.hpp"
#include "engine/executor.hpp"
#include "engine/module.hpp"
#include "engine/runner.hpp"
#include "engine/scenario_service.hpp"
#include "http_client/curl_http_client.hpp"
#include "store/scenario_store.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "vault/key_ring.hpp"
#include "vault/vault.hpp"

namespace switchboard::api {
namespace {

namespace json = boost::json;

struct RouteSpec {
    std::string method;
    std::string pattern;
};

// Every route the code registers (router.Add in src/api/*.cpp). RoutesInSourceMatchTheList keeps it complete.
const std::vector<RouteSpec> kRoutes = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"POST", "/api/v2/connections/{connectionId}/reauthorize"},
    {"GET", "/oauth/cb/{app}"},
    {"GET", "/api/v2/users/me"},
    {"GET", "/api/v2/users/me/api-tokens"},
    {"POST", "/api/v2/users/me/api-tokens"},
    {"DELETE", "/api/v2/users/me/api-tokens/{tokenId}"},
    {"GET", "/api/v2/teams"},
    {"POST", "/api/v2/teams"},
    {"GET", "/api/v2/teams/{teamId}"},
    {"GET", "/api/v2/teams/{teamId}/members"},
    {"POST", "/api/v2/teams/{teamId}/members"},
    {"DELETE", "/api/v2/teams/{teamId}/members/{userId}"},
    {"DELETE", "/api/v2/teams/{teamId}/members"},
    {"GET", "/api/v2/connections"},
    {"POST", "/api/v2/connections"},
    {"GET", "/api/v2/connections/{connectionId}"},
    {"PATCH", "/api/v2/connections/{connectionId}"},
    {"GET", "/api/v2/connections/{connectionId}/editable-data-schema"},
    {"POST", "/api/v2/connections/{connectionId}/set-data"},
    {"POST", "/api/v2/connections/{connectionId}/test"},
    {"POST", "/api/v2/connections/{connectionId}/scoped"},
    {"DELETE", "/api/v2/connections/{connectionId}"},
    {"GET", "/api/v2/audit"},
    {"GET", "/api/v2/scenarios"},
    {"POST", "/api/v2/scenarios"},
    {"GET", "/api/v2/scenarios/{scenarioId}"},
    {"PATCH", "/api/v2/scenarios/{scenarioId}"},
    {"DELETE", "/api/v2/scenarios/{scenarioId}"},
    {"POST", "/api/v2/scenarios/{scenarioId}/start"},
    {"POST", "/api/v2/scenarios/{scenarioId}/stop"},
    {"POST", "/api/v2/scenarios/{scenarioId}/clone"},
    {"GET", "/api/v2/scenarios/{scenarioId}/blueprint"},
    {"POST", "/api/v2/scenarios/{scenarioId}/run"},
    {"GET", "/api/v2/scenarios/{scenarioId}/logs"},
    {"GET", "/api/v2/scenarios/{scenarioId}/executions/{executionId}"},
    {"GET", "/api/v2/executions/{executionId}"},
    {"GET", "/api/v2/dynamic-connections"},
    {"POST", "/api/v2/dynamic-connections"},
    {"GET", "/api/v2/dynamic-connections/{dynamicConnectionId}"},
    {"PATCH", "/api/v2/dynamic-connections/{dynamicConnectionId}"},
    {"DELETE", "/api/v2/dynamic-connections/{dynamicConnectionId}"},
    {"GET", "/api/v2/connections/{connectionId}/usage"},
    {"POST", "/hooks/{token}"},
    {"GET", "/hooks/{token}"},
    {"GET", "/api/v2/apps"},
    {"GET", "/api/v2/apps/{appName}"},
    {"POST", "/api/v2/auth/login"},
    {"POST", "/api/v2/auth/setup"},
    {"GET", "/api/v2/auth/session"},
    {"POST", "/api/v2/auth/logout"},
    {"GET", "/assets/{file}"},
    {"GET", "/favicon.svg"},
};

const std::vector<std::string> kHttpMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::string ReadText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

json::value LoadDocument() {
    const std::string text = ReadText(SWITCHBOARD_OPENAPI_JSON);
    json::error_code ec;
    json::value doc = json::parse(text, ec);
    if (ec) ADD_FAILURE() << SWITCHBOARD_OPENAPI_JSON << " does not parse: " << ec.message();
    return doc;
}

std::string Upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// "/api/v2/teams/{teamId}" → "/api/v2/teams/1".
std::string Concrete(const std::string& pattern) {
    return std::regex_replace(pattern, std::regex(R"(\{[^/}]+\})"), "1");
}

std::set<std::string> Placeholders(const std::string& pattern) {
    std::set<std::string> out;
    const std::regex re(R"(\{([^/}]+)\})");
    for (auto it = std::sregex_iterator(pattern.begin(), pattern.end(), re); it != std::sregex_iterator(); ++it) {
        out.insert((*it)[1].str());
    }
    return out;
}

const json::object* PathsOf(const json::value& doc) {
    if (!doc.is_object()) return nullptr;
    const json::value* paths = doc.as_object().if_contains("paths");
    return paths && paths->is_object() ? &paths->as_object() : nullptr;
}

// (METHOD, path) of every operation in the document.
std::vector<RouteSpec> DocumentedOperations(const json::value& doc) {
    std::vector<RouteSpec> out;
    const json::object* paths = PathsOf(doc);
    if (!paths) return out;
    for (const auto& [path, item] : *paths) {
        if (!item.is_object()) continue;
        for (const auto& [key, operation] : item.as_object()) {
            const std::string k(key);
            if (std::find(kHttpMethods.begin(), kHttpMethods.end(), k) != kHttpMethods.end()) {
                out.push_back({Upper(k), std::string(path)});
            }
        }
    }
    return out;
}

// The target of a local "$ref", or null.
const json::value* Resolve(const json::value& doc, const json::value& ref) {
    if (!ref.is_string()) return nullptr;
    const std::string text(ref.as_string());
    if (!text.starts_with("#/")) return nullptr;
    json::error_code ec;
    return doc.find_pointer(text.substr(1), ec);
}

const json::value& Deref(const json::value& doc, const json::value& v) {
    if (v.is_object()) {
        if (const auto* ref = v.as_object().if_contains("$ref")) {
            if (const auto* target = Resolve(doc, *ref)) return *target;
        }
    }
    return v;
}

// ---- the checks; each returns what is wrong ("" entries never) ----

std::vector<std::string> CheckStructure(const json::value& doc) {
    std::vector<std::string> problems;
    if (!doc.is_object()) return {"the document is not a JSON object"};
    const json::object& root = doc.as_object();
    const json::value* version = root.if_contains("openapi");
    if (!version || !version->is_string() || !std::string(version->as_string()).starts_with("3.1.")) {
        problems.push_back("\"openapi\" must be a 3.1.x version string");
    }
    const json::value* info = root.if_contains("info");
    if (!info || !info->is_object() || !info->as_object().contains("title") || !info->as_object().contains("version")) {
        problems.push_back("\"info\" needs a title and a version");
    }
    const json::object* paths = PathsOf(doc);
    if (!paths || paths->empty()) {
        problems.push_back("\"paths\" is missing or empty");
        return problems;
    }
    for (const auto& [path, item] : *paths) {
        const std::string p(path);
        if (!item.is_object()) {
            problems.push_back(p + ": the path item is not an object");
            continue;
        }
        std::vector<const json::value*> path_level;
        if (const auto* params = item.as_object().if_contains("parameters"); params && params->is_array()) {
            for (const auto& param : params->as_array()) path_level.push_back(&param);
        }
        int operations = 0;
        for (const auto& [key, operation] : item.as_object()) {
            const std::string method(key);
            if (std::find(kHttpMethods.begin(), kHttpMethods.end(), method) == kHttpMethods.end()) continue;
            ++operations;
            const std::string where = Upper(method) + " " + p;
            if (!operation.is_object()) {
                problems.push_back(where + ": the operation is not an object");
                continue;
            }
            const json::value* responses = operation.as_object().if_contains("responses");
            if (!responses || !responses->is_object() || responses->as_object().empty()) {
                problems.push_back(where + ": no responses");
                continue;
            }
            for (const auto& [status, response] : responses->as_object()) {
                const std::string s(status);
                if (s.empty() || (s[0] != '4' && s[0] != '5')) continue;
                const json::value& r = Deref(doc, response);
                // A page for a browser (the OAuth callback) is HTML by design; every JSON error is the Error body.
                if (r.is_object()) {
                    json::error_code html_ec;
                    if (r.find_pointer("/content/text~1html", html_ec) &&
                        !r.find_pointer("/content/application~1json", html_ec)) {
                        continue;
                    }
                }
                const json::value* schema = nullptr;
                if (r.is_object()) {
                    json::error_code ec;
                    schema = r.find_pointer("/content/application~1json/schema/$ref", ec);
                }
                if (!schema || !schema->is_string() || schema->as_string() != "#/components/schemas/Error") {
                    problems.push_back(where + ": response " + s + " does not use #/components/schemas/Error");
                }
            }
            // Every {name} in the path is a declared path parameter, and nothing else is.
            std::set<std::string> declared;
            std::vector<const json::value*> all = path_level;
            if (const auto* params = operation.as_object().if_contains("parameters"); params && params->is_array()) {
                for (const auto& param : params->as_array()) all.push_back(&param);
            }
            for (const json::value* param : all) {
                const json::value& d = Deref(doc, *param);
                if (!d.is_object()) continue;
                const auto* in = d.as_object().if_contains("in");
                const auto* name = d.as_object().if_contains("name");
                if (in && in->is_string() && in->as_string() == "path" && name && name->is_string()) {
                    declared.insert(std::string(name->as_string()));
                }
            }
            if (declared != Placeholders(p)) problems.push_back(where + ": path parameters do not match the path");
        }
        if (operations == 0) problems.push_back(p + ": no operations");
    }
    return problems;
}

void CollectRefs(const json::value& v, const std::string& where,
                 std::vector<std::pair<std::string, json::value>>& out) {
    if (v.is_object()) {
        for (const auto& [key, child] : v.as_object()) {
            if (key == "$ref") out.emplace_back(where, child);
            CollectRefs(child, where + "/" + std::string(key), out);
        }
    } else if (v.is_array()) {
        std::size_t i = 0;
        for (const auto& child : v.as_array()) CollectRefs(child, where + "/" + std::to_string(i++), out);
    }
}

std::vector<std::string> CheckRefs(const json::value& doc) {
    std::vector<std::string> problems;
    std::vector<std::pair<std::string, json::value>> refs;
    CollectRefs(doc, "", refs);
    for (const auto& [where, ref] : refs) {
        if (!Resolve(doc, ref)) problems.push_back(where + ": $ref " + json::serialize(ref) + " does not resolve");
    }
    if (refs.empty()) problems.push_back("no $ref at all (the shared schemas are not used)");
    return problems;
}

http_server::Request Synthetic(const std::string& method, const std::string& pattern) {
    http_server::Request req;
    req.method = method;
    req.path = Concrete(pattern);  // no target: the router matches req.path as is
    return req;
}

// (a) every documented operation is served under exactly its pattern; a documented path serves no other method.
std::vector<std::string> CheckDocumentedAreServed(const json::value& doc, const http_server::Router& router) {
    std::vector<std::string> problems;
    std::map<std::string, std::vector<std::string>> methods_by_path;
    for (const auto& op : DocumentedOperations(doc)) {
        methods_by_path[op.pattern].push_back(op.method);
        auto req = Synthetic(op.method, op.pattern);
        const auto match = router.Find(req);
        if (!match.handler) {
            problems.push_back(op.method + " " + op.pattern + " is documented but the router does not serve it");
        } else if (req.route != op.pattern) {
            problems.push_back(op.method + " " + op.pattern + " is served as " + req.route);
        }
    }
    for (auto& [path, methods] : methods_by_path) {
        auto req = Synthetic("NO-SUCH-METHOD", path);
        const auto match = router.Find(req);
        std::sort(methods.begin(), methods.end());
        if (match.handler || match.allowed != methods) {
            std::string served, documented;
            for (const auto& m : match.allowed) served += " " + m;
            for (const auto& m : methods) documented += " " + m;
            problems.push_back(path + ": the router serves" + served + ", the document lists" + documented);
        }
    }
    return problems;
}

// (b) every route the code registers is documented (and really served, so kRoutes stays true).
std::vector<std::string> CheckRegisteredAreDocumented(const json::value& doc, const http_server::Router& router,
                                                      const std::vector<RouteSpec>& routes) {
    std::vector<std::string> problems;
    const json::object* paths = PathsOf(doc);
    for (const auto& route : routes) {
        const json::value* item = paths ? paths->if_contains(route.pattern) : nullptr;
        if (!item || !item->is_object() || !item->as_object().contains(Lower(route.method))) {
            problems.push_back(route.method + " " + route.pattern + " is served but not documented");
        }
        auto req = Synthetic(route.method, route.pattern);
        if (!router.Find(req).handler || req.route != route.pattern) {
            problems.push_back(route.method + " " + route.pattern + " is in kRoutes but the router does not serve it");
        }
    }
    if (DocumentedOperations(doc).size() != routes.size()) {
        problems.push_back("the document has " + std::to_string(DocumentedOperations(doc).size()) +
                           " operations, the code registers " + std::to_string(routes.size()));
    }
    return problems;
}

std::string Joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += "\n  " + l;
    return out;
}

// The real router over real services: SQLite store, vault, catalog, HTTP verifier, connection service, and the
// scenario store, runner, scenario service and executor (never started: the routes only need to exist).
class OpenApiTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto db = store::OpenDb("sqlite:" + dir_.file("switchboard.db"));
        ASSERT_TRUE(db) << db.error().detail;
        store_ = store::MakeSqlStore(std::move(*db), clock_);
        auto migrated = store_->Migrate();
        ASSERT_TRUE(migrated) << migrated.error().detail;
        auto ring = vault::KeyRing::FromText(core::Base64Encode(random_.Bytes(vault::kKeyBytes)), "test key");
        ASSERT_TRUE(ring) << ring.error().detail;
        keys_ = std::move(*ring);
        vault_ = std::make_unique<vault::Vault>(*keys_, random_);
        accounts_ = std::make_unique<accounts::AccountService>(*store_, clock_, random_);
        http_ = std::make_unique<http_client::CurlHttpClient>();
        verifier_ = std::make_unique<connections::HttpVerifier>(*http_, clock_, random_);
        credentials_ = std::make_unique<connections::CredentialStore>(*store_, *vault_);
        connections_ = std::make_unique<connections::ConnectionService>(*store_, *credentials_, catalog_, *verifier_,
                                                                        *accounts_, clock_);
        scenario_store_ = store::MakeSqlScenarioStore(store_->db(), clock_);
        runner_ = std::make_unique<engine::Runner>(catalog_, modules_, *connections_, *scenario_store_, *http_, clock_,
                                                   random_);
        scenarios_ =
            std::make_unique<engine::ScenarioService>(*store_, *scenario_store_, *accounts_, catalog_, modules_,
                                                      *connections_, clock_, random_, "http://127.0.0.1:8080");
        executor_ = std::make_unique<engine::Executor>(*scenarios_, *runner_, clock_);
        router_ = BuildRouter(Deps());
        doc_ = LoadDocument();
    }

    ApiDeps Deps(bool with_connections = true, bool with_scenarios = true) {
        return ApiDeps{*store_,
                       *accounts_,
                       metrics_,
                       with_connections ? connections_.get() : nullptr,
                       with_scenarios ? scenarios_.get() : nullptr,
                       with_scenarios ? executor_.get() : nullptr,
                       false,
                       dir_.path().string(),  // a web UI folder (its files need not exist for the routes)
                       &catalog_};
    }

    testing::TempDir dir_;
    core::SystemClock clock_;
    core::SodiumRandom random_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<vault::KeyRing> keys_;
    std::unique_ptr<vault::Vault> vault_;
    std::unique_ptr<accounts::AccountService> accounts_;
    catalog::Catalog catalog_;  // empty: the routes do not depend on the apps
    std::unique_ptr<http_client::CurlHttpClient> http_;
    std::unique_ptr<connections::HttpVerifier> verifier_;
    std::unique_ptr<connections::CredentialStore> credentials_;
    std::unique_ptr<connections::ConnectionService> connections_;
    std::unique_ptr<store::ScenarioStore> scenario_store_;
    engine::ModuleRegistry modules_ = engine::ModuleRegistry::WithBuiltins();
    std::unique_ptr<engine::Runner> runner_;
    std::unique_ptr<engine::ScenarioService> scenarios_;
    std::unique_ptr<engine::Executor> executor_;
    Metrics metrics_;
    http_server::Router router_;
    json::value doc_;
};

TEST_F(OpenApiTest, DocumentIsWellFormed) {
    const auto problems = CheckStructure(doc_);
    EXPECT_TRUE(problems.empty()) << Joined(problems);
}

TEST_F(OpenApiTest, EveryRefResolves) {
    const auto problems = CheckRefs(doc_);
    EXPECT_TRUE(problems.empty()) << Joined(problems);
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsServed) {
    const auto problems = CheckDocumentedAreServed(doc_, router_);
    EXPECT_TRUE(problems.empty()) << Joined(problems);
}

TEST_F(OpenApiTest, EveryRegisteredRouteIsDocumented) {
    const auto problems = CheckRegisteredAreDocumented(doc_, router_, kRoutes);
    EXPECT_TRUE(problems.empty()) << Joined(problems);
}

// kRoutes is a copy of the router.Add calls in src/api: a route added there without a line here fails.
TEST(OpenApiRoutes, RoutesInSourceMatchTheList) {
    std::set<std::pair<std::string, std::string>> in_source;
    const std::regex add(R"re(router\.Add\(\s*"([A-Z]+)"\s*,\s*"([^"]+)")re");
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(SWITCHBOARD_API_SOURCE_DIR)) {
        if (entry.path().extension() != ".cpp") continue;
        ++files;
        const std::string text = ReadText(entry.path().string());
        for (auto it = std::sregex_iterator(text.begin(), text.end(), add); it != std::sregex_iterator(); ++it) {
            in_source.emplace((*it)[1].str(), (*it)[2].str());
        }
    }
    ASSERT_GT(files, 0) << SWITCHBOARD_API_SOURCE_DIR;
    std::set<std::pair<std::string, std::string>> listed;
    for (const auto& r : kRoutes) listed.emplace(r.method, r.pattern);
    EXPECT_EQ(listed.size(), kRoutes.size()) << "kRoutes has duplicates";
    for (const auto& [method, pattern] : in_source) {
        EXPECT_TRUE(listed.contains({method, pattern})) << method << " " << pattern << " is registered in src/api "
                                                        << "but missing from kRoutes (and maybe from openapi.json)";
    }
    for (const auto& [method, pattern] : listed) {
        EXPECT_TRUE(in_source.contains({method, pattern})) << method << " " << pattern << " is in kRoutes only";
    }
}

// The checks above must be able to fail: run them on broken copies of the document.
TEST_F(OpenApiTest, ChecksCatchABrokenDocument) {
    ASSERT_TRUE(CheckDocumentedAreServed(doc_, router_).empty()) << "the real document must pass first";

    // A served route missing from the document.
    json::value missing = doc_;
    missing.as_object()["paths"].as_object().erase("/api/v2/connections/{connectionId}/scoped");
    EXPECT_FALSE(CheckRegisteredAreDocumented(missing, router_, kRoutes).empty());

    // A method missing from a documented path: the router still serves it.
    json::value fewer = doc_;
    fewer.as_object()["paths"].as_object()["/api/v2/teams"].as_object().erase("post");
    EXPECT_FALSE(CheckDocumentedAreServed(fewer, router_).empty());
    EXPECT_FALSE(CheckRegisteredAreDocumented(fewer, router_, kRoutes).empty());

    // A documented path the router does not have, and a documented method it does not serve.
    json::value extra = doc_;
    auto& paths = extra.as_object()["paths"].as_object();
    paths["/api/v2/no-such-things"] = paths["/api/v2/teams"];
    paths["/api/v2/audit"].as_object()["delete"] = paths["/api/v2/teams"].as_object()["get"];
    EXPECT_GE(CheckDocumentedAreServed(extra, router_).size(), 3u);

    // A parameter named differently from the code's pattern is not the same route.
    json::value renamed = doc_;
    auto& rpaths = renamed.as_object()["paths"].as_object();
    rpaths["/api/v2/teams/{id}"] = rpaths["/api/v2/teams/{teamId}"];
    rpaths.erase("/api/v2/teams/{teamId}");
    EXPECT_FALSE(CheckDocumentedAreServed(renamed, router_).empty());

    // A route the code registers that kRoutes does not know about.
    http_server::Router more = BuildRouter(Deps());
    more.Add("PUT", "/api/v2/teams/{teamId}", [](http_server::Request&) { return http_server::Response{}; });
    EXPECT_FALSE(CheckDocumentedAreServed(doc_, more).empty());

    // Without the connection service the connection routes are gone.
    http_server::Router no_connections = BuildRouter(Deps(false));
    EXPECT_FALSE(CheckDocumentedAreServed(doc_, no_connections).empty());

    // Without the scenario service and executor the scenario routes are gone, and both checks see it.
    http_server::Router no_scenarios = BuildRouter(Deps(true, false));
    EXPECT_FALSE(CheckDocumentedAreServed(doc_, no_scenarios).empty());
    EXPECT_FALSE(CheckRegisteredAreDocumented(doc_, no_scenarios, kRoutes).empty());

    // A scenario route left out of the document, and a webhook method the document does not list.
    json::value no_run = doc_;
    no_run.as_object()["paths"].as_object().erase("/api/v2/scenarios/{scenarioId}/run");
    EXPECT_FALSE(CheckRegisteredAreDocumented(no_run, router_, kRoutes).empty());
    json::value hook_get_only = doc_;
    hook_get_only.as_object()["paths"].as_object()["/hooks/{token}"].as_object().erase("post");
    EXPECT_FALSE(CheckDocumentedAreServed(hook_get_only, router_).empty());

    // Structure: a wrong version, an operation without responses, a dangling $ref, an error without Error.
    json::value old = doc_;
    old.as_object()["openapi"] = "3.0.3";
    EXPECT_FALSE(CheckStructure(old).empty());
    json::value silent = doc_;
    silent.as_object()["paths"].as_object()["/healthz"].as_object()["get"].as_object()["responses"] = json::object{};
    EXPECT_FALSE(CheckStructure(silent).empty());
    json::value dangling = doc_;
    dangling.as_object()["components"].as_object()["schemas"].as_object().erase("Error");
    EXPECT_FALSE(CheckRefs(dangling).empty());
    json::value bare = doc_;
    bare.as_object()["paths"].as_object()["/readyz"].as_object()["get"].as_object()["responses"].as_object()["503"] =
        json::object{{"description", "no body"}};
    EXPECT_FALSE(CheckStructure(bare).empty());
}

}  // namespace
}  // namespace switchboard::api

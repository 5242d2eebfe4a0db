// Every built-in app in apps/ must validate, parse, load together and have its docs page; the verify requests
// of the connection types, and the OAuth steps of the OAuth types, must be the vendors' real ones.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "catalog/catalog.hpp"
#include "catalog/validate.hpp"

namespace switchboard::catalog {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kApps = SWITCHBOARD_APPS_DIR;
const fs::path kDocs = SWITCHBOARD_DOCS_DIR;

std::vector<fs::path> AppFiles() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kApps)) {
        if (e.path().extension() == ".json") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST(BuiltinApps, EveryFileValidatesWithZeroProblemsAndParses) {
    const auto files = AppFiles();
    ASSERT_EQ(files.size(), 26u);  // the names are listed in LoadTogetherWithoutProblems
    for (const auto& file : files) {
        SCOPED_TRACE(file.string());
        auto problems = ValidateFile(file.string());
        for (const auto& p : problems) ADD_FAILURE() << ToString(p);
        std::vector<Problem> read_problems;
        auto doc = ReadJsonFile(file.string(), read_problems);
        ASSERT_TRUE(doc.has_value());
        auto app = ParseApp(*doc, file.string(), true);
        ASSERT_TRUE(app.has_value());
        EXPECT_EQ(app->name, file.stem().string()) << "the file is named after the app";
        EXPECT_FALSE(app->description.empty());
        EXPECT_TRUE(fs::exists(kDocs / "apps" / (app->name + ".md"))) << "docs/apps/" << app->name << ".md";
        for (const auto& ct : app->connections) {
            SCOPED_TRACE(ct.name);
            EXPECT_EQ(ct.name.rfind(app->name, 0), 0u) << "connection type names start with the app name";
            if (ct.native) {
                // Verified in C++ (src/nativeapps): no request to describe.
                EXPECT_TRUE(ct.api.is_null());
                EXPECT_TRUE(std::any_of(ct.parameters.begin(), ct.parameters.end(),
                                        [](const Parameter& p) { return p.IsSecret() && p.required; }));
                continue;
            }
            ASSERT_TRUE(ct.api.is_object());
            if (ct.IsOAuth()) {
                // The secret is the token the consent yields; the user may bring an own OAuth client.
                EXPECT_TRUE(ct.api.as_object().contains("token"));
                const auto* id = ct.FindParameter("clientId");
                const auto* secret = ct.FindParameter("clientSecret");
                ASSERT_NE(id, nullptr) << "every OAuth type offers clientId";
                ASSERT_NE(secret, nullptr) << "every OAuth type offers clientSecret";
                EXPECT_TRUE(secret->IsSecret());
                EXPECT_TRUE(ct.common.empty()) << "no placeholder client in a built-in app";
                continue;
            }
            EXPECT_TRUE(std::any_of(ct.parameters.begin(), ct.parameters.end(), [](const Parameter& p) {
                return p.IsSecret() && p.required;
            })) << "every built-in connection type asks for a secret";
            EXPECT_TRUE(ct.api.as_object().contains("url"));
        }
        for (const auto& m : app->modules) {
            SCOPED_TRACE(m.name);
            if (m.native) {
                // Implemented in C++ (src/nativeapps); the definition still declares the connection and outputs.
                EXPECT_TRUE(m.communication.is_null());
                EXPECT_FALSE(m.connection.empty());
                EXPECT_FALSE(m.interface.is_null()) << "modules declare their output";
                continue;
            }
            ASSERT_TRUE(m.communication.is_object());
            const auto& url = m.communication.at("url").as_string();
            EXPECT_TRUE(url.starts_with("https://") || url.starts_with("{{")) << url;
            EXPECT_FALSE(m.interface.is_null()) << "modules declare their output";
        }
    }
}

TEST(BuiltinApps, LoadTogetherWithoutProblems) {
    Catalog catalog;
    auto report = catalog.Load(kApps.string(), "");
    EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.Lines());
    std::set<std::string> names;
    for (const auto* app : catalog.Apps()) {
        names.insert(app->name);
        EXPECT_TRUE(app->builtin);
    }
    EXPECT_EQ(names,
              (std::set<std::string>{
                  "airtable",     "atlassian",    "confluence",    "dropbox",  "email",      "github",   "github-oauth",
                  "google",       "google-email", "google-sheets", "http",     "hubspot",    "jira",     "mailchimp",
                  "microsoft365", "notion",       "notion-oauth",  "postgres", "salesforce", "sendgrid", "slack",
                  "slack-oauth",  "stripe",       "trello",        "twilio",   "zoom"}));
}

struct Verify {
    std::string type;
    ConnectionKind kind;
    std::string method;
    std::string url;
};

TEST(BuiltinApps, VerifyRequestsAreTheVendorsRealEndpoints) {
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    const std::vector<Verify> expected = {
        {"http-basic", ConnectionKind::kBasic, "GET", "{{parameters.verifyUrl}}"},
        {"http-apikey", ConnectionKind::kApiKey, "GET", "{{parameters.verifyUrl}}"},
        {"http-bearer", ConnectionKind::kApiKey, "GET", "{{parameters.verifyUrl}}"},
        {"github", ConnectionKind::kApiKey, "GET", "https://api.github.com/user"},
        {"slack", ConnectionKind::kApiKey, "POST", "https://slack.com/api/auth.test"},
        {"jira", ConnectionKind::kBasic, "GET", "{{parameters.site}}/rest/api/3/myself"},
        {"confluence", ConnectionKind::kBasic, "GET", "{{parameters.site}}/wiki/rest/api/user/current"},
        {"airtable", ConnectionKind::kApiKey, "GET", "https://api.airtable.com/v0/meta/whoami"},
        {"notion", ConnectionKind::kApiKey, "GET", "https://api.notion.com/v1/users/me"},
        {"stripe", ConnectionKind::kApiKey, "GET", "https://api.stripe.com/v1/account"},
        {"sendgrid", ConnectionKind::kApiKey, "GET", "https://api.sendgrid.com/v3/scopes"},
        {"mailchimp", ConnectionKind::kApiKey, "GET",
         "https://{{last(split(parameters.apiKey, '-'))}}.api.mailchimp.com/3.0/"},
        {"twilio", ConnectionKind::kBasic, "GET",
         "https://api.twilio.com/2010-04-01/Accounts/{{parameters.accountSid}}.json"},
        {"trello", ConnectionKind::kApiKey, "GET", "https://api.trello.com/1/members/me"},
    };
    for (const auto& v : expected) {
        SCOPED_TRACE(v.type);
        const auto* ct = catalog.FindConnectionType(v.type);
        ASSERT_NE(ct, nullptr);
        EXPECT_EQ(ct->kind, v.kind);
        EXPECT_EQ(ct->api.at("method").as_string(), v.method);
        EXPECT_EQ(ct->api.at("url").as_string(), v.url);
    }
    // The generic HTTP types verify only when the user gives a verify URL.
    EXPECT_EQ(catalog.FindConnectionType("http-basic")->api.at("condition").as_string(), "{{!!parameters.verifyUrl}}");
    EXPECT_EQ(catalog.FindConnectionType("slack")->api.at("response").at("valid").as_string(), "{{body.ok}}");
    EXPECT_EQ(catalog.FindConnectionType("github")->api.at("response").at("uid").as_string(), "{{body.id}}");
    EXPECT_EQ(catalog.FindConnectionType("notion")->api.at("headers").at("notion-version").as_string(), "2022-06-28");
}

struct OAuthSteps {
    std::string type;
    ConnectionKind kind;
    bool pkce;
    std::string authorize;
    std::string token;
    std::string info_method;
    std::string info;
    std::string invalidate;  // "" when the provider has no revocation endpoint the type uses
};

const json::object& StepOf(const ConnectionType& ct, std::string_view step) {
    static const json::object kNone;
    const auto* s = ct.api.as_object().if_contains(step);
    return s && s->is_object() ? s->as_object() : kNone;
}

std::string Text(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

TEST(BuiltinApps, OAuthStepsAreTheVendorsRealEndpoints) {
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    const std::string ms = "https://login.microsoftonline.com/{{ifempty(parameters.tenant, 'common')}}/oauth2/v2.0";
    const std::string sf = "{{ifempty(parameters.loginUrl, 'https://login.salesforce.com')}}/services/oauth2";
    const std::vector<OAuthSteps> expected = {
        {"google-gmail", ConnectionKind::kOAuthRefresh, true, "https://accounts.google.com/o/oauth2/v2/auth",
         "https://oauth2.googleapis.com/token", "GET", "https://www.googleapis.com/oauth2/v3/userinfo",
         "https://oauth2.googleapis.com/revoke"},
        {"google-sheets", ConnectionKind::kOAuthRefresh, true, "https://accounts.google.com/o/oauth2/v2/auth",
         "https://oauth2.googleapis.com/token", "GET", "https://www.googleapis.com/oauth2/v3/userinfo",
         "https://oauth2.googleapis.com/revoke"},
        {"google-drive", ConnectionKind::kOAuthRefresh, true, "https://accounts.google.com/o/oauth2/v2/auth",
         "https://oauth2.googleapis.com/token", "GET", "https://www.googleapis.com/oauth2/v3/userinfo",
         "https://oauth2.googleapis.com/revoke"},
        {"google-email", ConnectionKind::kOAuthRefresh, true, "https://accounts.google.com/o/oauth2/v2/auth",
         "https://oauth2.googleapis.com/token", "GET", "https://gmail.googleapis.com/gmail/v1/users/me/profile",
         "https://oauth2.googleapis.com/revoke"},
        {"google-sheets-oauth", ConnectionKind::kOAuthRefresh, true, "https://accounts.google.com/o/oauth2/v2/auth",
         "https://oauth2.googleapis.com/token", "GET", "https://www.googleapis.com/oauth2/v3/userinfo",
         "https://oauth2.googleapis.com/revoke"},
        {"dropbox", ConnectionKind::kOAuthRefresh, true, "https://www.dropbox.com/oauth2/authorize",
         "https://api.dropboxapi.com/oauth2/token", "POST", "https://api.dropboxapi.com/2/users/get_current_account",
         "https://api.dropboxapi.com/2/auth/token/revoke"},
        {"slack-oauth", ConnectionKind::kOAuth, false, "https://slack.com/oauth/v2/authorize",
         "https://slack.com/api/oauth.v2.access", "POST", "https://slack.com/api/auth.test",
         "https://slack.com/api/auth.revoke"},
        {"github-oauth", ConnectionKind::kOAuth, true, "https://github.com/login/oauth/authorize",
         "https://github.com/login/oauth/access_token", "GET", "https://api.github.com/user",
         "https://api.github.com/applications/{{ifempty(parameters.clientId, common.clientId)}}/token"},
        {"microsoft365", ConnectionKind::kOAuthRefresh, true, ms + "/authorize", ms + "/token", "GET",
         "https://graph.microsoft.com/v1.0/me", ""},
        {"atlassian", ConnectionKind::kOAuthRefresh, false, "https://auth.atlassian.com/authorize",
         "https://auth.atlassian.com/oauth/token", "GET", "https://api.atlassian.com/oauth/token/accessible-resources",
         ""},
        {"hubspot", ConnectionKind::kOAuthRefresh, true, "https://app.hubspot.com/oauth/authorize",
         "https://api.hubapi.com/oauth/v3/token", "POST", "https://api.hubapi.com/oauth/v3/token/introspect", ""},
        {"salesforce", ConnectionKind::kOAuthRefresh, true, sf + "/authorize", sf + "/token", "GET", sf + "/userinfo",
         sf + "/revoke"},
        {"notion-oauth", ConnectionKind::kOAuth, false, "https://api.notion.com/v1/oauth/authorize",
         "https://api.notion.com/v1/oauth/token", "GET", "https://api.notion.com/v1/users/me",
         "https://api.notion.com/v1/oauth/revoke"},
        {"zoom", ConnectionKind::kOAuthRefresh, true, "https://zoom.us/oauth/authorize", "https://zoom.us/oauth/token",
         "GET", "https://api.zoom.us/v2/users/me", "https://zoom.us/oauth/revoke"},
        {"http-oauth2", ConnectionKind::kOAuthRefresh, true, "{{parameters.authorizeUri}}", "{{parameters.tokenUri}}",
         "", "", ""},
    };
    std::set<std::string> pinned;
    for (const auto& e : expected) {
        SCOPED_TRACE(e.type);
        pinned.insert(e.type);
        const auto* ct = catalog.FindConnectionType(e.type);
        ASSERT_NE(ct, nullptr);
        EXPECT_EQ(ct->kind, e.kind);
        EXPECT_EQ(ct->pkce, e.pkce);
        EXPECT_EQ(Text(StepOf(*ct, "authorize"), "url"), e.authorize);
        EXPECT_EQ(Text(StepOf(*ct, "token"), "url"), e.token);
        EXPECT_EQ(Text(StepOf(*ct, "token"), "method"), "POST");
        EXPECT_EQ(Text(StepOf(*ct, "info"), "method"), e.info_method);
        EXPECT_EQ(Text(StepOf(*ct, "info"), "url"), e.info);
        EXPECT_EQ(Text(StepOf(*ct, "invalidate"), "url"), e.invalidate);
        if (e.kind == ConnectionKind::kOAuthRefresh) {
            // Refreshed at the token endpoint: 15 minutes ahead for the vendors (whose tokens live 30 minutes or
            // more); http-oauth2 computes min(15 minutes, half the lifetime) when the token is issued.
            EXPECT_EQ(Text(StepOf(*ct, "refresh"), "url"), e.token);
            EXPECT_EQ(Text(StepOf(*ct, "refresh"), "condition"),
                      e.type == "http-oauth2" ? "{{!!data.refreshToken && !!data.refreshAt && data.refreshAt < now}}"
                                              : "{{data.expires < addMinutes(now, 15)}}");
        }
    }
    // Every OAuth type of the catalog is pinned above.
    for (const auto* app : catalog.Apps()) {
        for (const auto& ct : app->connections) {
            if (ct.IsOAuth()) {
                EXPECT_TRUE(pinned.contains(ct.name)) << ct.name;
            }
        }
    }
    // Provider specifics the flows depend on.
    const auto qs = [&](const std::string& type) {
        return StepOf(*catalog.FindConnectionType(type), "authorize").at("qs").as_object();
    };
    EXPECT_EQ(Text(qs("google-drive"), "access_type"), "offline");
    EXPECT_EQ(Text(qs("google-drive"), "prompt"), "consent");
    EXPECT_EQ(Text(qs("dropbox"), "token_access_type"), "offline");
    EXPECT_EQ(Text(qs("atlassian"), "audience"), "api.atlassian.com");
    EXPECT_EQ(Text(qs("atlassian"), "prompt"), "consent");
    EXPECT_EQ(Text(qs("atlassian"), "scope"), "{{join(oauth.scope, ' ')}} offline_access");
    EXPECT_EQ(Text(qs("microsoft365"), "scope"), "{{join(oauth.scope, ' ')}} offline_access");
    EXPECT_EQ(Text(qs("salesforce"), "scope"), "{{join(oauth.scope, ' ')}} refresh_token");
    EXPECT_EQ(Text(qs("slack-oauth"), "scope"), "{{join(oauth.scope, ',')}}");
    EXPECT_EQ(Text(qs("notion-oauth"), "owner"), "user");
    // Client authentication with HTTP Basic where the vendor asks for it.
    for (const char* type : {"notion-oauth", "zoom"}) {
        SCOPED_TRACE(type);
        const auto& headers = StepOf(*catalog.FindConnectionType(type), "token").at("headers").as_object();
        EXPECT_EQ(Text(headers, "authorization"),
                  "Basic {{base64(ifempty(parameters.clientId, common.clientId) + ':' + "
                  "ifempty(parameters.clientSecret, common.clientSecret))}}");
    }
    EXPECT_EQ(Text(StepOf(*catalog.FindConnectionType("github-oauth"), "token").at("headers").as_object(), "accept"),
              "application/json");
    EXPECT_EQ(Text(StepOf(*catalog.FindConnectionType("salesforce"), "token").at("response").at("data").as_object(),
                   "instanceUrl"),
              "{{body.instance_url}}");
    EXPECT_EQ(
        Text(StepOf(*catalog.FindConnectionType("atlassian"), "info").at("response").at("data").as_object(), "cloudId"),
        "{{ifempty(first(map(body, 'id', 'url', parameters.site)), first(body).id)}}");
}

TEST(BuiltinApps, OAuthTypesLeaveStateAndPkceToTheEngine) {
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    for (const auto* app : catalog.Apps()) {
        for (const auto& ct : app->connections) {
            if (!ct.IsOAuth()) continue;
            SCOPED_TRACE(ct.name);
            const auto& authorize = StepOf(ct, "authorize");
            const auto& qs = authorize.at("qs").as_object();
            for (const char* key : {"state", "code_challenge", "code_challenge_method"}) {
                EXPECT_FALSE(qs.contains(key)) << key;
            }
            EXPECT_EQ(Text(qs, "redirect_uri"), "{{oauth.localRedirectUri}}");
            EXPECT_EQ(authorize.at("response").at("temp").at("code").as_string(), "{{query.code}}");
            const auto& token = StepOf(ct, "token");
            if (const auto* body = token.if_contains("body"); body && body->is_object()) {
                EXPECT_FALSE(body->as_object().contains("code_verifier"));
                EXPECT_EQ(Text(body->as_object(), "code"), "{{temp.code}}");
            }
            const auto& data = token.at("response").at("data").as_object();
            EXPECT_EQ(Text(data, "accessToken"), "{{body.access_token}}");
            if (ct.kind == ConnectionKind::kOAuthRefresh) {
                EXPECT_EQ(Text(data, "refreshToken"), "{{body.refresh_token}}");
                EXPECT_FALSE(Text(data, "expires").empty());
                // A refresh that brings no new refresh token keeps the old one.
                EXPECT_EQ(Text(StepOf(ct, "refresh").at("response").at("data").as_object(), "refreshToken"),
                          "{{ifempty(body.refresh_token, data.refreshToken)}}");
            }
            if (ct.name == "http-oauth2") continue;
            // The operator's client, or the user's own (advanced, optional) one.
            for (const char* name : {"clientId", "clientSecret"}) {
                const auto* p = ct.FindParameter(name);
                ASSERT_NE(p, nullptr) << name;
                EXPECT_FALSE(p->required) << name;
                EXPECT_TRUE(p->advanced) << name;
            }
            EXPECT_EQ(Text(qs, "client_id"), "{{ifempty(parameters.clientId, common.clientId)}}");
        }
    }
    const auto* generic = catalog.FindConnectionType("http-oauth2");
    ASSERT_NE(generic, nullptr);
    EXPECT_TRUE(generic->FindParameter("clientId")->required);
    EXPECT_FALSE(generic->FindParameter("clientSecret")->required);
    for (const char* name : {"authorizeUri", "tokenUri", "scope", "scopeSeparator", "clientAuth", "tokenParameters"}) {
        EXPECT_NE(generic->FindParameter(name), nullptr) << name;
    }
    // Client authentication: a header whose name renders empty is left out.
    EXPECT_TRUE(StepOf(*generic, "token")
                    .at("headers")
                    .as_object()
                    .contains("{{if(parameters.clientAuth == 'basic', 'authorization', '')}}"));
    const auto* request = catalog.FindModule("http:makeOAuth2Request");
    ASSERT_NE(request, nullptr);
    EXPECT_EQ(request->connection, "http-oauth2");
    EXPECT_EQ(request->communication.at("headers").at("authorization").as_string(),
              "Bearer {{connection.accessToken}}");
}

TEST(BuiltinApps, ModuleScopesAreGrantedByDefault) {
    // A new connection holds the type's default scope; every built-in module must work with it.
    Catalog catalog;
    ASSERT_TRUE(catalog.Load(kApps.string(), "").ok());
    for (const auto* app : catalog.Apps()) {
        for (const auto& m : app->modules) {
            if (m.scope.empty()) continue;
            const auto* ct = catalog.FindConnectionType(m.connection);
            ASSERT_NE(ct, nullptr) << m.name;
            for (const auto& s : m.scope) {
                EXPECT_TRUE(ct->KnowsScope(s)) << app->name << ":" << m.name << " " << s;
            }
        }
    }
    // The OAuth apps ask for every scope their modules need when a connection is created.
    for (const char* name : {"google", "google-email", "google-sheets", "dropbox", "slack-oauth", "github-oauth",
                             "microsoft365", "atlassian", "hubspot", "salesforce", "zoom"}) {
        const auto* app = catalog.FindApp(name);
        ASSERT_NE(app, nullptr) << name;
        for (const auto& m : app->modules) {
            if (m.name == "findUserByEmail") continue;  // slack-oauth: users:read* are asked for when needed
            const auto* ct = catalog.FindConnectionType(m.connection);
            ASSERT_NE(ct, nullptr) << m.name;
            for (const auto& s : m.scope) {
                EXPECT_NE(std::find(ct->default_scope.begin(), ct->default_scope.end(), s), ct->default_scope.end())
                    << name << ":" << m.name << " " << s;
            }
        }
    }
    const auto* post = catalog.FindModule("slack:postMessage");
    ASSERT_NE(post, nullptr);
    EXPECT_EQ(post->scope, std::vector<std::string>{"chat:write"});
    EXPECT_EQ(post->communication.at("url").as_string(), "https://slack.com/api/chat.postMessage");
    EXPECT_EQ(post->communication.at("response").at("valid").as_string(), "{{body.ok}}");  // from the base
    EXPECT_EQ(catalog.FindModule("github:createIssue")->communication.at("headers").at("user-agent").as_string(),
              "Switchboard");
}

}  // namespace
}  // namespace switchboard::catalog

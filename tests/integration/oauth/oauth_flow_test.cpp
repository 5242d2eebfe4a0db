// OAuth 2 consent against a real provider (the npm package oidc-provider on loopback), through the real
// binary and its REST API, with the provider's login and consent pages driven without a browser.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>
#include <atomic>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/store.hpp"
#include "support/http.hpp"
#include "support/oidc_provider.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kClientSecret = "switchboard-client-secret-5d8e1f";

int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

// An operator app for the provider, in Make's OAuth format.
std::string IdpApp(const OidcEndpoints& e) {
    json::object type{
        {"type", "oauth-refresh"},
        {"label", "Test identity provider"},
        {"common", {{"clientId", "switchboard"}, {"clientSecret", kClientSecret}}},
        {"scope", json::array{"openid", "email"}},
        {"scopes", {{"openid", "Sign in"}, {"email", "Email address"}, {"read", "Read"}, {"write", "Write"}}},
        {"api",
         {{"preauthorize",
           {{"url", e.authorization.substr(0, e.authorization.find('/', 8)) + "/.well-known/openid-configuration"},
            {"response", {{"temp", {{"authorizationEndpoint", "{{body.authorization_endpoint}}"}}}}}}},
          {"authorize",
           {{"url", "{{temp.authorizationEndpoint}}"},
            {"qs",
             {{"client_id", "{{common.clientId}}"},
              {"redirect_uri", "{{oauth.localRedirectUri}}"},
              {"response_type", "code"},
              {"scope", "{{join(oauth.scope, ' ')}}"}}},
            {"response", {{"temp", {{"code", "{{query.code}}"}}}}}}},
          {"token",
           {{"url", e.token},
            {"method", "POST"},
            {"type", "urlencoded"},
            {"body",
             {{"grant_type", "authorization_code"},
              {"code", "{{temp.code}}"},
              {"client_id", "{{common.clientId}}"},
              {"client_secret", "{{common.clientSecret}}"},
              {"redirect_uri", "{{oauth.localRedirectUri}}"}}},
            {"response",
             {{"data",
               {{"accessToken", "{{body.access_token}}"},
                {"refreshToken", "{{body.refresh_token}}"},
                {"expires", "{{addSeconds(now, body.expires_in)}}"}}}}},
            {"log",
             {{"sanitize", json::array{"request.body.client_secret", "response.body.access_token",
                                       "response.body.refresh_token"}}}}}},
          {"info",
           {{"url", e.userinfo},
            {"headers", {{"authorization", "Bearer {{data.accessToken}}"}}},
            {"response", {{"metadata", {{"type", "email"}, {"value", "{{body.email}}"}}}, {"uid", "{{body.sub}}"}}}}},
          {"refresh",
           {{"condition", "{{data.expires < addSeconds(now, 2)}}"},
            {"url", e.token},
            {"method", "POST"},
            {"type", "urlencoded"},
            {"body",
             {{"grant_type", "refresh_token"},
              {"refresh_token", "{{data.refreshToken}}"},
              {"client_id", "{{common.clientId}}"},
              {"client_secret", "{{common.clientSecret}}"}}},
            {"response",
             {{"data",
               {{"accessToken", "{{body.access_token}}"},
                {"refreshToken", "{{body.refresh_token}}"},
                {"expires", "{{addSeconds(now, body.expires_in)}}"}}}}}}},
          {"invalidate",
           {{"url", e.revocation},
            {"method", "POST"},
            {"type", "urlencoded"},
            {"body",
             {{"token", "{{data.accessToken}}"},
              {"client_id", "{{common.clientId}}"},
              {"client_secret", "{{common.clientSecret}}"}}}}}}}};
    // Machine to machine: the client-credentials grant, no window.
    json::object machine{
        {"type", "oauth-clicre"},
        {"label", "Test IdP (client credentials)"},
        {"parameters",
         json::array{
             json::object{{"name", "clientId"}, {"type", "text"}, {"label", "Client ID"}, {"required", true}},
             json::object{
                 {"name", "clientSecret"}, {"type", "password"}, {"label", "Client secret"}, {"required", true}}}},
        {"scope", json::array{"read"}},
        {"scopes", {{"read", "Read"}, {"write", "Write"}}},
        {"api",
         {{"token",
           {{"url", e.token},
            {"method", "POST"},
            {"type", "urlencoded"},
            {"body",
             {{"grant_type", "client_credentials"},
              {"client_id", "{{parameters.clientId}}"},
              {"client_secret", "{{parameters.clientSecret}}"},
              {"scope", "{{join(oauth.scope, ' ')}}"}}},
            {"response",
             {{"data",
               {{"accessToken", "{{body.access_token}}"}, {"expires", "{{addSeconds(now, body.expires_in)}}"}}}}}}}}}};
    json::object app{{"name", "idp"},      {"label", "Test IdP"},
                     {"version", "1.0.0"}, {"description", "oidc-provider on loopback"},
                     {"theme", "#123456"}, {"connections", {{"idp", type}, {"idp-machine", machine}}}};
    // A module that needs more than the default grant: the usage index and AccountValidationError rely on it.
    app["modules"] = json::object{{"exportProfile",
                                   {{"type", "action"},
                                    {"label", "Export the profile"},
                                    {"connection", "idp"},
                                    {"scope", json::array{"openid", "write"}},
                                    {"communication",
                                     {{"url", e.userinfo},
                                      {"method", "GET"},
                                      {"headers", {{"authorization", "Bearer {{connection.accessToken}}"}}},
                                      {"response", {{"output", "{{body}}"}}}}}}}};
    return json::serialize(app);
}

json::value Json(const std::string& s) { return json::parse(s); }

class OAuthFlowTest : public ::testing::Test {
  protected:
    void SetUp() override {
        port = FreePort();
        const std::string redirect = "http://127.0.0.1:" + std::to_string(port) + "/oauth/cb/idp";
        const std::string generic = "http://127.0.0.1:" + std::to_string(port) + "/oauth/cb/http";
        OidcProviderOptions opts;
        opts.clients.push_back({"switchboard",
                                kClientSecret,
                                {redirect, generic},
                                "client_secret_post",
                                {"authorization_code", "refresh_token", "client_credentials"}});
        opts.clients.push_back(
            {"other", "other-secret-77", {redirect}, "client_secret_post", {"authorization_code", "refresh_token"}});
        provider = std::make_unique<OidcProvider>(opts);
        std::filesystem::create_directories(dir.file("apps"));
        std::ofstream(dir.file("apps/idp.json")) << IdpApp(provider->endpoints());
        auto valid = RunCommand({SwitchboardBinary(), "app", "validate", dir.file("apps/idp.json")});
        ASSERT_EQ(valid.exit_code, 0) << valid.out << valid.err;
        auto r = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--email",
                             "ana@alpha.test", "--team", "Alpha"},
                            {{"SWITCHBOARD_MASTER_KEY", ""}});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::string out = r.out;
        while (!out.empty() && out.back() == '\n') out.pop_back();
        token = out.substr(out.rfind('\n') + 1);
        process = std::make_unique<Process>(
            std::vector<std::string>{SwitchboardBinary(), "serve", "--data-dir", dir.file("data"), "--apps-dir",
                                     dir.file("apps"), "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--allow-private-network", "--log-level", "debug"},
            std::map<std::string, std::string>{{"SWITCHBOARD_MASTER_KEY", ""}}, dir.path().string());
        ASSERT_TRUE(process->WaitForOutput("Switchboard listening on", 30s)) << process->Stderr();
        team = Json(Call("GET", "/api/v2/teams").body).at("teams").at(0).at("id").as_int64();
    }

    HttpReply Call(const std::string& method, const std::string& target, const std::string& body = "") {
        auto r = HttpRequest(port, method, target, body, {{"Authorization", "Token " + token}});
        replies.push_back(r.body);
        return r;
    }

    // Follows the browser's last hop: the provider's redirect to our callback.
    HttpReply Callback(const std::string& redirect_url) {
        const std::string prefix = "http://127.0.0.1:" + std::to_string(port);
        EXPECT_EQ(redirect_url.rfind(prefix, 0), 0u) << redirect_url;
        return HttpRequest(port, "GET", redirect_url.substr(prefix.size()));
    }

    std::pair<std::int64_t, std::string> StartCreate(const std::string& scopes_json) {
        auto r = Call("POST", "/api/v2/connections?teamId=" + std::to_string(team),
                      R"({"accountName":"My IdP","accountType":"idp","scopes":)" + scopes_json + "}");
        EXPECT_EQ(r.status, 201) << r.body;
        const auto doc = Json(r.body);
        EXPECT_EQ(doc.at("connection").at("status").as_string(), "pending");
        EXPECT_EQ(doc.at("connection").at("name").as_string(), "My IdP");
        return {doc.at("connection").at("id").as_int64(), std::string(doc.at("authorizeUrl").as_string())};
    }

    json::value Get(std::int64_t id) {
        return Json(Call("GET", "/api/v2/connections/" + std::to_string(id)).body).at("connection");
    }

    TempDir dir;
    int port = 0;
    std::unique_ptr<OidcProvider> provider;
    std::unique_ptr<Process> process;
    std::string token;
    std::int64_t team = 0;
    std::vector<std::string> replies;
};

TEST_F(OAuthFlowTest, TheCatalogEndpointDescribesAppsWithoutTheirSecrets) {
    auto list = Call("GET", "/api/v2/apps?details=true");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.body.find(kClientSecret), std::string::npos) << "the operator's client secret reached the API";
    EXPECT_EQ(list.body.find("\"communication\""), std::string::npos);
    auto app = Call("GET", "/api/v2/apps/idp");
    ASSERT_EQ(app.status, 200) << app.body;
    const json::value doc = Json(app.body);
    EXPECT_EQ(app.body.find(kClientSecret), std::string::npos);
    const auto& types = doc.at("app").at("connections").as_array();
    ASSERT_EQ(types.size(), 2u);
    EXPECT_TRUE(types.at(0).at("oauth").as_bool());
    EXPECT_EQ(types.at(0).at("scopes").as_array().size(), 4u);
    EXPECT_EQ(doc.at("app").at("modules").at(0).at("id").as_string(), "idp:exportProfile");
    EXPECT_EQ(doc.at("app").at("modules").at(0).at("scope"), json::parse(R"(["openid","write"])"));
    // The machine type's secret field is marked secret, so the UI renders a password input.
    bool secret_field = false;
    for (const auto& p : types.at(1).at("parameters").as_array()) {
        if (p.at("name").as_string() == "clientSecret") secret_field = p.at("secret").as_bool();
    }
    EXPECT_TRUE(secret_field);
    EXPECT_EQ(Call("GET", "/api/v2/apps/nope").status, 404);
    EXPECT_EQ(HttpRequest(port, "GET", "/api/v2/apps").status, 401);
}

TEST_F(OAuthFlowTest, AuthorizationCodeWithPkceProducesAVerifiedConnection) {
    auto [id, url] = StartCreate(R"(["read"])");
    EXPECT_NE(url.find("code_challenge="), std::string::npos) << url;
    EXPECT_NE(url.find("code_challenge_method=S256"), std::string::npos);
    EXPECT_NE(url.find("state="), std::string::npos);
    const std::string back = CompleteConsent(url, "alice");
    auto page = Callback(back);
    EXPECT_EQ(page.status, 200) << page.body;
    EXPECT_NE(page.body.find("switchboard:oauth"), std::string::npos);

    const json::value c = Get(id);
    EXPECT_EQ(c.at("status").as_string(), "verified") << c;
    EXPECT_EQ(c.at("name").as_string(), "My IdP");
    EXPECT_EQ(c.at("metadata").at("value").as_string(), "alice@example.test");
    EXPECT_EQ(c.at("accountType").as_string(), "oauth");
    std::set<std::string> scopes;
    for (const auto& s : c.at("scopes").as_array()) scopes.insert(std::string(s.as_string()));
    EXPECT_TRUE(scopes.contains("read") && scopes.contains("email") && scopes.contains("openid")) << c;
    EXPECT_NE(json::serialize(c.at("requestedScopes")).find("read"), std::string::npos) << c;
    EXPECT_FALSE(c.at("partialGrant").as_bool());
    EXPECT_EQ(provider->Stats().TokenRequests("authorization_code"), 1);
    auto test = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/test");
    EXPECT_TRUE(Json(test.body).at("verified").as_bool()) << test.body;

    // The state is single use: the same answer again is refused and changes nothing.
    auto replay = Callback(back);
    EXPECT_EQ(replay.status, 400);
    EXPECT_EQ(provider->Stats().TokenRequests("authorization_code"), 1) << "a replayed state reached the provider";
    EXPECT_EQ(Get(id).at("status").as_string(), "verified");

    // Reauthorize with an extra scope: same id, credentials replaced, scope added.
    auto re = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/reauthorize", R"({"scopes":["write"]})");
    ASSERT_EQ(re.status, 200) << re.body;
    auto page2 = Callback(CompleteConsent(std::string(Json(re.body).at("authorizeUrl").as_string()), "alice"));
    EXPECT_EQ(page2.status, 200) << page2.body;
    const json::value after = Get(id);
    EXPECT_GT(after.at("version").as_int64(), c.at("version").as_int64());  // (the refresher may add versions)
    EXPECT_EQ(after.at("id").as_int64(), id);
    EXPECT_NE(json::serialize(after.at("scopes")).find("write"), std::string::npos) << after;

    // Delete revokes the token at the provider.
    const int revocations_before = provider->Stats().routes["revocation"];
    auto del = Call("DELETE", "/api/v2/connections/" + std::to_string(id));
    EXPECT_EQ(del.status, 200) << del.body;
    EXPECT_FALSE(Json(del.body).as_object().contains("revocation")) << del.body;
    EXPECT_EQ(provider->Stats().routes["revocation"], revocations_before + 1);
    // The provider's introspection reports the connection's last access token inactive.
    const auto issued = provider->IssuedTokens();
    ASSERT_GE(issued.size(), 2u);
    const std::string last_access = issued[issued.size() - 2];  // each answer: access token, then refresh token
    const auto introspected =
        FetchUrl("POST", provider->endpoints().introspection,
                 FormEncode({{"token", last_access}, {"client_id", "switchboard"}, {"client_secret", kClientSecret}}),
                 {"Content-Type: application/x-www-form-urlencoded"});
    ASSERT_EQ(introspected.status, 200) << introspected.body;
    EXPECT_FALSE(Json(introspected.body).at("active").as_bool()) << introspected.body;

    // No response ever carried the client secret.
    for (const auto& body : replies) EXPECT_EQ(body.find(kClientSecret), std::string::npos) << body;
    EXPECT_EQ(process->Stderr().find(kClientSecret), std::string::npos);
}

TEST_F(OAuthFlowTest, GenericHttpOAuth2ConnectionCompletesTheSameFlow) {
    for (const char* auth : {"body", "basic"}) {
        const json::object body{{"accountName", std::string("Generic ") + auth},
                                {"accountType", "http-oauth2"},
                                {"authorizeUri", provider->endpoints().authorization},
                                {"tokenUri", provider->endpoints().token},
                                {"scope", json::array{"openid", "email", "read"}},
                                {"clientId", "switchboard"},
                                {"clientSecret", kClientSecret},
                                {"clientAuth", auth}};
        auto r = Call("POST", "/api/v2/connections?teamId=" + std::to_string(team), json::serialize(body));
        ASSERT_EQ(r.status, 201) << r.body;
        const auto doc = Json(r.body);
        const auto id = doc.at("connection").at("id").as_int64();
        auto page = Callback(CompleteConsent(std::string(doc.at("authorizeUrl").as_string()), "alice"));
        EXPECT_EQ(page.status, 200) << auth << ": " << page.body;
        const json::value c = Get(id);
        EXPECT_EQ(c.at("status").as_string(), "verified") << auth << ": " << c;
        EXPECT_NE(json::serialize(c.at("scopes")).find("read"), std::string::npos) << c;
    }
    EXPECT_EQ(provider->Stats().TokenRequests("authorization_code"), 2);
    for (const auto& body : replies) EXPECT_EQ(body.find(kClientSecret), std::string::npos) << body;
}

TEST_F(OAuthFlowTest, ExpiredStateAndAGrantThatDropsScopesInUseChangeNothing) {
    auto [id, url] = StartCreate(R"(["read"])");
    ASSERT_EQ(Callback(CompleteConsent(url, "alice")).status, 200);
    core::SystemClock clock;
    auto db = store::OpenDb("sqlite:" + dir.file("data/switchboard.db"));
    ASSERT_TRUE(db);
    auto st = store::MakeSqlStore(std::move(*db), clock);
    // A scenario relies on "write", which the connection does not hold (the usage index learns it from the
    // blueprint's module), so its runs end with AccountValidationError before any request.
    auto scenario = Call("POST", "/api/v2/scenarios?teamId=" + std::to_string(team),
                         R"({"name":"Nightly export","blueprint":{"name":"Nightly export","flow":[
                             {"id":1,"module":"idp:exportProfile","parameters":{"__IMTCONN__":)" +
                             std::to_string(id) + R"(}}]}})");
    ASSERT_EQ(scenario.status, 201) << scenario.body;
    const std::int64_t scenario_id = Json(scenario.body).at("scenario").at("id").as_int64();
    const std::string run_path = "/api/v2/scenarios/" + std::to_string(scenario_id) + "/run";
    auto refused = Call("POST", run_path);
    ASSERT_EQ(refused.status, 200) << refused.body;
    EXPECT_EQ(Json(refused.body).at("execution").at("error").at("type").as_string(), "AccountValidationError");
    EXPECT_NE(Json(refused.body).at("execution").at("error").at("message").as_string().find("write"), std::string::npos)
        << refused.body;

    const std::string path = "/api/v2/connections/" + std::to_string(id);
    const auto version = Get(id).at("version").as_int64();
    auto re = Call("POST", path + "/reauthorize");
    ASSERT_EQ(re.status, 200) << re.body;
    const auto would = Json(re.body).at("wouldBreak").as_array();
    ASSERT_EQ(would.size(), 1u) << re.body;
    EXPECT_EQ(would[0].at("scenarioId").as_int64(), scenario_id);
    EXPECT_EQ(would[0].at("scenarioName").as_string(), "Nightly export");
    EXPECT_EQ(would[0].at("missingScopes"), json::parse(R"(["write"])"));
    // Going ahead anyway: the grant lacks "write", so nothing is committed and the page says why.
    auto page = Callback(CompleteConsent(std::string(Json(re.body).at("authorizeUrl").as_string()), "alice"));
    EXPECT_EQ(page.status, 400);
    EXPECT_NE(page.body.find("Nightly export"), std::string::npos) << page.body;
    EXPECT_EQ(Get(id).at("version").as_int64(), version);
    // Asking for the missing scope fixes it.
    auto extend = Call("POST", path + "/reauthorize", R"({"scopes":["write"]})");
    EXPECT_TRUE(Json(extend.body).at("wouldBreak").as_array().empty()) << extend.body;
    EXPECT_EQ(Callback(CompleteConsent(std::string(Json(extend.body).at("authorizeUrl").as_string()), "alice")).status,
              200);
    EXPECT_GT(Get(id).at("version").as_int64(), version);
    // With the scope granted, the scenario runs and reaches the provider with the new token.
    auto ran = Call("POST", run_path);
    ASSERT_EQ(ran.status, 200) << ran.body;
    EXPECT_EQ(Json(ran.body).at("execution").at("status").as_string(), "success") << ran.body;

    // A consent answer after the 10-minute window is refused.
    auto late = Call("POST", path + "/reauthorize");
    ASSERT_EQ(late.status, 200);
    ASSERT_TRUE(st->db().Exec("UPDATE oauth_states SET expires_at = 0"));
    auto expired = Callback(CompleteConsent(std::string(Json(late.body).at("authorizeUrl").as_string()), "alice"));
    EXPECT_EQ(expired.status, 400);
    EXPECT_NE(expired.body.find("10 minutes"), std::string::npos) << expired.body;
}

TEST_F(OAuthFlowTest, OperatorOAuthClientFileSuppliesTheClient) {
    // The same app without `common`: the client comes from the operator's --oauth-clients file.
    process->Signal(SIGTERM);
    ASSERT_TRUE(process->Wait(20s));
    json::value app = json::parse(IdpApp(provider->endpoints()));
    app.at("connections").at("idp").as_object().erase("common");
    std::ofstream(dir.file("apps/idp.json"), std::ios::trunc) << json::serialize(app);
    std::ofstream(dir.file("clients.json"))
        << json::serialize(json::object{{"idp", {{"clientId", "switchboard"}, {"clientSecret", kClientSecret}}}});
    process = std::make_unique<Process>(
        std::vector<std::string>{SwitchboardBinary(), "serve", "--data-dir", dir.file("data"), "--apps-dir",
                                 dir.file("apps"), "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--allow-private-network", "--oauth-clients", dir.file("clients.json")},
        std::map<std::string, std::string>{{"SWITCHBOARD_MASTER_KEY", ""}}, dir.path().string());
    ASSERT_TRUE(process->WaitForOutput("Switchboard listening on", 30s)) << process->Stderr();
    auto [id, url] = StartCreate("[]");
    EXPECT_NE(url.find("client_id=switchboard"), std::string::npos) << url;
    EXPECT_EQ(Callback(CompleteConsent(url, "alice")).status, 200);
    EXPECT_EQ(Get(id).at("status").as_string(), "verified");
}

TEST_F(OAuthFlowTest, ClientCredentialsNeedNoWindowAndARefusalStoresNothing) {
    const std::string conns = "/api/v2/connections?teamId=" + std::to_string(team);
    auto ok = Call("POST", conns,
                   json::serialize(json::object{{"accountName", "Machine"},
                                                {"accountType", "idp-machine"},
                                                {"clientId", "switchboard"},
                                                {"clientSecret", kClientSecret}}));
    ASSERT_EQ(ok.status, 201) << ok.body;
    EXPECT_FALSE(Json(ok.body).as_object().contains("authorizeUrl"));
    EXPECT_EQ(Json(ok.body).at("connection").at("status").as_string(), "verified");
    EXPECT_NE(json::serialize(Json(ok.body).at("connection").at("scopes")).find("read"), std::string::npos);
    EXPECT_EQ(provider->Stats().TokenRequests("client_credentials"), 1);
    auto refused = Call("POST", conns,
                        json::serialize(json::object{{"accountName", "Wrong"},
                                                     {"accountType", "idp-machine"},
                                                     {"clientId", "switchboard"},
                                                     {"clientSecret", "not-the-secret"}}));
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(Json(Call("GET", conns).body).at("connections").as_array().size(), 1u);
    for (const auto& body : replies) EXPECT_EQ(body.find(kClientSecret), std::string::npos) << body;
}

TEST_F(OAuthFlowTest, ACrashBetweenTheRefreshAnswerAndTheCommitLosesNoConnection) {
    auto [id, url] = StartCreate("[]");
    ASSERT_EQ(Callback(CompleteConsent(url, "alice")).status, 200);
    // Restart with the failpoint: the refresher's first refresh gets the provider's answer and the process dies
    // before committing it.
    process->Signal(SIGTERM);
    ASSERT_TRUE(process->Wait(20s));
    auto start = [&](bool failpoint) {
        std::map<std::string, std::string> env{{"SWITCHBOARD_MASTER_KEY", ""}};
        if (failpoint) env["SWITCHBOARD_FAILPOINT_CRASH_AFTER_REFRESH_ANSWER"] = "1";
        process = std::make_unique<Process>(
            std::vector<std::string>{SwitchboardBinary(), "serve", "--data-dir", dir.file("data"), "--apps-dir",
                                     dir.file("apps"), "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--allow-private-network"},
            env, dir.path().string());
        ASSERT_TRUE(process->WaitForOutput("Switchboard listening on", 30s)) << process->Stderr();
    };
    start(true);
    const auto crashed = process->Wait(20s);
    ASSERT_TRUE(crashed.has_value()) << "the failpoint never fired";
    EXPECT_EQ(*crashed, 86);
    EXPECT_EQ(provider->Stats().TokenRequests("refresh_token"), 1);

    // Restarted normally: the connection is still there under the same id. The provider rotates strictly, so
    // the stored (old) refresh token is refused: the connection says it needs reauthorization — nothing else.
    start(false);
    json::value c;
    // The crashed holder's refresh lease lapses after 30 s; only then may anyone refresh again.
    for (int i = 0; i < 450; ++i) {
        c = Get(id);
        if (c.at("status").as_string() == "needs_reauthorization") break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(c.at("id").as_int64(), id);
    EXPECT_EQ(c.at("status").as_string(), "needs_reauthorization") << c;
    auto re = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/reauthorize");
    ASSERT_EQ(re.status, 200) << re.body;
    ASSERT_EQ(Callback(CompleteConsent(std::string(Json(re.body).at("authorizeUrl").as_string()), "alice")).status,
              200);
    EXPECT_EQ(Get(id).at("status").as_string(), "verified");
}

TEST_F(OAuthFlowTest, ForgedStateAndACodeForAnotherClientStoreNothing) {
    auto [id, url] = StartCreate("[]");
    // A forged state is refused.
    auto forged = HttpRequest(port, "GET", "/oauth/cb/idp?code=abc&state=forged-state-value");
    EXPECT_EQ(forged.status, 400);
    EXPECT_EQ(Get(id).at("status").as_string(), "pending");

    // The provider issues a code to another client (same redirect URI); our state is genuine, but the token
    // exchange with our client must fail, and nothing is stored.
    std::string other_url = url;
    const auto pos = other_url.find("client_id=switchboard");
    ASSERT_NE(pos, std::string::npos) << url;
    other_url.replace(pos, std::string("client_id=switchboard").size(), "client_id=other");
    auto page = Callback(CompleteConsent(other_url, "alice"));
    EXPECT_EQ(page.status, 400) << page.body;
    const json::value c = Get(id);
    EXPECT_EQ(c.at("status").as_string(), "failed") << c;
    EXPECT_TRUE(c.at("metadata").is_null());
    EXPECT_GE(provider->Stats().invalid_grant, 1);

    // A provider error (the user denied) is shown and stores nothing either.
    auto [id2, url2] = StartCreate("[]");
    const auto state_pos = url2.find("state=");
    const std::string state = url2.substr(state_pos + 6, url2.find('&', state_pos) - state_pos - 6);
    auto denied = HttpRequest(port, "GET", "/oauth/cb/idp?error=access_denied&state=" + state);
    EXPECT_EQ(denied.status, 400);
    EXPECT_NE(denied.body.find("access_denied"), std::string::npos) << denied.body;
    EXPECT_EQ(Get(id2).at("status").as_string(), "failed");
}

TEST_F(OAuthFlowTest, RefresherRenewsShortTokensAndARevokedGrantNeedsReauthorization) {
    auto [id, url] = StartCreate("[]");
    ASSERT_EQ(Callback(CompleteConsent(url, "alice")).status, 200);
    const std::int64_t v0 = Get(id).at("version").as_int64();
    // Access tokens live 5 s; the app refreshes within 2 s of expiry. After 8 s the first token is dead, so a
    // verified test proves the refresher renewed it (and committed it before use).
    std::this_thread::sleep_for(8s);
    const auto stats = provider->Stats();
    EXPECT_GE(stats.TokenRequests("refresh_token"), 1) << provider->Log();
    EXPECT_LE(stats.TokenRequests("refresh_token"), 3) << "more than one refresh per expiry window";
    EXPECT_EQ(stats.invalid_grant, 0);
    EXPECT_GT(Get(id).at("version").as_int64(), v0);
    auto test = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/test");
    EXPECT_TRUE(Json(test.body).at("verified").as_bool()) << test.body;

    // The user revokes the grant at the provider: the next refresh gets invalid_grant.
    EXPECT_GE(provider->RevokeGrants("alice"), 1);
    json::value c;
    for (int i = 0; i < 100; ++i) {
        c = Get(id);
        if (c.at("status").as_string() == "needs_reauthorization") break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(c.at("status").as_string(), "needs_reauthorization") << c;
    // The next use ends with AccountValidationError.
    auto use = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/test");
    EXPECT_FALSE(Json(use.body).at("verified").as_bool());
    EXPECT_EQ(std::string(Json(use.body).at("message").as_string()).rfind("AccountValidationError", 0), 0u) << use.body;
    // Reauthorize restores it, same id.
    auto re = Call("POST", "/api/v2/connections/" + std::to_string(id) + "/reauthorize");
    ASSERT_EQ(re.status, 200) << re.body;
    ASSERT_EQ(Callback(CompleteConsent(std::string(Json(re.body).at("authorizeUrl").as_string()), "alice")).status,
              200);
    EXPECT_EQ(Get(id).at("status").as_string(), "verified");
    auto audit = Json(Call("GET", "/api/v2/audit?teamId=" + std::to_string(team)).body);
    EXPECT_NE(json::serialize(audit).find("connection.needs_reauthorization"), std::string::npos);

    // Every access and refresh token the provider issued (first grant, refreshes, the reauthorization) is
    // sealed at rest and absent from every answer and log line.
    process->Signal(SIGTERM);
    process->Wait(20s);
    const auto tokens = provider->IssuedTokens();
    ASSERT_GE(tokens.size(), 4u);
    for (const auto& t : tokens) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.file("data"))) {
            if (e.is_regular_file()) {
                EXPECT_EQ(ReadFile(e.path()).find(t), std::string::npos) << e.path();
            }
        }
        for (const auto& body : replies) EXPECT_EQ(body.find(t), std::string::npos);
        EXPECT_EQ(process->Stderr().find(t), std::string::npos);
    }
}

// Two server processes on one PostgreSQL share a connection whose access tokens live 5 seconds and whose
// refresh tokens rotate (a reused one is refused and kills the grant). 200 uses (verify with the current token,
// refreshing first when due, and once more on a 401) spread over both processes for about 12 seconds.
TEST(OAuthAcrossNodes, ConcurrentUsesOnTwoNodesNeverReuseARefreshToken) {
    TempDir dir;
    const int port_a = FreePort();
    const int port_b = FreePort();
    const std::string redirect = "http://127.0.0.1:" + std::to_string(port_a) + "/oauth/cb/idp";
    OidcProviderOptions opts;
    opts.clients.push_back(
        {"switchboard", kClientSecret, {redirect}, "client_secret_post", {"authorization_code", "refresh_token"}});
    OidcProvider provider(opts);
    std::filesystem::create_directories(dir.file("apps"));
    std::ofstream(dir.file("apps/idp.json")) << IdpApp(provider.endpoints());
    const std::string db = PostgresServer::Shared().CreateDatabase("nodes");
    const std::map<std::string, std::string> env{{"SWITCHBOARD_MASTER_KEY", ""}};
    auto t = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--database", db,
                         "--email", "ana@alpha.test", "--team", "Alpha"},
                        env);
    ASSERT_EQ(t.exit_code, 0) << t.err;
    std::string token = t.out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    token = token.substr(token.rfind('\n') + 1);
    auto node = [&](int port) {
        auto p = std::make_unique<Process>(
            std::vector<std::string>{SwitchboardBinary(), "serve", "--data-dir", dir.file("data"), "--database", db,
                                     "--apps-dir", dir.file("apps"), "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--public-url", "http://127.0.0.1:" + std::to_string(port_a),
                                     "--allow-private-network"},
            env, dir.path().string());
        EXPECT_TRUE(p->WaitForOutput("Switchboard listening on", 30s)) << p->Stderr();
        return p;
    };
    auto a = node(port_a);
    auto b = node(port_b);
    const auto auth = std::map<std::string, std::string>{{"Authorization", "Token " + token}};
    const auto team =
        Json(HttpRequest(port_a, "GET", "/api/v2/teams", "", auth).body).at("teams").at(0).at("id").as_int64();
    auto created = HttpRequest(port_a, "POST", "/api/v2/connections?teamId=" + std::to_string(team),
                               R"({"accountName":"Shared","accountType":"idp"})", auth);
    ASSERT_EQ(created.status, 201) << created.body;
    const auto id = Json(created.body).at("connection").at("id").as_int64();
    const std::string prefix = "http://127.0.0.1:" + std::to_string(port_a);
    const std::string back = CompleteConsent(std::string(Json(created.body).at("authorizeUrl").as_string()), "alice");
    ASSERT_EQ(HttpRequest(port_a, "GET", back.substr(prefix.size())).status, 200);
    provider.ResetStats();

    std::atomic<int> verified{0}, failed{0};
    std::vector<std::thread> users;
    const auto start = std::chrono::steady_clock::now();
    for (int u = 0; u < 8; ++u) {
        users.emplace_back([&, u] {
            for (int i = 0; i < 25; ++i) {
                const int port = (u + i) % 2 == 0 ? port_a : port_b;
                auto r = HttpRequest(port, "POST", "/api/v2/connections/" + std::to_string(id) + "/test", "", auth);
                const bool ok = r.status == 200 && Json(r.body).at("verified").as_bool();
                ++(ok ? verified : failed);
                std::this_thread::sleep_for(400ms);
            }
        });
    }
    for (auto& th : users) th.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto stats = provider.Stats();
    EXPECT_EQ(verified.load(), 200) << failed.load() << " uses failed; provider log:\n" << provider.Log();
    EXPECT_EQ(stats.invalid_grant, 0) << provider.Log();
    // One refresh per expiry window at most: tokens live 5 s and are renewed within 2 s of expiry, so a window
    // is at least 3 s long.
    const int windows = static_cast<int>(seconds / 3.0) + 1;
    std::printf("uses verified=%d failed=%d, refreshes=%d (windows %d, %.1f s), token requests=%d\n", verified.load(),
                failed.load(), stats.TokenRequests("refresh_token"), windows, seconds, stats.token_requests_total);
    EXPECT_GE(stats.TokenRequests("refresh_token"), 1);
    EXPECT_LE(stats.TokenRequests("refresh_token"), windows) << "over " << seconds << " s";
}

}  // namespace
}  // namespace switchboard::testing

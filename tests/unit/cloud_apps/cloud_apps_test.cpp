// The cloud apps google-email (Gmail), google-sheets and dropbox: every module's request is rendered from sample
// inputs by the engine's own code (the catalog loader, request_spec::Render, RunAppModule, RunApiCall and the OAuth
// engine) and compared with the request format the provider documents, written out here. The HttpClient seam
// records what would be sent and answers with the provider's documented sample response, so the tests are
// hermetic: nothing leaves the process.
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/random.hpp"
#include "engine/app_module.hpp"
#include "engine/blueprint.hpp"
#include "http_client/url.hpp"
#include "iml/template.hpp"
#include "oauth/oauth_engine.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kToken = "TOKEN_PLACEHOLDER";
constexpr std::string_view kBearer = "Bearer TOKEN_PLACEHOLDER";
const fs::path kApps = SWITCHBOARD_APPS_DIR;
const fs::path kExamples = SWITCHBOARD_EXAMPLES_DIR;

// The built-in catalog, loaded once the way the server loads it. Other apps' problems are not this suite's
// business; the three cloud apps must load without any.
const catalog::Catalog& Catalog() {
    static const auto* catalog = [] {
        auto* c = new catalog::Catalog();
        const auto report = c->Load(kApps.string(), "");
        for (const auto& file : report.files) {
            const std::string name = fs::path(file.file).filename().string();
            if (name == "google-email.json" || name == "google-sheets.json" || name == "dropbox.json") {
                for (const auto& p : file.problems) ADD_FAILURE() << catalog::ToString(p);
            }
        }
        return c;
    }();
    return *catalog;
}

// Records every request and answers from a script.
class RecordingHttpClient final : public http_client::HttpClient {
  public:
    core::Result<http_client::Response> Send(const http_client::Request& request) override {
        sent.push_back(request);
        if (answers.empty()) return core::Error::Make(core::Errc::kUpstreamError, "no answer scripted");
        auto answer = std::move(answers.front());
        answers.pop_front();
        return answer;
    }
    std::vector<http_client::Request> sent;
    std::deque<http_client::Response> answers;
};

http_client::Response JsonAnswer(std::string_view body, int status = 200) {
    http_client::Response r;
    r.status = status;
    r.headers = {{"content-type", "application/json; charset=UTF-8"}};
    r.body = std::string(body);
    return r;
}

// The request line as sent: method and the full URL with the query appended the way the client encodes it.
std::string FullUrl(const http_client::Request& r) {
    auto url = http_client::BuildUrl(r.url, r.query);
    return url ? *url : "invalid URL: " + url.error().detail;
}

std::vector<std::string> HeaderValues(const http_client::Request& r, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [k, v] : r.headers) {
        if (http_client::HeaderNameEquals(k, name)) out.push_back(v);
    }
    return out;
}

std::string Header(const http_client::Request& r, std::string_view name) {
    auto all = HeaderValues(r, name);
    EXPECT_LE(all.size(), 1u) << name << " sent more than once";
    return all.empty() ? std::string("<absent>") : all.front();
}

json::value JsonBodyOf(const http_client::Request& r) {
    const auto* body = std::get_if<http_client::JsonBody>(&r.body);
    EXPECT_NE(body, nullptr) << "the body is not JSON";
    return body ? body->value : json::value();
}

std::map<std::string, std::string> FormOf(const http_client::Request& r) {
    std::map<std::string, std::string> out;
    const auto* form = std::get_if<http_client::FormBody>(&r.body);
    EXPECT_NE(form, nullptr) << "the body is not a form";
    if (form) {
        for (const auto& [k, v] : form->fields) out[k] = v;
    }
    return out;
}

// The query string of a URL, decoded (a repeated name keeps every value).
std::multimap<std::string, std::string> QueryOf(std::string_view url) {
    std::multimap<std::string, std::string> out;
    const auto q = url.find('?');
    if (q == std::string_view::npos) return out;
    std::string_view rest = url.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        out.emplace(http_client::PercentDecode(pair.substr(0, eq), true),
                    eq == std::string_view::npos ? "" : http_client::PercentDecode(pair.substr(eq + 1), true));
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    return out;
}

std::string One(const std::multimap<std::string, std::string>& q, const std::string& key) {
    EXPECT_EQ(q.count(key), 1u) << key;
    auto it = q.find(key);
    return it == q.end() ? "<absent>" : it->second;
}

std::string Base64UrlDecode(std::string_view text) {
    std::string out(text.size(), '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        ADD_FAILURE() << "not unpadded base64url: " << text;
        return {};
    }
    out.resize(len);
    return out;
}

std::string Base64(std::string_view bytes) { return core::Base64Encode(bytes); }

struct Fixture {
    core::ManualClock clock{1'767'225'600'000};  // 2026-01-01T00:00:00Z
    core::SeededRandom random{7};
};

json::object Params(std::string_view text) { return json::parse(text).as_object(); }

// Renders a module's merged communication as the engine does for a connection holding kToken.
core::Result<http_client::Request> RenderModule(std::string_view qualified, const json::object& parameters) {
    const auto* m = Catalog().FindModule(qualified);
    if (!m) return core::InvalidArgument("no module " + std::string(qualified));
    static Fixture f;
    json::object root{{"parameters", parameters},
                      {"connection", {{"accessToken", kToken}}},
                      {"common", json::object{}},
                      {"data", {{"accessToken", kToken}}},
                      {"temp", json::object{}}};
    iml::Context ctx;
    ctx.root = &root;
    ctx.clock = &f.clock;
    ctx.random = &f.random;
    return request_spec::Render(m->communication.as_object(), ctx, qualified);
}

struct ModuleRun {
    engine::ModuleOutcome out;
    std::vector<http_client::Request> sent;
};

connections::ResolvedConnection ConnectionFor(const catalog::Module& m) {
    connections::ResolvedConnection c;
    c.app = Catalog().FindApp(m.app);
    c.type = Catalog().FindConnectionType(m.connection);
    c.credentials.data = json::object{
        {"accessToken", kToken}, {"refreshToken", "REFRESH_PLACEHOLDER"}, {"expires", "2026-01-01T01:00:00.000Z"}};
    return c;
}

// Runs an app module through the engine (RunAppModule) against one scripted answer.
ModuleRun RunModule(std::string_view qualified, const json::object& parameters, http_client::Response answer,
                    std::optional<std::string> cursor = std::nullopt) {
    Fixture f;
    RecordingHttpClient http;
    http.answers.push_back(std::move(answer));
    engine::RunEnv env;
    env.clock = &f.clock;
    env.random = &f.random;
    env.http = &http;
    ModuleRun run;
    const auto* def = Catalog().FindModule(qualified);
    EXPECT_NE(def, nullptr) << qualified;
    if (!def) return run;
    auto connection = ConnectionFor(*def);
    engine::ModuleCall call;
    call.definition = def;
    call.parameters = parameters;
    call.connection = &connection;
    call.cursor = std::move(cursor);
    call.env = &env;
    run.out = engine::RunAppModule(call);
    run.sent = http.sent;
    if (run.out.failure) ADD_FAILURE() << run.out.failure->type << ": " << run.out.failure->message;
    return run;
}

// "<app>:makeApiCall" through the engine (RunApiCall).
ModuleRun RunApiCall(std::string_view app_name, const json::object& parameters, http_client::Response answer) {
    Fixture f;
    RecordingHttpClient http;
    http.answers.push_back(std::move(answer));
    engine::RunEnv env;
    env.clock = &f.clock;
    env.random = &f.random;
    env.http = &http;
    ModuleRun run;
    const auto* app = Catalog().FindApp(app_name);
    EXPECT_NE(app, nullptr) << app_name;
    if (!app) return run;
    connections::ResolvedConnection connection;
    connection.app = app;
    connection.type = &app->connections.front();
    connection.credentials.data = json::object{{"accessToken", kToken}};
    engine::ModuleCall call;
    call.parameters = parameters;
    call.connection = &connection;
    call.env = &env;
    run.out = engine::RunApiCall(call, *app);
    run.sent = http.sent;
    if (run.out.failure) ADD_FAILURE() << run.out.failure->type << ": " << run.out.failure->message;
    return run;
}

// Splits an RFC 2822 message into header lines and the body; every line must end with CRLF.
struct Mime {
    std::vector<std::string> headers;
    std::string body;
};
Mime ParseMime(const std::string& text) {
    Mime m;
    const auto end = text.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos) << "no empty line after the headers";
    if (end == std::string::npos) return m;
    std::string_view head(text.data(), end);
    while (!head.empty()) {
        const auto eol = head.find("\r\n");
        m.headers.emplace_back(head.substr(0, eol));
        head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    }
    m.body = text.substr(end + 4);
    return m;
}

std::string HeaderLine(const Mime& m, std::string_view name) {
    std::string found = "<absent>";
    int count = 0;
    for (const auto& line : m.headers) {
        if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ':') {
            found = line.substr(name.size() + 2);
            ++count;
        }
    }
    EXPECT_LE(count, 1) << name;
    return found;
}

void ExpectCrlfOnly(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n') {
            ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "bare LF at " << i;
        } else if (text[i] == '\r') {
            ASSERT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR at " << i;
        }
    }
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 999u) << "RFC 5322 line limit";
}

// ---------------------------------------------------------------------------------------------------------------
// The catalog entries themselves.

TEST(CloudApps, LoadWithTheModulesAndConnectionTypesTheDocsDescribe) {
    const std::map<std::string, std::pair<std::string, std::vector<std::string>>> expected = {
        {"google-email", {"google-email", {"TriggerWatchEmails", "ActionGetEmail", "ActionSendEmail"}}},
        {"google-sheets", {"google-sheets-oauth", {"addRow", "filterRows", "updateRow", "watchRows"}}},
        {"dropbox", {"dropbox", {"listFolder", "uploadFile", "createFolder"}}},
    };
    for (const auto& [name, want] : expected) {
        SCOPED_TRACE(name);
        const auto* app = Catalog().FindApp(name);
        ASSERT_NE(app, nullptr);
        ASSERT_EQ(app->connections.size(), 1u);
        EXPECT_EQ(app->connections.front().name, want.first);
        EXPECT_EQ(app->connections.front().kind, catalog::ConnectionKind::kOAuthRefresh);
        EXPECT_TRUE(app->connections.front().pkce);
        std::vector<std::string> modules;
        for (const auto& m : app->modules) modules.push_back(m.name);
        EXPECT_EQ(modules, want.second);
        // Make an API call is automatic for an app with a base URL; its header carries the token.
        ASSERT_TRUE(app->base.contains("baseUrl"));
        EXPECT_EQ(app->base.at("headers").at("authorization").as_string(), "Bearer {{connection.accessToken}}");
        for (const auto& m : app->modules) {
            SCOPED_TRACE(m.name);
            EXPECT_EQ(m.connection, want.first);
            for (const auto& s : m.scope) {
                const auto& def = app->connections.front().default_scope;
                EXPECT_NE(std::find(def.begin(), def.end(), s), def.end()) << "granted by default: " << s;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// OAuth: the consent URL, the token, info, refresh and revoke requests of each connection type.

struct AuthorizeCase {
    std::string app;
    std::string type;
    std::string endpoint;
    std::string scope;
    std::map<std::string, std::string> extra;
};

TEST(CloudAppsOAuth, ConsentUrlHasTheProvidersEndpointScopesAndPkce) {
    const std::vector<AuthorizeCase> cases = {
        {"google-email",
         "google-email",
         "https://accounts.google.com/o/oauth2/v2/auth",
         "https://www.googleapis.com/auth/gmail.readonly https://www.googleapis.com/auth/gmail.send",
         {{"access_type", "offline"}, {"prompt", "consent"}}},
        {"google-sheets",
         "google-sheets-oauth",
         "https://accounts.google.com/o/oauth2/v2/auth",
         "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/spreadsheets",
         {{"access_type", "offline"}, {"prompt", "consent"}}},
        {"dropbox",
         "dropbox",
         "https://www.dropbox.com/oauth2/authorize",
         "account_info.read files.metadata.read files.content.write",
         {{"token_access_type", "offline"}}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.type);
        Fixture f;
        RecordingHttpClient http;
        oauth::OAuthEngine engine(http, f.clock, f.random, "https://sb.example.com",
                                  {{c.app, json::object{{"clientId", "OPERATOR_CLIENT"}, {"clientSecret", "S"}}}});
        const auto* app = Catalog().FindApp(c.app);
        ASSERT_NE(app, nullptr);
        const auto* type = app->FindConnectionType(c.type);
        ASSERT_NE(type, nullptr);
        auto start = engine.Authorize(*app, *type, json::object{}, type->default_scope);
        ASSERT_TRUE(start) << start.error().detail;
        EXPECT_TRUE(http.sent.empty()) << "the consent URL needs no request";
        ASSERT_EQ(start->url.rfind(c.endpoint + "?", 0), 0u) << start->url;
        const auto q = QueryOf(start->url);
        EXPECT_EQ(One(q, "client_id"), "OPERATOR_CLIENT");
        EXPECT_EQ(One(q, "redirect_uri"), "https://sb.example.com/oauth/cb/" + c.app);
        EXPECT_EQ(One(q, "response_type"), "code");
        EXPECT_EQ(One(q, "scope"), c.scope);
        for (const auto& [k, v] : c.extra) EXPECT_EQ(One(q, k), v) << k;
        EXPECT_EQ(One(q, "state"), start->state);
        EXPECT_FALSE(start->state.empty());
        // PKCE S256: the challenge is BASE64URL(SHA-256(verifier)).
        ASSERT_FALSE(start->code_verifier.empty());
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(start->code_verifier.data()),
                           start->code_verifier.size());
        EXPECT_EQ(One(q, "code_challenge"),
                  core::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)));
        EXPECT_EQ(One(q, "code_challenge_method"), "S256");
        EXPECT_EQ(q.size(), 7u + c.extra.size()) << start->url;
    }
}

TEST(CloudAppsOAuth, GmailCodeExchangeThenProfileGivesTheAddress) {
    Fixture f;
    RecordingHttpClient http;
    http.answers.push_back(JsonAnswer(
        R"({"access_token":"ya29.ACCESS","expires_in":3599,"refresh_token":"1//REFRESH","token_type":"Bearer",)"
        R"("scope":"https://www.googleapis.com/auth/gmail.send https://www.googleapis.com/auth/gmail.readonly"})"));
    http.answers.push_back(JsonAnswer(
        R"({"emailAddress":"ana@example.com","messagesTotal":1204,"threadsTotal":980,"historyId":"4455667"})"));
    oauth::OAuthEngine engine(http, f.clock, f.random, "https://sb.example.com",
                              {{"google-email", json::object{{"clientId", "CID"}, {"clientSecret", "CSECRET"}}}});
    const auto* app = Catalog().FindApp("google-email");
    ASSERT_NE(app, nullptr);
    const auto& type = app->connections.front();
    auto grant =
        engine.ExchangeCode(*app, type, {}, type.default_scope, json::object{{"code", "4/0Acode"}}, "VERIFIER_64");
    ASSERT_TRUE(grant) << grant.error().detail;
    ASSERT_EQ(http.sent.size(), 2u);
    // POST https://oauth2.googleapis.com/token, application/x-www-form-urlencoded (Google's OAuth 2.0 for web
    // server applications, step 5).
    const auto& token = http.sent[0];
    EXPECT_EQ(token.method, "POST");
    EXPECT_EQ(FullUrl(token), "https://oauth2.googleapis.com/token");
    EXPECT_EQ(FormOf(token),
              (std::map<std::string, std::string>{{"grant_type", "authorization_code"},
                                                  {"code", "4/0Acode"},
                                                  {"client_id", "CID"},
                                                  {"client_secret", "CSECRET"},
                                                  {"redirect_uri", "https://sb.example.com/oauth/cb/google-email"},
                                                  {"code_verifier", "VERIFIER_64"}}));
    // GET https://gmail.googleapis.com/gmail/v1/users/me/profile (users.getProfile).
    const auto& info = http.sent[1];
    EXPECT_EQ(info.method, "GET");
    EXPECT_EQ(FullUrl(info), "https://gmail.googleapis.com/gmail/v1/users/me/profile");
    EXPECT_EQ(Header(info, "authorization"), "Bearer ya29.ACCESS");
    EXPECT_EQ(grant->data.at("accessToken").as_string(), "ya29.ACCESS");
    EXPECT_EQ(grant->data.at("refreshToken").as_string(), "1//REFRESH");
    EXPECT_EQ(grant->data.at("expires").as_string(), "2026-01-01T00:59:59.000Z");
    EXPECT_EQ(grant->metadata, json::parse(R"({"type":"email","value":"ana@example.com"})"));
    EXPECT_EQ(grant->uid, "ana@example.com");
    EXPECT_FALSE(grant->partial);
}

TEST(CloudAppsOAuth, SheetsInfoIsUserinfoAndDropboxInfoIsAPostWithoutBody) {
    {
        Fixture f;
        RecordingHttpClient http;
        http.answers.push_back(JsonAnswer(R"({"sub":"1098","email":"ana@example.com","email_verified":true})"));
        oauth::OAuthEngine engine(http, f.clock, f.random, "https://sb.example.com");
        const auto* app = Catalog().FindApp("google-sheets");
        ASSERT_NE(app, nullptr);
        auto info = engine.Info(*app, app->connections.front(), {}, json::object{{"accessToken", "ya29.X"}});
        ASSERT_TRUE(info) << info.error().detail;
        ASSERT_EQ(http.sent.size(), 1u);
        EXPECT_EQ(http.sent[0].method, "GET");
        EXPECT_EQ(FullUrl(http.sent[0]), "https://www.googleapis.com/oauth2/v3/userinfo");
        EXPECT_EQ(Header(http.sent[0], "authorization"), "Bearer ya29.X");
        EXPECT_EQ(info->uid, "1098");
        EXPECT_EQ(info->metadata, json::parse(R"({"type":"email","value":"ana@example.com"})"));
    }
    {
        Fixture f;
        RecordingHttpClient http;
        http.answers.push_back(JsonAnswer(
            R"({"account_id":"dbid:AAH4f99","email":"ana@example.com","name":{"display_name":"Ana Novak"}})"));
        oauth::OAuthEngine engine(http, f.clock, f.random, "https://sb.example.com");
        const auto* app = Catalog().FindApp("dropbox");
        ASSERT_NE(app, nullptr);
        auto info = engine.Info(*app, app->connections.front(), {}, json::object{{"accessToken", "sl.X"}});
        ASSERT_TRUE(info) << info.error().detail;
        ASSERT_EQ(http.sent.size(), 1u);
        // users/get_current_account takes no arguments: POST with no body at all (not "null").
        EXPECT_EQ(http.sent[0].method, "POST");
        EXPECT_EQ(FullUrl(http.sent[0]), "https://api.dropboxapi.com/2/users/get_current_account");
        EXPECT_TRUE(std::holds_alternative<http_client::NoBody>(http.sent[0].body));
        EXPECT_EQ(Header(http.sent[0], "authorization"), "Bearer sl.X");
        EXPECT_EQ(info->uid, "dbid:AAH4f99");
        EXPECT_EQ(info->data.at("displayName").as_string(), "Ana Novak");
    }
}

TEST(CloudAppsOAuth, RefreshKeepsTheRefreshTokenAndRevokeHitsTheProvider) {
    struct Case {
        std::string app;
        std::string token_url;
        std::string revoke_url;
    };
    for (const Case& c :
         {Case{"google-email", "https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com/revoke"},
          Case{"google-sheets", "https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com/revoke"},
          Case{"dropbox", "https://api.dropboxapi.com/oauth2/token",
               "https://api.dropboxapi.com/2/auth/token/revoke"}}) {
        SCOPED_TRACE(c.app);
        Fixture f;
        RecordingHttpClient http;
        http.answers.push_back(JsonAnswer(R"({"access_token":"NEW_ACCESS","expires_in":3600,"token_type":"bearer"})"));
        http.answers.push_back(JsonAnswer("{}"));
        oauth::OAuthEngine engine(http, f.clock, f.random, "https://sb.example.com",
                                  {{c.app, json::object{{"clientId", "CID"}, {"clientSecret", "CSECRET"}}}});
        const auto* app = Catalog().FindApp(c.app);
        ASSERT_NE(app, nullptr);
        const auto& type = app->connections.front();
        const json::object data{
            {"accessToken", "OLD_ACCESS"}, {"refreshToken", "THE_REFRESH"}, {"expires", "2026-01-01T00:05:00.000Z"}};
        auto due = engine.RefreshDue(*app, type, {}, data);
        ASSERT_TRUE(due);
        EXPECT_EQ(*due, std::optional<bool>(true)) << "5 minutes before expiry";
        auto fresh = engine.Refresh(*app, type, {}, data);
        ASSERT_TRUE(fresh) << fresh.error().detail;
        ASSERT_EQ(http.sent.size(), 1u);
        EXPECT_EQ(http.sent[0].method, "POST");
        EXPECT_EQ(FullUrl(http.sent[0]), c.token_url);
        EXPECT_EQ(FormOf(http.sent[0]), (std::map<std::string, std::string>{{"grant_type", "refresh_token"},
                                                                            {"refresh_token", "THE_REFRESH"},
                                                                            {"client_id", "CID"},
                                                                            {"client_secret", "CSECRET"}}));
        EXPECT_EQ(fresh->at("accessToken").as_string(), "NEW_ACCESS");
        EXPECT_EQ(fresh->at("refreshToken").as_string(), "THE_REFRESH");
        EXPECT_EQ(fresh->at("expires").as_string(), "2026-01-01T01:00:00.000Z");

        ASSERT_TRUE(engine.Invalidate(*app, type, {}, data));
        ASSERT_EQ(http.sent.size(), 2u);
        const auto& revoke = http.sent[1];
        EXPECT_EQ(revoke.method, "POST");
        EXPECT_EQ(FullUrl(revoke), c.revoke_url);
        if (c.app == "dropbox") {
            // auth/token/revoke: no arguments, the token in the Authorization header.
            EXPECT_EQ(Header(revoke, "authorization"), "Bearer OLD_ACCESS");
            EXPECT_TRUE(std::holds_alternative<http_client::NoBody>(revoke.body));
        } else {
            // Google: token=<refresh token> as a form; revoking it ends the whole grant.
            EXPECT_EQ(FormOf(revoke), (std::map<std::string, std::string>{{"token", "THE_REFRESH"}}));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Gmail (https://developers.google.com/gmail/api/reference/rest/v1/users.messages).

TEST(Gmail, WatchEmailsListsMessagesWithQueryLabelsAndWindow) {
    auto req =
        RenderModule("google-email:TriggerWatchEmails", Params(R"({"query": "from:billing@example.com has:attachment",
                                       "labelIds": ["INBOX", "UNREAD"], "maxResults": 50, "limit": 2})"));
    ASSERT_TRUE(req) << req.error().detail;
    // GET /gmail/v1/users/me/messages?labelIds=…&labelIds=…&q=…&includeSpamTrash=…&maxResults=…
    EXPECT_EQ(req->method, "GET");
    EXPECT_EQ(FullUrl(*req),
              "https://gmail.googleapis.com/gmail/v1/users/me/messages?labelIds=INBOX&labelIds=UNREAD"
              "&q=from%3Abilling%40example.com%20has%3Aattachment&includeSpamTrash=false&maxResults=50");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_TRUE(std::holds_alternative<http_client::NoBody>(req->body));

    // Without labels there is no labelIds parameter; the query defaults to the inbox.
    auto plain = RenderModule("google-email:TriggerWatchEmails", Params(R"({"labelIds": []})"));
    ASSERT_TRUE(plain) << plain.error().detail;
    EXPECT_EQ(FullUrl(*plain),
              "https://gmail.googleapis.com/gmail/v1/users/me/messages?q=in%3Ainbox&includeSpamTrash=false"
              "&maxResults=100");
    // A label cannot smuggle in other parameters.
    auto smuggled = RenderModule("google-email:TriggerWatchEmails", Params(R"({"labelIds": "INBOX&q=x y,Label_7"})"));
    ASSERT_TRUE(smuggled) << smuggled.error().detail;
    const auto q = QueryOf(FullUrl(*smuggled));
    EXPECT_EQ(q.count("labelIds"), 2u);
    EXPECT_EQ(q.find("labelIds")->second, "INBOXqxy");
    EXPECT_EQ(std::next(q.find("labelIds"))->second, "Label_7");
    EXPECT_EQ(One(q, "q"), "in:inbox");
}

TEST(Gmail, WatchEmailsEmitsOnlyMessagesAfterTheCursorOldestFirst) {
    // users.messages.list answers newest first, with ids only.
    const auto answer = JsonAnswer(R"({"messages": [
        {"id": "19a3c0ffee000004", "threadId": "19a3c0ffee000004"},
        {"id": "19a3c0ffee000003", "threadId": "19a3c0ffee000001"},
        {"id": "19a3c0ffee000002", "threadId": "19a3c0ffee000002"},
        {"id": "19a3c0ffee000001", "threadId": "19a3c0ffee000001"}],
        "nextPageToken": "0917", "resultSizeEstimate": 4})");
    auto run = RunModule("google-email:TriggerWatchEmails", Params(R"({"limit": 2})"), answer,
                         R"({"type":"id","last":"19a3c0ffee000001"})");
    ASSERT_EQ(run.sent.size(), 1u);
    ASSERT_EQ(run.out.bundles.size(), 2u);
    EXPECT_EQ(run.out.bundles[0], json::parse(R"({"id":"19a3c0ffee000002","threadId":"19a3c0ffee000002"})"));
    EXPECT_EQ(run.out.bundles[1], json::parse(R"({"id":"19a3c0ffee000003","threadId":"19a3c0ffee000001"})"));
    ASSERT_TRUE(run.out.cursor);
    EXPECT_EQ(json::parse(*run.out.cursor), json::parse(R"({"type":"id","last":"19a3c0ffee000003"})"));
    // No new message: nothing, and the cursor stays.
    auto idle = RunModule("google-email:TriggerWatchEmails", Params("{}"), answer,
                          R"({"type":"id","last":"19a3c0ffee000004"})");
    EXPECT_TRUE(idle.out.bundles.empty());
    ASSERT_TRUE(idle.out.cursor);
    EXPECT_EQ(json::parse(*idle.out.cursor).at("last"), "19a3c0ffee000004");
    // An empty mailbox answers without "messages".
    auto empty = RunModule("google-email:TriggerWatchEmails", Params("{}"), JsonAnswer(R"({"resultSizeEstimate":0})"));
    EXPECT_TRUE(empty.out.bundles.empty());
}

TEST(Gmail, SendEmailPostsTheBase64UrlOfAnRfc2822Message) {
    const std::string subject = "Faktura č. 42 – září";
    const std::string text = "Dobrý den,\nv příloze je faktura.\n" + std::string(200, 'x');
    auto params = json::object{{"to", json::array{"Ana Novák <ana@example.com>", "bo@example.com"}},
                               {"cc", "cc@example.com"},
                               {"subject", subject},
                               {"text", text}};
    auto req = RenderModule("google-email:ActionSendEmail", params);
    ASSERT_TRUE(req) << req.error().detail;
    // POST https://gmail.googleapis.com/gmail/v1/users/me/messages/send with {"raw": base64url(RFC 2822)}.
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(FullUrl(*req), "https://gmail.googleapis.com/gmail/v1/users/me/messages/send");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    const auto body = JsonBodyOf(*req);
    ASSERT_TRUE(body.is_object());
    ASSERT_EQ(body.as_object().size(), 1u) << body;
    const std::string raw(body.at("raw").as_string());
    EXPECT_EQ(raw.find_first_of("+/="), std::string::npos) << "base64url without padding";
    const std::string message = Base64UrlDecode(raw);
    ExpectCrlfOnly(message);
    const Mime m = ParseMime(message);
    EXPECT_EQ(HeaderLine(m, "To"), "Ana Novák <ana@example.com>, bo@example.com");
    EXPECT_EQ(HeaderLine(m, "Cc"), "cc@example.com");
    EXPECT_EQ(HeaderLine(m, "Bcc"), "<absent>");
    EXPECT_EQ(HeaderLine(m, "From"), "<absent>") << "Gmail fills in the account's address";
    // RFC 2047 encoded word: =?charset?B?base64?=
    EXPECT_EQ(HeaderLine(m, "Subject"), "=?UTF-8?B?" + Base64(subject) + "?=");
    EXPECT_EQ(HeaderLine(m, "MIME-Version"), "1.0");
    EXPECT_EQ(HeaderLine(m, "Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(HeaderLine(m, "Content-Transfer-Encoding"), "base64");
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 77u) << "base64 lines of 76";
    auto decoded = core::Base64Decode(m.body);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, text);

    // The answer is the sent message resource.
    auto run = RunModule("google-email:ActionSendEmail", params,
                         JsonAnswer(R"({"id":"19a3c0ffee0000aa","threadId":"19a3c0ffee0000aa","labelIds":["SENT"]})"));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("id"), "19a3c0ffee0000aa");
    ASSERT_EQ(run.sent.size(), 1u);
    EXPECT_EQ(JsonBodyOf(run.sent[0]), body) << "the engine sends what Render gives";
}

TEST(Gmail, SendEmailAsciiSubjectIsVerbatimHtmlAndTextMakeAnAlternative) {
    auto req = RenderModule("google-email:ActionSendEmail", Params(R"({
        "to": "ana@example.com", "bcc": ["audit@example.com"], "replyTo": "desk@example.com",
        "subject": "Weekly report", "text": "Plain version", "html": "<p>HTML <b>version</b></p>"})"));
    ASSERT_TRUE(req) << req.error().detail;
    const std::string message = Base64UrlDecode(JsonBodyOf(*req).at("raw").as_string());
    ExpectCrlfOnly(message);
    const Mime m = ParseMime(message);
    EXPECT_EQ(HeaderLine(m, "To"), "ana@example.com");
    EXPECT_EQ(HeaderLine(m, "Bcc"), "audit@example.com") << "Gmail removes Bcc before delivery";
    EXPECT_EQ(HeaderLine(m, "Reply-To"), "desk@example.com");
    EXPECT_EQ(HeaderLine(m, "Subject"), "Weekly report");
    const std::string ct = HeaderLine(m, "Content-Type");
    const std::string prefix = "multipart/alternative; boundary=\"";
    ASSERT_EQ(ct.rfind(prefix, 0), 0u) << ct;
    const std::string boundary = ct.substr(prefix.size(), ct.size() - prefix.size() - 1);
    ASSERT_FALSE(boundary.empty());
    // --b, part, --b, part, --b--
    const std::string delimiter = "--" + boundary + "\r\n";
    const auto first = m.body.find(delimiter);
    const auto second = m.body.find(delimiter, first + 1);
    const auto close = m.body.find("--" + boundary + "--\r\n");
    ASSERT_NE(first, std::string::npos);
    ASSERT_NE(second, std::string::npos);
    ASSERT_NE(close, std::string::npos);
    const Mime plain = ParseMime(m.body.substr(first + delimiter.size(), second - first - delimiter.size()));
    const Mime html = ParseMime(m.body.substr(second + delimiter.size(), close - second - delimiter.size()));
    EXPECT_EQ(HeaderLine(plain, "Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(HeaderLine(html, "Content-Type"), "text/html; charset=UTF-8");
    EXPECT_EQ(core::Base64Decode(plain.body).value_or("?"), "Plain version");
    EXPECT_EQ(core::Base64Decode(html.body).value_or("?"), "<p>HTML <b>version</b></p>");

    // Only HTML: one text/html part.
    auto only_html =
        RenderModule("google-email:ActionSendEmail", Params(R"({"to": "a@example.com", "html": "<i>x</i>"})"));
    ASSERT_TRUE(only_html);
    const Mime h = ParseMime(Base64UrlDecode(JsonBodyOf(*only_html).at("raw").as_string()));
    EXPECT_EQ(HeaderLine(h, "Content-Type"), "text/html; charset=UTF-8");
    EXPECT_EQ(core::Base64Decode(h.body).value_or("?"), "<i>x</i>");
}

TEST(Gmail, SendEmailCarriesA64KiBBody) {
    // The MIME text is built by one template render, which has a work budget (docs/templates.md, Limits): the
    // base64 line wrapping is the expensive part. 64 KiB of text must fit (docs/apps/google-email.md).
    std::string text;
    while (text.size() < 64 * 1024) text += "Řádek " + std::to_string(text.size()) + " ";
    auto req = RenderModule("google-email:ActionSendEmail", json::object{{"to", "a@example.com"}, {"text", text}});
    ASSERT_TRUE(req) << req.error().detail;
    const Mime m = ParseMime(Base64UrlDecode(JsonBodyOf(*req).at("raw").as_string()));
    EXPECT_EQ(core::Base64Decode(m.body).value_or("?"), text);
}

TEST(Gmail, SendEmailLineBreaksInAddressesCannotAddHeaders) {
    auto req = RenderModule("google-email:ActionSendEmail", Params(R"({
        "to": "ana@example.com\r\nBcc: thief@example.com", "replyTo": "x@example.com\nX-Evil: 1",
        "subject": "Hi\r\nBcc: thief@example.com", "text": "t"})"));
    ASSERT_TRUE(req) << req.error().detail;
    const std::string message = Base64UrlDecode(JsonBodyOf(*req).at("raw").as_string());
    const Mime m = ParseMime(message);
    for (const auto& line : m.headers) {
        EXPECT_NE(line.rfind("Bcc:", 0), 0u) << line;
        EXPECT_NE(line.rfind("X-Evil:", 0), 0u) << line;
    }
    EXPECT_EQ(HeaderLine(m, "To"), "ana@example.com Bcc: thief@example.com");
    // A subject with control characters is encoded, so its line break stays inside the encoded word.
    EXPECT_EQ(HeaderLine(m, "Subject"), "=?UTF-8?B?" + Base64("Hi\r\nBcc: thief@example.com") + "?=");
}

TEST(Gmail, GetEmailReadsHeadersBodiesAndAttachments) {
    auto req = RenderModule("google-email:ActionGetEmail", Params(R"({"messageId": "19a3c0ffee000002"})"));
    ASSERT_TRUE(req) << req.error().detail;
    EXPECT_EQ(req->method, "GET");
    EXPECT_EQ(FullUrl(*req), "https://gmail.googleapis.com/gmail/v1/users/me/messages/19a3c0ffee000002?format=full");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);

    // A Message resource (format=full): multipart/mixed holding multipart/alternative and a PDF attachment;
    // body.data is base64url.
    const auto b64url = [](std::string_view s) { return core::Base64UrlEncode(s); };
    const std::string answer = R"({"id":"19a3c0ffee000002","threadId":"19a3c0ffee000002","labelIds":["INBOX","UNREAD"],
        "snippet":"Dobrý den, v příloze","historyId":"4455700","internalDate":"1767258000000","sizeEstimate":48211,
        "payload":{"mimeType":"multipart/mixed","filename":"","headers":[
            {"name":"From","value":"\"Novák, Ana\" <ana@example.com>"},{"name":"To","value":"desk@example.com"},
            {"name":"Subject","value":"Faktura č. 42"},{"name":"Date","value":"Thu, 1 Jan 2026 09:00:00 +0000"},
            {"name":"Message-ID","value":"<abc@mail.example.com>"}],
          "body":{"size":0},
          "parts":[
            {"partId":"0","mimeType":"multipart/alternative","filename":"","body":{"size":0},"parts":[
              {"partId":"0.0","mimeType":"text/plain","filename":"","body":{"size":20,"data":")" +
                               b64url("Dobrý den,\r\nfaktura.") + R"("}},
              {"partId":"0.1","mimeType":"text/html","filename":"","body":{"size":30,"data":")" +
                               b64url("<p>Dobrý den,</p>") + R"("}}]},
            {"partId":"1","mimeType":"application/pdf","filename":"faktura-42.pdf",
             "body":{"attachmentId":"ANGjdJ8","size":45000}}]}})";
    auto run =
        RunModule("google-email:ActionGetEmail", Params(R"({"messageId": "19a3c0ffee000002"})"), JsonAnswer(answer));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    const auto& out = run.out.bundles[0].as_object();
    EXPECT_EQ(out.at("id"), "19a3c0ffee000002");
    EXPECT_EQ(out.at("from"), "\"Novák, Ana\" <ana@example.com>");
    EXPECT_EQ(out.at("fromName"), "Novák, Ana");
    EXPECT_EQ(out.at("fromAddress"), "ana@example.com");
    EXPECT_EQ(out.at("to"), "desk@example.com");
    EXPECT_EQ(out.at("subject"), "Faktura č. 42");
    EXPECT_EQ(out.at("date"), "Thu, 1 Jan 2026 09:00:00 +0000");
    EXPECT_EQ(out.at("messageIdHeader"), "<abc@mail.example.com>");
    EXPECT_EQ(out.at("internalDate"), "2026-01-01T09:00:00.000Z");
    EXPECT_EQ(out.at("text"), "Dobrý den,\r\nfaktura.");
    EXPECT_EQ(out.at("html"), "<p>Dobrý den,</p>");
    EXPECT_EQ(out.at("attachmentNames"), json::parse(R"(["faktura-42.pdf"])"));
    EXPECT_EQ(out.at("labelIds"), json::parse(R"(["INBOX","UNREAD"])"));
    EXPECT_TRUE(out.at("cc").is_null());

    // A plain one-part message, sender without a display name.
    const std::string simple = R"({"id":"1","threadId":"1","internalDate":"0","payload":{"mimeType":"text/plain",
        "headers":[{"name":"From","value":"bo@example.com"},{"name":"Subject","value":"Hi"}],
        "body":{"size":2,"data":")" +
                               b64url("Hi") + R"("}}})";
    auto one = RunModule("google-email:ActionGetEmail", Params(R"({"messageId": "1", "format": "metadata"})"),
                         JsonAnswer(simple));
    ASSERT_EQ(one.sent.size(), 1u);
    EXPECT_EQ(FullUrl(one.sent[0]), "https://gmail.googleapis.com/gmail/v1/users/me/messages/1?format=metadata");
    ASSERT_EQ(one.out.bundles.size(), 1u);
    EXPECT_EQ(one.out.bundles[0].at("fromAddress"), "bo@example.com");
    EXPECT_EQ(one.out.bundles[0].at("fromName"), "");
    EXPECT_EQ(one.out.bundles[0].at("text"), "Hi");
    EXPECT_EQ(one.out.bundles[0].at("attachmentNames"), json::array());
}

TEST(Gmail, MakeAnApiCallIsUnderTheGmailHostWithTheToken) {
    auto run = RunApiCall("google-email", Params(R"({"url": "/gmail/v1/users/me/labels", "method": "get"})"),
                          JsonAnswer(R"({"labels":[{"id":"INBOX","name":"INBOX","type":"system"}]})"));
    ASSERT_EQ(run.sent.size(), 1u);
    EXPECT_EQ(run.sent[0].method, "GET");
    EXPECT_EQ(FullUrl(run.sent[0]), "https://gmail.googleapis.com/gmail/v1/users/me/labels");
    EXPECT_EQ(Header(run.sent[0], "authorization"), kBearer);
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("body").at("labels").as_array().size(), 1u);
}

// ---------------------------------------------------------------------------------------------------------------
// Google Sheets (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values).

constexpr std::string_view kSheet = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

TEST(GoogleSheets, AddRowAppendsValuesToTheSheetsTable) {
    auto params = json::object{{"spreadsheetId", kSheet},
                               {"sheetName", "Sheet1"},
                               {"values", json::array{"ana@example.com", "Faktura č. 42", 3}}};
    auto req = RenderModule("google-sheets:addRow", params);
    ASSERT_TRUE(req) << req.error().detail;
    // POST /v4/spreadsheets/{id}/values/{range}:append?valueInputOption=…&insertDataOption=… with a ValueRange.
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(FullUrl(*req), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                 "/values/'Sheet1'!A%3AZ:append?valueInputOption=USER_ENTERED"
                                 "&insertDataOption=INSERT_ROWS");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(*req),
              json::parse(R"({"majorDimension":"ROWS","values":[["ana@example.com","Faktura č. 42",3]]})"));

    // Sheet names are quoted in A1 notation, with ' doubled; options are passed through.
    params["sheetName"] = "Q1 'draft'";
    params["columns"] = "B:F";
    params["valueInputOption"] = "RAW";
    params["insertDataOption"] = "OVERWRITE";
    params["values"] = "only one";
    auto quoted = RenderModule("google-sheets:addRow", params);
    ASSERT_TRUE(quoted) << quoted.error().detail;
    EXPECT_EQ(FullUrl(*quoted), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                    "/values/'Q1%20''draft'''!B%3AF:append?valueInputOption=RAW"
                                    "&insertDataOption=OVERWRITE");
    EXPECT_EQ(JsonBodyOf(*quoted).at("values"), json::parse(R"([["only one"]])"));

    // AppendValuesResponse: the row number comes from updates.updatedRange.
    auto run = RunModule("google-sheets:addRow", params, JsonAnswer(R"({"spreadsheetId":"1Bxi",
        "tableRange":"'Q1 ''draft'''!B1:C41","updates":{"spreadsheetId":"1Bxi",
        "updatedRange":"'Q1 ''draft'''!B42:C42","updatedRows":1,"updatedColumns":2,"updatedCells":2}})"));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("rowNumber"), 42);
    EXPECT_EQ(run.out.bundles[0].at("updatedCells"), 2);
}

TEST(GoogleSheets, SearchRowsGetsARangeAndGivesOneBundlePerRow) {
    auto req =
        RenderModule("google-sheets:filterRows", json::object{{"spreadsheetId", kSheet}, {"sheetName", "Leads"}});
    ASSERT_TRUE(req) << req.error().detail;
    // GET /v4/spreadsheets/{id}/values/{range}?majorDimension=ROWS&valueRenderOption=…&dateTimeRenderOption=…
    EXPECT_EQ(req->method, "GET");
    EXPECT_EQ(FullUrl(*req), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                 "/values/'Leads'!A2%3AZ?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE"
                                 "&dateTimeRenderOption=FORMATTED_STRING");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_TRUE(std::holds_alternative<http_client::NoBody>(req->body));

    auto bounded = RenderModule("google-sheets:filterRows", json::object{{"spreadsheetId", kSheet},
                                                                         {"sheetName", "Leads"},
                                                                         {"firstRow", 1},
                                                                         {"lastRow", 500},
                                                                         {"columns", "C:H"},
                                                                         {"valueRenderOption", "UNFORMATTED_VALUE"}});
    ASSERT_TRUE(bounded) << bounded.error().detail;
    EXPECT_EQ(FullUrl(*bounded), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                     "/values/'Leads'!C1%3AH500?majorDimension=ROWS"
                                     "&valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=FORMATTED_STRING");

    auto run = RunModule("google-sheets:filterRows", json::object{{"spreadsheetId", kSheet}, {"sheetName", "Leads"}},
                         JsonAnswer(R"({"range":"Leads!A2:Z1000","majorDimension":"ROWS",
                                        "values":[["ana@example.com","Invoice"],["bo@example.com"]]})"));
    ASSERT_EQ(run.out.bundles.size(), 2u);
    EXPECT_EQ(run.out.bundles[0], json::parse(R"({"values":["ana@example.com","Invoice"],"spreadsheetId":")" +
                                              std::string(kSheet) + R"(","sheetName":"Leads"})"));
    EXPECT_EQ(run.out.bundles[1].at("values"), json::parse(R"(["bo@example.com"])"));
    // An empty range answers without "values": no bundle.
    auto empty = RunModule("google-sheets:filterRows", json::object{{"spreadsheetId", kSheet}},
                           JsonAnswer(R"({"range":"Sheet1!A2:Z1000","majorDimension":"ROWS"})"));
    EXPECT_TRUE(empty.out.bundles.empty());
}

TEST(GoogleSheets, UpdateRowPutsTheValuesIntoThatRow) {
    auto params = json::object{{"spreadsheetId", kSheet},
                               {"sheetName", "Sheet1"},
                               {"rowNumber", "7"},
                               {"values", json::array{"done", nullptr, ""}},
                               {"valueInputOption", "RAW"}};
    auto req = RenderModule("google-sheets:updateRow", params);
    ASSERT_TRUE(req) << req.error().detail;
    // PUT /v4/spreadsheets/{id}/values/{range}?valueInputOption=… with a ValueRange whose range is the same.
    EXPECT_EQ(req->method, "PUT");
    EXPECT_EQ(FullUrl(*req), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                 "/values/'Sheet1'!A7%3AZ7?valueInputOption=RAW");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(*req),
              json::parse(R"({"range":"'Sheet1'!A7:Z7","majorDimension":"ROWS","values":[["done",null,""]]})"));
    // A row number that is not a number is a mapping error, not a request to a wrong range.
    params["rowNumber"] = "seven";
    EXPECT_FALSE(RenderModule("google-sheets:updateRow", params));

    params["rowNumber"] = 7;
    auto run = RunModule("google-sheets:updateRow", params, JsonAnswer(R"({"spreadsheetId":"1Bxi",
        "updatedRange":"Sheet1!A7:C7","updatedRows":1,"updatedColumns":3,"updatedCells":3})"));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("updatedRange"), "Sheet1!A7:C7");
}

TEST(GoogleSheets, WatchNewRowsKeysRowsByTheKeyColumn) {
    auto params = json::object{{"spreadsheetId", kSheet}, {"sheetName", "Orders"}, {"keyColumn", 2}, {"limit", 2}};
    auto req = RenderModule("google-sheets:watchRows", params);
    ASSERT_TRUE(req) << req.error().detail;
    EXPECT_EQ(req->method, "GET");
    EXPECT_EQ(FullUrl(*req), "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) +
                                 "/values/'Orders'!A2%3AZ?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE"
                                 "&dateTimeRenderOption=FORMATTED_STRING");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    // Column B numbers the rows (=ROW()); a row with an empty key is skipped, numbers compare by value.
    const auto answer = JsonAnswer(R"({"range":"Orders!A2:Z1000","majorDimension":"ROWS","values":[
        ["ana","2"],["bo","3"],["cy",""],["dee","10"],["eva","9"]]})");
    auto run = RunModule("google-sheets:watchRows", params, answer, R"({"type":"id","last":"3"})");
    ASSERT_EQ(run.out.bundles.size(), 2u);
    EXPECT_EQ(run.out.bundles[0].at("values"), json::parse(R"(["eva","9"])"));
    EXPECT_EQ(run.out.bundles[0].at("key"), "9");
    EXPECT_EQ(run.out.bundles[1].at("values"), json::parse(R"(["dee","10"])"));
    ASSERT_TRUE(run.out.cursor);
    EXPECT_EQ(json::parse(*run.out.cursor), json::parse(R"({"type":"id","last":"10"})"));
}

TEST(GoogleSheets, MakeAnApiCallIsUnderTheSheetsHostWithTheToken) {
    auto run = RunApiCall("google-sheets",
                          json::object{{"url", "/v4/spreadsheets/" + std::string(kSheet) + ":batchUpdate"},
                                       {"method", "POST"},
                                       {"body", json::parse(R"({"requests":[]})")}},
                          JsonAnswer(R"({"spreadsheetId":"1Bxi","replies":[]})"));
    ASSERT_EQ(run.sent.size(), 1u);
    EXPECT_EQ(run.sent[0].method, "POST");
    EXPECT_EQ(FullUrl(run.sent[0]),
              "https://sheets.googleapis.com/v4/spreadsheets/" + std::string(kSheet) + ":batchUpdate");
    EXPECT_EQ(Header(run.sent[0], "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(run.sent[0]), json::parse(R"({"requests":[]})"));
}

// ---------------------------------------------------------------------------------------------------------------
// Dropbox (https://www.dropbox.com/developers/documentation/http/documentation).

TEST(Dropbox, CreateFolderIsAnRpcCallWithAJsonBody) {
    auto req = RenderModule("dropbox:createFolder", Params(R"({"path": "/Reports/2026", "autorename": "true"})"));
    ASSERT_TRUE(req) << req.error().detail;
    // POST https://api.dropboxapi.com/2/files/create_folder_v2, Content-Type: application/json.
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(FullUrl(*req), "https://api.dropboxapi.com/2/files/create_folder_v2");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(*req), json::parse(R"({"path":"/Reports/2026","autorename":true})"));
    auto run = RunModule("dropbox:createFolder", Params(R"({"path": "/Reports/2026"})"),
                         JsonAnswer(R"({"metadata":{"name":"2026","path_lower":"/reports/2026",
                                        "path_display":"/Reports/2026","id":"id:a4ayc_80_OEAAAAAAAAAXz"}})"));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("id"), "id:a4ayc_80_OEAAAAAAAAAXz");
    EXPECT_EQ(JsonBodyOf(run.sent.at(0)), json::parse(R"({"path":"/Reports/2026","autorename":false})"));
}

TEST(Dropbox, UploadSendsTheBytesWithTheArgumentsAsJsonInDropboxApiArg) {
    const std::string bytes = std::string("id,name\r\n1,Ana\r\n") + std::string("\x00\xff\xfe", 3);
    auto params = json::object{{"folder", "/Reports/2026/"},
                               {"fileName", "export \"Q1\".csv"},
                               {"data", bytes},
                               {"mode", "overwrite"},
                               {"mute", true}};
    auto req = RenderModule("dropbox:uploadFile", params);
    ASSERT_TRUE(req) << req.error().detail;
    // POST https://content.dropboxapi.com/2/files/upload, Dropbox-API-Arg: <JSON>, Content-Type:
    // application/octet-stream, the file's bytes as the body.
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(FullUrl(*req), "https://content.dropboxapi.com/2/files/upload");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_EQ(Header(*req, "content-type"), "application/octet-stream");
    EXPECT_EQ(json::parse(Header(*req, "dropbox-api-arg")),
              json::parse(R"({"path":"/Reports/2026/export \"Q1\".csv","mode":"overwrite","autorename":false,
                              "mute":true,"strict_conflict":false})"));
    const auto* raw = std::get_if<http_client::RawBody>(&req->body);
    ASSERT_NE(raw, nullptr);
    EXPECT_EQ(raw->data, bytes);
    EXPECT_EQ(raw->content_type, "application/octet-stream");

    // A header must be ASCII (Dropbox: "HTTP header safe" JSON), and the template language cannot write \uXXXX
    // escapes: a path that is not ASCII goes in the `arg` query parameter, which Dropbox accepts instead.
    auto czech = RenderModule("dropbox:uploadFile", Params(R"({"folder": "", "fileName": "Přehled.txt",
                                                               "data": "ahoj", "autorename": true})"));
    ASSERT_TRUE(czech) << czech.error().detail;
    EXPECT_TRUE(HeaderValues(*czech, "dropbox-api-arg").empty());
    const auto q = QueryOf(FullUrl(*czech));
    EXPECT_EQ(json::parse(One(q, "arg")), json::parse(R"({"path":"/Přehled.txt","mode":"add","autorename":true,
                                                          "mute":false,"strict_conflict":false})"));
    EXPECT_EQ(std::get<http_client::RawBody>(czech->body).data, "ahoj");

    auto run = RunModule("dropbox:uploadFile", params, JsonAnswer(R"({"name":"export \"Q1\".csv",
        "id":"id:a4ayc_80_OEAAAAAAAAAXw","path_display":"/Reports/2026/export \"Q1\".csv","size":19,
        "rev":"a1c10ce0dd78","content_hash":"e3b0c442","server_modified":"2026-01-01T00:00:00Z"})"));
    ASSERT_EQ(run.out.bundles.size(), 1u);
    EXPECT_EQ(run.out.bundles[0].at("size"), 19);
}

TEST(Dropbox, UploadOfA20MiBFileKeepsEveryByte) {
    // A mapped value passed through as it is does not count against the template's output budget.
    std::string bytes(20 << 20, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
    auto req = RenderModule("dropbox:uploadFile",
                            json::object{{"folder", "/Backups"}, {"fileName", "disk.img"}, {"data", bytes}});
    ASSERT_TRUE(req) << req.error().detail;
    const auto* raw = std::get_if<http_client::RawBody>(&req->body);
    ASSERT_NE(raw, nullptr);
    EXPECT_TRUE(raw->data == bytes) << "sizes " << raw->data.size() << " and " << bytes.size();
}

TEST(Dropbox, ListFolderPostsThePathAndIteratesEntries) {
    auto req = RenderModule("dropbox:listFolder", Params(R"({"path": "/Reports", "recursive": "false", "limit": 50})"));
    ASSERT_TRUE(req) << req.error().detail;
    EXPECT_EQ(req->method, "POST");
    EXPECT_EQ(FullUrl(*req), "https://api.dropboxapi.com/2/files/list_folder");
    EXPECT_EQ(Header(*req, "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(*req), json::parse(R"({"path":"/Reports","recursive":false,"limit":50})"));
    // The root folder is the empty path.
    auto root = RenderModule("dropbox:listFolder", Params("{}"));
    ASSERT_TRUE(root);
    EXPECT_EQ(JsonBodyOf(*root), json::parse(R"({"path":"","recursive":false,"limit":100})"));

    auto run = RunModule("dropbox:listFolder", Params(R"({"path": "/Reports"})"), JsonAnswer(R"({"entries":[
        {".tag":"folder","name":"2026","path_display":"/Reports/2026","id":"id:1"},
        {".tag":"file","name":"a.csv","path_display":"/Reports/a.csv","id":"id:2","size":12}],
        "cursor":"ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu","has_more":false})"));
    ASSERT_EQ(run.out.bundles.size(), 2u);
    EXPECT_EQ(run.out.bundles[0].at(".tag"), "folder");
    EXPECT_EQ(run.out.bundles[1].at("size"), 12);
}

TEST(Dropbox, MakeAnApiCallIsAnRpcCallUnderApiDropboxapiCom) {
    auto run = RunApiCall(
        "dropbox",
        json::object{
            {"url", "/files/get_metadata"}, {"method", "POST"}, {"body", json::parse(R"({"path":"/Reports"})")}},
        JsonAnswer(R"({".tag":"folder","name":"Reports","id":"id:3"})"));
    ASSERT_EQ(run.sent.size(), 1u);
    EXPECT_EQ(run.sent[0].method, "POST");
    EXPECT_EQ(FullUrl(run.sent[0]), "https://api.dropboxapi.com/2/files/get_metadata");
    EXPECT_EQ(Header(run.sent[0], "authorization"), kBearer);
    EXPECT_EQ(JsonBodyOf(run.sent[0]), json::parse(R"({"path":"/Reports"})"));
}

// ---------------------------------------------------------------------------------------------------------------
// The example blueprint: Watch emails → Get an email → Add a row.

TEST(CloudAppsExample, GmailToGoogleSheetsBlueprintParsesAndUsesTheseModules) {
    std::ifstream in(kExamples / "gmail-to-google-sheets.json");
    ASSERT_TRUE(in) << "examples/gmail-to-google-sheets.json";
    std::stringstream text;
    text << in.rdbuf();
    json::error_code ec;
    const json::value doc = json::parse(text.str(), ec);
    ASSERT_FALSE(ec) << ec.message();
    auto bp = engine::ParseBlueprint(doc);
    ASSERT_TRUE(bp) << bp.error().detail;
    ASSERT_EQ(bp->flow.size(), 3u);
    EXPECT_EQ(bp->flow[0].module, "google-email:TriggerWatchEmails");
    EXPECT_EQ(bp->flow[1].module, "google-email:ActionGetEmail");
    EXPECT_EQ(bp->flow[2].module, "google-sheets:addRow");
    EXPECT_TRUE(
        engine::UnknownModules(*bp, [](const std::string& m) { return Catalog().FindModule(m) != nullptr; }).empty());
    // Each module names a connection (placeholders the docs tell the user to replace).
    for (const auto& m : bp->flow) {
        auto ref = engine::ConnectionOf(m);
        ASSERT_TRUE(ref) << m.module;
        EXPECT_TRUE(ref->has_value()) << m.module;
    }
    EXPECT_EQ(bp->flow[1].mapper.at("messageId"), "{{1.id}}");
    // The row is the sender and subject the previous module read.
    const auto& values = bp->flow[2].mapper.at("values").as_array();
    const std::string row = json::serialize(values);
    EXPECT_NE(row.find("{{2.fromAddress}}"), std::string::npos) << row;
    EXPECT_NE(row.find("{{2.subject}}"), std::string::npos) << row;
}

}  // namespace
}  // namespace switchboard

// Browser sign-in through the real binary: the first-start link, sessions with HttpOnly/SameSite cookies and a
// CSRF token, sign-out, `switchboard user password` from standard input, the failed-attempt limit, no session
// token or password at rest or in logs, and the web UI's files.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kNewPassword = "another long passphrase 42";

std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Session {
    std::string cookie;  // "sb_session=…"
    std::string csrf;
};

class SessionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(dir.file("web/assets"));
        std::ofstream(dir.file("web/index.html")) << "<!doctype html><title>Switchboard</title><div id=app></div>";
        std::ofstream(dir.file("web/assets/app-1234.js")) << "console.log('ui')";
        std::ofstream(dir.file("secret.txt")) << "not for the web";
        server = StartServer({"--data-dir", dir.file("data")},
                             {{"SWITCHBOARD_MASTER_KEY", ""}, {"SWITCHBOARD_WEB_DIR", dir.file("web")}},
                             dir.path().string());
        std::smatch m;
        const std::string out = server.process->Stdout();
        static const std::regex link_re(R"(/setup\?token=([A-Za-z0-9_\-]+))");
        if (std::regex_search(out, m, link_re)) link = m[1];
    }

    HttpReply Post(const std::string& target, const std::string& body, const Session* s = nullptr,
                   bool with_csrf = true) {
        std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
        if (s) {
            headers["Cookie"] = s->cookie;
            if (with_csrf) headers["X-CSRF-Token"] = s->csrf;
        }
        return HttpRequest(server.port, "POST", target, body, headers);
    }
    HttpReply Get(const std::string& target, const Session* s = nullptr) {
        std::map<std::string, std::string> headers;
        if (s) headers["Cookie"] = s->cookie;
        return HttpRequest(server.port, "GET", target, "", headers);
    }
    static Session SessionOf(const HttpReply& r) {
        Session s;
        const std::string set = r.headers.count("set-cookie") ? r.headers.at("set-cookie") : "";
        s.cookie = set.substr(0, set.find(';'));
        s.csrf = std::string(json::parse(r.body).at("csrfToken").as_string());
        return s;
    }

    TempDir dir;
    ServerProcess server;
    std::string link;
};

TEST_F(SessionTest, FirstStartLinkSessionsCsrfAndSignOut) {
    ASSERT_FALSE(link.empty()) << server.process->Stdout();
    // Too short: refused, and the link stays usable.
    auto weak = Post("/api/v2/auth/setup", R"({"token":")" + link + R"(","password":"short"})");
    EXPECT_EQ(weak.status, 400) << weak.body;
    auto setup = Post("/api/v2/auth/setup", R"({"token":")" + link + R"(","password":")" + kPassword + R"("})");
    ASSERT_EQ(setup.status, 200) << setup.body;
    const std::string set_cookie = setup.headers["set-cookie"];
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
    EXPECT_NE(set_cookie.find("SameSite=Lax"), std::string::npos) << set_cookie;
    EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain http must not set Secure";
    const json::value body = json::parse(setup.body);
    EXPECT_EQ(body.at("user").at("email").as_string(), "admin@switchboard.local");
    EXPECT_EQ(body.at("teams").at(0).at("role").as_string(), "admin");
    const Session s = SessionOf(setup);
    ASSERT_FALSE(s.csrf.empty());
    // The link works once.
    EXPECT_EQ(Post("/api/v2/auth/setup", R"({"token":")" + link + R"(","password":")" + kPassword + R"("})").status,
              404);

    // Reads with the cookie; writes need the CSRF token too.
    EXPECT_EQ(Get("/api/v2/auth/session", &s).status, 200);
    EXPECT_EQ(Get("/api/v2/teams", &s).status, 200);
    auto no_csrf = Post("/api/v2/teams", R"({"name":"Second"})", &s, false);
    EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
    Session forged = s;
    forged.csrf = "not-the-token";
    EXPECT_EQ(Post("/api/v2/teams", R"({"name":"Second"})", &forged).status, 403);
    EXPECT_EQ(Post("/api/v2/teams", R"({"name":"Second"})", &s).status, 201);
    EXPECT_EQ(Get("/api/v2/teams").status, 401);

    // Sign-out ends the session.
    auto out = Post("/api/v2/auth/logout", "", &s);
    EXPECT_EQ(out.status, 204) << out.body;
    EXPECT_EQ(Get("/api/v2/auth/session", &s).status, 401);
    EXPECT_EQ(Get("/api/v2/teams", &s).status, 401);

    // Sign-in: a wrong password and an unknown email read the same.
    auto wrong = Post("/api/v2/auth/login", R"({"email":"admin@switchboard.local","password":"wrong password!!"})");
    auto unknown = Post("/api/v2/auth/login", R"({"email":"nobody@switchboard.local","password":"wrong password!!"})");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(json::parse(wrong.body).at("detail"), json::parse(unknown.body).at("detail"));
    auto login = Post("/api/v2/auth/login",
                      std::string(R"({"email":"Admin@Switchboard.local","password":")") + kPassword + R"("})");
    ASSERT_EQ(login.status, 200) << login.body;
    const Session s2 = SessionOf(login);
    EXPECT_NE(s2.csrf, s.csrf);

    // A new password from the CLI (standard input) signs every session out.
    auto set = RunCommand(
        {SwitchboardBinary(), "user", "password", "--data-dir", dir.file("data"), "--email", "admin@switchboard.local"},
        {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s, std::string(kNewPassword) + "\n");
    EXPECT_EQ(set.exit_code, 0) << set.err;
    EXPECT_EQ(Get("/api/v2/auth/session", &s2).status, 401);
    EXPECT_EQ(Post("/api/v2/auth/login",
                   std::string(R"({"email":"admin@switchboard.local","password":")") + kPassword + R"("})")
                  .status,
              401);
    auto again = Post("/api/v2/auth/login",
                      std::string(R"({"email":"admin@switchboard.local","password":")") + kNewPassword + R"("})");
    ASSERT_EQ(again.status, 200) << again.body;
    // The CLI refuses a short password and an unknown user, with a message and a non-zero exit.
    auto short_pw = RunCommand(
        {SwitchboardBinary(), "user", "password", "--data-dir", dir.file("data"), "--email", "admin@switchboard.local"},
        {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s, "tiny\n");
    EXPECT_NE(short_pw.exit_code, 0);
    EXPECT_NE(short_pw.err.find("at least 10 characters"), std::string::npos) << short_pw.err;
    auto nobody = RunCommand(
        {SwitchboardBinary(), "user", "password", "--data-dir", dir.file("data"), "--email", "nobody@example.com"},
        {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s, std::string(kNewPassword) + "\n");
    EXPECT_NE(nobody.exit_code, 0);

    // Neither passwords nor session tokens are stored or logged in clear.
    const std::string cookie_value = SessionOf(again).cookie.substr(SessionOf(again).cookie.find('=') + 1);
    const std::string db = ReadFile(dir.file("data/switchboard.db")) + ReadFile(dir.file("data/switchboard.db-wal"));
    for (const std::string& secret : {std::string(kPassword), std::string(kNewPassword), cookie_value}) {
        EXPECT_EQ(db.find(secret), std::string::npos) << "found at rest: " << secret;
        EXPECT_EQ(server.process->Stdout().find(secret), std::string::npos);
        EXPECT_EQ(server.process->Stderr().find(secret), std::string::npos);
    }
}

TEST_F(SessionTest, RepeatedFailuresLockTheEmailForAWhile) {
    auto set = RunCommand(
        {SwitchboardBinary(), "user", "password", "--data-dir", dir.file("data"), "--email", "admin@switchboard.local"},
        {{"SWITCHBOARD_MASTER_KEY", ""}}, 30s, std::string(kPassword) + "\n");
    ASSERT_EQ(set.exit_code, 0) << set.err;
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(
            Post("/api/v2/auth/login", R"({"email":"admin@switchboard.local","password":"wrong password!!"})").status,
            401);
    }
    auto locked = Post("/api/v2/auth/login",
                       std::string(R"({"email":"admin@switchboard.local","password":")") + kPassword + R"("})");
    EXPECT_EQ(locked.status, 401);
    EXPECT_NE(locked.body.find("too many failed sign-ins"), std::string::npos) << locked.body;
}

TEST_F(SessionTest, TheWebUiIsServedWithoutLeakingOtherFiles) {
    auto index = Get("/");
    ASSERT_EQ(index.status, 200) << index.body;
    EXPECT_NE(index.body.find("<div id=app>"), std::string::npos);
    EXPECT_EQ(index.headers["x-frame-options"], "DENY");
    EXPECT_EQ(Get("/connections").body, index.body);
    EXPECT_EQ(Get("/scenarios/12").body, index.body);
    auto js = Get("/assets/app-1234.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
    EXPECT_NE(js.headers["cache-control"].find("immutable"), std::string::npos);
    EXPECT_EQ(Get("/assets/..%2F..%2Fsecret.txt").status, 404);
    EXPECT_EQ(Get("/assets/missing.js").status, 404);
    EXPECT_EQ(Get("/secret.txt").status, 404);
}

}  // namespace
}  // namespace switchboard::testing

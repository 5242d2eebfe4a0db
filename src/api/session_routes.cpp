// Browser sign-in: /api/v2/auth/login, /session, /logout, /setup (docs/api.md, "Sign-in"), and the web UI's
// static files (web/dist) at / with its page paths.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "api/api.hpp"
#include "api/handler_util.hpp"
#include "api/json_views.hpp"
#include "api/request_util.hpp"

namespace switchboard::api {

namespace json = boost::json;
using core::Result;
using http_server::Request;
using http_server::Response;

namespace {

std::string SessionCookie(std::string_view value, std::int64_t max_age_s, bool secure) {
    std::string c = std::string(accounts::kSessionCookie) + "=" + std::string(value) +
                    "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age_s);
    if (secure) c += "; Secure";
    return c;
}

Result<json::object> SessionBody(accounts::AccountService& acc, store::Store& store, const accounts::Caller& caller,
                                 const std::string& csrf) {
    auto me = acc.Me(caller);
    if (!me) return me.error();
    auto teams = acc.ListTeams(caller);
    if (!teams) return teams.error();
    json::array list;
    for (const auto& t : *teams) {
        auto m = store.GetMembership(t.id, caller.user);
        list.push_back(
            json::object{{"id", t.id.value()},
                         {"name", t.name},
                         {"role", m && *m ? json::value(store::RoleName((*m)->role)) : json::value(nullptr)}});
    }
    return json::object{{"user", UserJson(*me)}, {"teams", std::move(list)}, {"csrfToken", csrf}};
}

Result<Response> SignedInResponse(accounts::AccountService& acc, store::Store& store, const accounts::SignedIn& s,
                                  bool secure) {
    accounts::Caller caller{s.user.id, s.user.email, core::TokenId(0)};
    auto body = SessionBody(acc, store, caller, s.csrf_token);
    if (!body) return body.error();
    Response r = JsonResponse(200, *body);
    r.headers.emplace_back("set-cookie",
                           SessionCookie(s.session_token.Reveal(), accounts::kSessionIdleMs / 1000, secure));
    r.headers.emplace_back("cache-control", "no-store");
    return r;
}

std::string_view CookieOf(const Request& req) {
    const std::string_view header = req.Header("cookie").value_or("");
    const std::string prefix = std::string(accounts::kSessionCookie) + "=";
    std::string_view rest = header;
    while (!rest.empty()) {
        const auto semi = rest.find(';');
        std::string_view part = rest.substr(0, semi);
        rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.starts_with(prefix)) return part.substr(prefix.size());
    }
    return {};
}

std::string ContentType(const std::string& name) {
    static const std::vector<std::pair<std::string, std::string>> kTypes{{".html", "text/html; charset=utf-8"},
                                                                         {".js", "text/javascript; charset=utf-8"},
                                                                         {".css", "text/css; charset=utf-8"},
                                                                         {".svg", "image/svg+xml"},
                                                                         {".png", "image/png"},
                                                                         {".ico", "image/x-icon"},
                                                                         {".json", "application/json"},
                                                                         {".woff2", "font/woff2"},
                                                                         {".map", "application/json"},
                                                                         {".txt", "text/plain; charset=utf-8"}};
    for (const auto& [ext, type] : kTypes) {
        if (name.size() >= ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) return type;
    }
    return "application/octet-stream";
}

Response FileResponse(const std::filesystem::path& path, bool immutable) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return ErrorResponse(core::NotFound("no such file"));
    std::stringstream ss;
    ss << in.rdbuf();
    Response r;
    r.status = 200;
    r.content_type = ContentType(path.filename().string());
    r.body = ss.str();
    r.headers.emplace_back("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    r.headers.emplace_back("x-content-type-options", "nosniff");
    if (!immutable) {
        r.headers.emplace_back("content-security-policy",
                               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'");
        r.headers.emplace_back("x-frame-options", "DENY");
    }
    return r;
}

}  // namespace

void AddSessionRoutes(http_server::Router& router, ApiDeps deps) {
    auto& acc = deps.accounts;
    auto& store = deps.store;
    const bool secure = deps.secure_cookies;

    router.Add("POST", "/api/v2/auth/login", [&acc, &store, secure](Request& req) -> Response {
        auto body = ParseJsonObject(req);
        if (!body) return ErrorResponse(body.error());
        auto email = StringField(*body, "email", true);
        if (!email) return ErrorResponse(email.error());
        auto password = StringField(*body, "password", true);
        if (!password) return ErrorResponse(password.error());
        auto s = acc.Login(*email, core::Secret(std::move(*password)));
        if (!s) return ErrorResponse(s.error());
        auto r = SignedInResponse(acc, store, *s, secure);
        return r ? std::move(*r) : ErrorResponse(r.error());
    });
    router.Add("POST", "/api/v2/auth/setup", [&acc, &store, secure](Request& req) -> Response {
        auto body = ParseJsonObject(req);
        if (!body) return ErrorResponse(body.error());
        auto token = StringField(*body, "token", true);
        if (!token) return ErrorResponse(token.error());
        auto password = StringField(*body, "password", true);
        if (!password) return ErrorResponse(password.error());
        auto s = acc.CompletePasswordLink(*token, core::Secret(std::move(*password)));
        if (!s) return ErrorResponse(s.error());
        auto r = SignedInResponse(acc, store, *s, secure);
        return r ? std::move(*r) : ErrorResponse(r.error());
    });
    router.Add("GET", "/api/v2/auth/session", [&acc, &store](Request& req) -> Response {
        auto s = acc.SessionOf(CookieOf(req));
        if (!s) return ErrorResponse(s.error());
        auto body = SessionBody(acc, store, s->first, s->second);
        if (!body) return ErrorResponse(body.error());
        Response r = JsonResponse(200, *body);
        r.headers.emplace_back("cache-control", "no-store");
        return r;
    });
    router.Add("POST", "/api/v2/auth/logout",
               Authed(acc, [&acc, secure](Request& req, const accounts::Caller&) -> Result<Response> {
                   if (auto token = CookieOf(req); !token.empty()) {
                       if (auto r = acc.Logout(token); !r) return r.error();
                   }
                   Response r;
                   r.status = 204;
                   r.headers.emplace_back("set-cookie", SessionCookie("", 0, secure));
                   return r;
               }));
}

void AddUiRoutes(http_server::Router& router, const std::string& web_dir) {
    if (web_dir.empty()) return;
    const std::filesystem::path root(web_dir);
    auto index = [root](Request&) -> Response {
        if (!std::filesystem::exists(root / "index.html")) {
            return Response::Text(503, "The web UI is not built. Run `make build` (it builds web/ with npm).\n");
        }
        return FileResponse(root / "index.html", false);
    };
    // The page paths of the single-page app all answer with index.html.
    for (const char* page : {"/", "/sign-in", "/setup", "/connections", "/dynamic-connections", "/scenarios",
                             "/scenarios/{scenarioId}", "/scenarios/{scenarioId}/history", "/team", "/audit"}) {
        router.Add("GET", page, index);
    }
    router.Add("GET", "/assets/{file}", [root](Request& req) -> Response {
        static const std::regex kSafe(R"([A-Za-z0-9_.\-]{1,200})");
        const std::string name = req.path_params["file"];
        if (!std::regex_match(name, kSafe) || name.find("..") != std::string::npos) {
            return ErrorResponse(core::NotFound("no such file"));
        }
        return FileResponse(root / "assets" / name, true);
    });
    router.Add("GET", "/favicon.svg", [root](Request&) { return FileResponse(root / "favicon.svg", false); });
}

}  // namespace switchboard::api

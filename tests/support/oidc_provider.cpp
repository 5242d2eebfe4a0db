#include "support/oidc_provider.hpp"

#include <curl/curl.h>
#include <strings.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kOidcDir = SWITCHBOARD_OIDC_DIR;
constexpr long kRequestTimeoutMs = 10'000;

void InitCurlOnce() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Owns one easy handle; its cookie engine (CURLOPT_COOKIEFILE "") keeps cookies across requests made on it.
class CurlSession {
  public:
    explicit CurlSession(bool keep_cookies) {
        InitCurlOnce();
        handle_ = curl_easy_init();
        if (handle_ == nullptr) throw std::runtime_error("curl_easy_init failed");
        if (keep_cookies) curl_easy_setopt(handle_, CURLOPT_COOKIEFILE, "");
    }
    ~CurlSession() { curl_easy_cleanup(handle_); }
    CurlSession(const CurlSession&) = delete;
    CurlSession& operator=(const CurlSession&) = delete;

    UrlReply Perform(const std::string& method, const std::string& url, const std::string& body,
                     const std::vector<std::string>& headers) {
        UrlReply reply;
        curl_slist* list = nullptr;
        bool has_content_type = false;
        for (const auto& h : headers) {
            list = curl_slist_append(list, h.c_str());
            if (h.size() >= 13 && strncasecmp(h.c_str(), "content-type:", 13) == 0) has_content_type = true;
        }
        if (method == "POST" && !has_content_type) {
            list = curl_slist_append(list, "Content-Type: application/x-www-form-urlencoded");
        }
        curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_PROXY, "");  // loopback only: never through an environment proxy
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &CurlSession::Write);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &reply.body);
        if (method == "GET") {
            curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, nullptr);
            curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(handle_, CURLOPT_POST, 1L);
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
            curl_easy_setopt(handle_, CURLOPT_COPYPOSTFIELDS, body.c_str());
            curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, method == "POST" ? nullptr : method.c_str());
        }
        const CURLcode rc = curl_easy_perform(handle_);
        curl_slist_free_all(list);
        if (rc != CURLE_OK) {
            reply.status = 0;
            reply.body = std::string("curl: ") + curl_easy_strerror(rc) + " (" + method + " " + url + ")";
            return reply;
        }
        curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &reply.status);
        char* location = nullptr;
        if (reply.status >= 300 && reply.status < 400 &&
            curl_easy_getinfo(handle_, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr) {
            reply.location = location;
        }
        return reply;
    }

  private:
    static size_t Write(char* data, size_t size, size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
    }
    CURL* handle_ = nullptr;
};

std::string Escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string Unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// "http://127.0.0.1:1234" of "http://127.0.0.1:1234/auth?..."
std::string Origin(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) throw std::runtime_error("not an absolute URL: " + url);
    const auto path = url.find_first_of("/?#", scheme_end + 3);
    return path == std::string::npos ? url : url.substr(0, path);
}

std::string FindExecutable(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
        const auto colon = dirs.find(':');
        const std::string dir(dirs.substr(0, colon));
        dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
        if (dir.empty()) continue;
        const std::string candidate = dir + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

json::array Strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

std::string ConfigJson(const OidcProviderOptions& options) {
    json::array clients;
    for (const auto& c : options.clients) {
        json::object o{{"client_id", c.client_id},
                       {"redirect_uris", Strings(c.redirect_uris)},
                       {"token_endpoint_auth_method", c.token_endpoint_auth_method},
                       {"grant_types", Strings(c.grant_types)}};
        if (c.token_endpoint_auth_method != "none") o["client_secret"] = c.client_secret;
        clients.emplace_back(std::move(o));
    }
    json::object config{{"clients", std::move(clients)},
                        {"accessTokenTtl", options.access_token_ttl_seconds},
                        {"refreshTokenTtl", options.refresh_token_ttl_seconds},
                        {"scopes", Strings(options.api_scopes)},
                        {"requirePkce", options.require_pkce}};
    return json::serialize(config);
}

std::string StringMember(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::map<std::string, int> Counts(const json::object& o, std::string_view key) {
    std::map<std::string, int> out;
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_object()) {
        for (const auto& [k, n] : v->as_object()) out[std::string(k)] = static_cast<int>(n.to_number<int64_t>());
    }
    return out;
}

}  // namespace

int OidcStats::TokenRequests(const std::string& grant_type) const {
    const auto it = token_requests.find(grant_type);
    return it == token_requests.end() ? 0 : it->second;
}

OidcProvider::OidcProvider(OidcProviderOptions options) : dir_(std::make_unique<TempDir>()) {
    const fs::path oidc_dir = kOidcDir;
    if (!fs::exists(oidc_dir / "node_modules" / "oidc-provider" / "package.json")) {
        throw std::runtime_error("OidcProvider: " + (oidc_dir / "node_modules").string() +
                                 " is missing; run `npm ci --no-audit --no-fund` in " + oidc_dir.string() +
                                 " (`make test` does it through scripts/install-deps.sh test)");
    }
    const std::string node = FindExecutable("node");
    if (node.empty()) {
        throw std::runtime_error("OidcProvider: `node` is not on PATH (scripts/install-deps.sh test installs it)");
    }
    if (options.clients.empty()) throw std::runtime_error("OidcProvider: no clients configured");

    // The config (client secrets included) goes through a file, not the command line.
    const std::string config_path = dir_->file("oidc-config.json");
    {
        std::ofstream out(config_path, std::ios::binary);
        out << ConfigJson(options);
        if (!out) throw std::runtime_error("OidcProvider: cannot write " + config_path);
    }
    process_ = std::make_unique<Process>(
        std::vector<std::string>{node, (oidc_dir / "provider.mjs").string(), "--port", "0", "--config", config_path},
        std::map<std::string, std::string>{{"NODE_ENV", "test"}}, dir_->path().string());

    static const std::regex ready_re(R"(OIDC_READY (http://127\.0\.0\.1:(\d+))\n)");
    std::string out;
    std::smatch m;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        out = process_->WaitForOutput("OIDC_READY", std::chrono::milliseconds(200)).value_or("");
        if (std::regex_search(out, m, ready_re)) break;
        const bool exited = process_->Wait(std::chrono::milliseconds(0)).has_value();
        if (exited || std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("OidcProvider: provider.mjs did not become ready; stdout:\n" + process_->Stdout() +
                                     "\nstderr:\n" + process_->Stderr());
        }
    }
    issuer_ = m[1];
    port_ = std::stoi(m[2]);

    const UrlReply discovery = FetchUrl("GET", issuer_ + "/.well-known/openid-configuration");
    if (discovery.status != 200) {
        throw std::runtime_error("OidcProvider: discovery answered " + std::to_string(discovery.status) + ": " +
                                 discovery.body);
    }
    const json::object doc = json::parse(discovery.body).as_object();
    endpoints_.authorization = StringMember(doc, "authorization_endpoint");
    endpoints_.token = StringMember(doc, "token_endpoint");
    endpoints_.userinfo = StringMember(doc, "userinfo_endpoint");
    endpoints_.revocation = StringMember(doc, "revocation_endpoint");
    endpoints_.introspection = StringMember(doc, "introspection_endpoint");
    endpoints_.jwks = StringMember(doc, "jwks_uri");
    if (endpoints_.authorization.empty() || endpoints_.token.empty() || endpoints_.userinfo.empty() ||
        endpoints_.revocation.empty() || endpoints_.introspection.empty()) {
        throw std::runtime_error("OidcProvider: discovery document lacks an endpoint: " + discovery.body);
    }
}

OidcProvider::~OidcProvider() = default;

OidcStats OidcProvider::Stats() const {
    const UrlReply reply = FetchUrl("GET", issuer_ + "/__test/stats");
    if (reply.status != 200) throw std::runtime_error("OidcProvider: stats answered: " + reply.body);
    const json::object o = json::parse(reply.body).as_object();
    OidcStats stats;
    stats.token_requests = Counts(o, "token_requests");
    stats.token_errors = Counts(o, "token_errors");
    stats.routes = Counts(o, "routes");
    stats.token_requests_total = static_cast<int>(o.at("token_requests_total").to_number<int64_t>());
    stats.invalid_grant = static_cast<int>(o.at("invalid_grant").to_number<int64_t>());
    return stats;
}

void OidcProvider::ResetStats() const {
    const UrlReply reply = FetchUrl("POST", issuer_ + "/__test/reset-stats");
    if (reply.status != 200) throw std::runtime_error("OidcProvider: reset-stats answered: " + reply.body);
}

int OidcProvider::RevokeGrants(const std::string& account) const {
    const UrlReply reply = FetchUrl("POST", issuer_ + "/__test/revoke-grants?" + FormEncode({{"account", account}}));
    if (reply.status != 200) throw std::runtime_error("OidcProvider: revoke-grants answered: " + reply.body);
    return static_cast<int>(json::parse(reply.body).at("revoked_grants").to_number<int64_t>());
}

std::vector<std::string> OidcProvider::IssuedTokens() const {
    const UrlReply reply = FetchUrl("GET", issuer_ + "/__test/issued-tokens");
    if (reply.status != 200) throw std::runtime_error("OidcProvider: issued-tokens answered: " + reply.body);
    std::vector<std::string> out;
    const json::value doc = json::parse(reply.body);
    for (const auto& t : doc.at("tokens").as_array()) out.emplace_back(t.as_string());
    return out;
}

std::string OidcProvider::Log() const { return process_ ? process_->Stderr() : std::string(); }

std::string CompleteConsent(const std::string& authorize_url, const std::string& login) {
    const std::string origin = Origin(authorize_url);
    static const std::regex login_form_re(R"re(<form id="login" method="post" action="([^"]+)")re");
    static const std::regex confirm_form_re(R"re(<form id="confirm" method="post" action="([^"]+)")re");

    CurlSession session(/*keep_cookies=*/true);
    std::string method = "GET";
    std::string url = authorize_url;
    std::string body;
    for (int step = 0; step < 20; ++step) {
        const UrlReply reply = session.Perform(method, url, body, {});
        if (reply.status >= 300 && reply.status < 400) {
            if (reply.location.empty()) throw std::runtime_error("CompleteConsent: redirect without Location");
            if (reply.location.rfind(origin + "/", 0) != 0) return reply.location;  // left the provider
            method = "GET";
            url = reply.location;
            body.clear();
            continue;
        }
        std::smatch m;
        if (reply.status == 200 && std::regex_search(reply.body, m, login_form_re)) {
            method = "POST";
            url = origin + std::string(m[1]);
            body = FormEncode({{"login", login}});
            continue;
        }
        if (reply.status == 200 && std::regex_search(reply.body, m, confirm_form_re)) {
            method = "POST";
            url = origin + std::string(m[1]);
            body.clear();
            continue;
        }
        throw std::runtime_error("CompleteConsent: " + method + " " + url + " answered " +
                                 std::to_string(reply.status) + ":\n" + reply.body);
    }
    throw std::runtime_error("CompleteConsent: too many steps, last at " + url);
}

UrlReply FetchUrl(const std::string& method, const std::string& url, const std::string& body,
                  const std::vector<std::string>& headers) {
    CurlSession session(/*keep_cookies=*/false);
    return session.Perform(method, url, body, headers);
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out += '&';
        out += Escape(name) + "=" + Escape(value);
    }
    return out;
}

std::string QueryParam(const std::string& url, const std::string& name) {
    const auto q = url.find('?');
    if (q == std::string::npos) return "";
    const auto end = url.find('#', q);
    std::string_view query(url.data() + q + 1, (end == std::string::npos ? url.size() : end) - q - 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (Unescape(pair.substr(0, eq)) == name) {
            return eq == std::string_view::npos ? "" : Unescape(pair.substr(eq + 1));
        }
    }
    return "";
}

}  // namespace switchboard::testing

#pragma once
// A real OAuth 2 / OpenID Connect provider for integration tests: `node tests/support/oidc/provider.mjs`
// (the npm package oidc-provider, pinned in tests/support/oidc/package-lock.json) on 127.0.0.1, port 0,
// plus a browser-less driver for its login and consent pages.
//
// Nothing is installed here: `make test` runs `npm ci` in tests/support/oidc (scripts/install-deps.sh test).
// When node or node_modules is missing the constructor throws std::runtime_error saying what to run.
//
// What the provider does (details in provider.mjs):
//   - one opaque access token per grant carries the granted OIDC and API scopes ("openid email read write"),
//     works at userinfo, and the token response includes `scope` and `expires_in` (= the configured TTL);
//   - a refresh token is issued for every authorization_code grant of a client allowed refresh_token (no
//     offline_access needed), rotated on every use; a rotated refresh token presented again fails with
//     invalid_grant and revokes the whole grant;
//   - PKCE S256 is required for public clients (auth method "none"), or for all with require_pkce, and
//     checked whenever a confidential client sends it;
//   - account "alice" has email alice@example.test.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::testing {

class Process;
class TempDir;

struct OidcClient {
    std::string client_id;
    std::string client_secret;  // unused when token_endpoint_auth_method is "none"
    std::vector<std::string> redirect_uris;
    std::string token_endpoint_auth_method = "client_secret_post";                   // or "client_secret_basic", "none"
    std::vector<std::string> grant_types = {"authorization_code", "refresh_token"};  // + "client_credentials"
};

struct OidcProviderOptions {
    std::vector<OidcClient> clients;  // at least one
    int access_token_ttl_seconds = 5;
    int refresh_token_ttl_seconds = 14 * 24 * 3600;
    std::vector<std::string> api_scopes = {"read", "write"};  // besides openid email profile offline_access
    bool require_pkce = false;                                // true: PKCE S256 required for every client
};

// Read from the provider's /.well-known/openid-configuration.
struct OidcEndpoints {
    std::string authorization;
    std::string token;
    std::string userinfo;
    std::string revocation;
    std::string introspection;
    std::string jwks;
};

// Counters kept by the provider since start (or the last ResetStats()).
struct OidcStats {
    std::map<std::string, int> token_requests;  // token endpoint requests by grant_type (also failed ones)
    std::map<std::string, int> token_errors;    // token endpoint error responses by error code
    std::map<std::string, int> routes;          // requests by oidc-provider route name (authorization, userinfo…)
    int token_requests_total = 0;
    int invalid_grant = 0;  // token endpoint responses with error invalid_grant

    int TokenRequests(const std::string& grant_type) const;
};

class OidcProvider {
  public:
    // Starts the provider and waits (up to 30 s) for it to listen; throws std::runtime_error with the
    // provider's stderr when it does not.
    explicit OidcProvider(OidcProviderOptions options);
    ~OidcProvider();  // kills the process
    OidcProvider(const OidcProvider&) = delete;
    OidcProvider& operator=(const OidcProvider&) = delete;

    const std::string& issuer() const { return issuer_; }  // "http://127.0.0.1:PORT", no trailing slash
    int port() const { return port_; }
    const OidcEndpoints& endpoints() const { return endpoints_; }

    // The test control endpoints; each throws std::runtime_error when the provider does not answer 200.
    OidcStats Stats() const;
    void ResetStats() const;
    // Revokes every grant of the account and all its tokens, as the user would at the provider; returns how
    // many grants there were.
    int RevokeGrants(const std::string& account) const;
    // Every access and refresh token the provider issued so far (tests scan storage and logs for them).
    std::vector<std::string> IssuedTokens() const;

    // The provider's stderr (request log and notices), for failure messages.
    std::string Log() const;

  private:
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<Process> process_;
    std::string issuer_;
    int port_ = 0;
    OidcEndpoints endpoints_;
};

// Drives an authorization request like a browser would, but without one: requests `authorize_url`, follows
// the provider's redirects by hand keeping its cookies, submits the login form with `login` and the consent
// form (granting everything requested), and returns the first redirect that leaves the provider — the
// client's redirect_uri with code and state (or error) — without requesting it. Throws std::runtime_error when
// the provider answers with anything else (e.g. an unknown login or an invalid request), with its body.
std::string CompleteConsent(const std::string& authorize_url, const std::string& login);

// Blocking libcurl helpers for talking to the provider (or any loopback server) from tests.
struct UrlReply {
    long status = 0;       // 0 when the request failed at the transport level (then `body` has curl's error)
    std::string body;      //
    std::string location;  // the absolute redirect target for 3xx answers, "" otherwise; never followed
};
// `headers` are full header lines ("Authorization: Bearer x"); a POST body defaults to form content type.
UrlReply FetchUrl(const std::string& method, const std::string& url, const std::string& body = "",
                  const std::vector<std::string>& headers = {});
// application/x-www-form-urlencoded (also for query strings).
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// The decoded value of a query parameter of `url` ("" when absent).
std::string QueryParam(const std::string& url, const std::string& name);

}  // namespace switchboard::testing

#pragma once
// OAuth 2 client steps of Make's custom-app format (api.authorize / token / info / invalidate), interpreted with
// the template engine and sent with the HttpClient. State and PKCE are the engine's job, never the app's:
// - state: 32 random bytes (base64url), added to the authorize URL; the caller stores only its hash.
// - PKCE (unless the type says "pkce": false): a 64-character verifier; code_challenge = BASE64URL(SHA-256)
//   with method S256 on the authorize URL; code_verifier added to the token request body.
// Template variables: parameters, common (the type's common, overridden by the connection's own clientId /
// clientSecret fields when it has them), oauth.scope (array), oauth.redirectUri / localRedirectUri
// (= {public URL}/oauth/cb/{app}), temp, query (the callback's query), data (the token step's data), now.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/app.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "http_client/http_client.hpp"
#include "iml/template.hpp"

namespace switchboard::oauth {

struct AuthorizeStart {
    std::string url;            // where the consent window goes
    std::string state;          // raw; store only its hash
    std::string code_verifier;  // "" when PKCE is off
    boost::json::object temp;   // what the preauthorize step kept (response.temp); the callback needs it back
};

// What a completed grant gives the connection.
struct Grant {
    boost::json::object data;  // token step's response.data (accessToken, refreshToken, expires, …)
    std::vector<std::string> requested_scopes;
    std::vector<std::string> granted_scopes;  // the token response's scope, or the requested set when absent
    bool partial = false;                     // granted ⊉ requested
    std::optional<std::int64_t> expire_at;    // response.expires: when the whole grant must be reauthorized
    boost::json::value metadata;              // info step: {type, value} or null
    std::string uid;
};

// data.expires (ISO 8601) in ms, when present.
std::optional<std::int64_t> TokenExpiry(const boost::json::object& data);

// A refused step's error carries the HTTP status as a suberror "http_status=<code>" (401 means the access token
// is no longer accepted: refresh once and retry).
inline constexpr std::string_view kHttpStatusPrefix = "http_status=";
bool RefusedWithStatus(const core::Error& e, int status);

// A provider's refusal (access_denied, invalid_grant, a failed token request): message is user-facing and
// never contains a secret.
core::Error ProviderError(std::string message);

class OAuthEngine {
  public:
    // operator_common: the operator's OAuth clients per app name ({"clientId", "clientSecret", …}); they override
    // the app file's `common` and are overridden by a connection's own clientId/clientSecret.
    OAuthEngine(http_client::HttpClient& http, const core::Clock& clock, core::Random& random, std::string public_url,
                std::map<std::string, boost::json::object> operator_common = {})
        : http_(http),
          clock_(clock),
          random_(random),
          public_url_(std::move(public_url)),
          operator_common_(std::move(operator_common)) {}

    std::string RedirectUri(const catalog::App& app) const;

    core::Result<AuthorizeStart> Authorize(const catalog::App& app, const catalog::ConnectionType& type,
                                           const boost::json::object& parameters,
                                           const std::vector<std::string>& scopes);
    // query: the callback's query parameters. Runs token (with code_verifier) then info.
    core::Result<Grant> ExchangeCode(const catalog::App& app, const catalog::ConnectionType& type,
                                     const boost::json::object& parameters, const std::vector<std::string>& scopes,
                                     const boost::json::object& query, const std::string& code_verifier,
                                     const boost::json::object& temp = {});
    // oauth-clicre: token (client credentials) then info, no window.
    core::Result<Grant> ClientCredentials(const catalog::App& app, const catalog::ConnectionType& type,
                                          const boost::json::object& parameters,
                                          const std::vector<std::string>& scopes);
    // api.refresh's condition rendered over the stored data: nullopt when the step has none (the caller then
    // applies its margin rule).
    core::Result<std::optional<bool>> RefreshDue(const catalog::App& app, const catalog::ConnectionType& type,
                                                 const boost::json::object& parameters,
                                                 const boost::json::object& data);
    // Runs api.refresh. The answer's data is merged over the stored data (a provider that does not rotate keeps
    // the old refresh token). A refusal is a ProviderError whose detail names the provider's error code
    // (invalid_grant …); transport failures are kUpstreamError too, with "could not be reached".
    core::Result<boost::json::object> Refresh(const catalog::App& app, const catalog::ConnectionType& type,
                                              const boost::json::object& parameters, const boost::json::object& data);
    // Runs the info step with stored data (connection test). A refused request is a ProviderError.
    core::Result<Grant> Info(const catalog::App& app, const catalog::ConnectionType& type,
                             const boost::json::object& parameters, const boost::json::object& data);
    // Runs api.invalidate when the type defines it (token revocation). Ok when there is nothing to run.
    core::Result<void> Invalidate(const catalog::App& app, const catalog::ConnectionType& type,
                                  const boost::json::object& parameters, const boost::json::object& data);

  private:
    iml::Context Context(const boost::json::object& root) const;
    boost::json::object RootWithData(const catalog::App& app, const catalog::ConnectionType& type,
                                     const boost::json::object& parameters, const boost::json::object& data) const;
    boost::json::object Root(const catalog::App& app, const catalog::ConnectionType& type,
                             const boost::json::object& parameters, const std::vector<std::string>& scopes) const;
    core::Result<void> RunInfo(const catalog::App& app, const catalog::ConnectionType& type, boost::json::object root,
                               Grant& grant);
    core::Result<Grant> TokenThenInfo(const catalog::App& app, const catalog::ConnectionType& type,
                                      boost::json::object& root, const std::vector<std::string>& scopes,
                                      const std::string& code_verifier);

    http_client::HttpClient& http_;
    const core::Clock& clock_;
    core::Random& random_;
    std::string public_url_;
    std::map<std::string, boost::json::object> operator_common_;
};

}  // namespace switchboard::oauth

// The OAuth 2 / OpenID provider fixture against itself, over real HTTP: authorization code + PKCE S256 through
// the browser-less login/consent, token exchange, userinfo, refresh token rotation and reuse detection,
// revocation seen by introspection, the stats counters, revoking every grant of the account, a code redeemed
// by another client, and a wrong PKCE verifier. The server under test uses the same provider the same way.
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <string>

#include "core/encoding.hpp"
#include "support/oidc_provider.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;

constexpr const char* kRedirectUri = "http://127.0.0.1:9/oauth/callback";  // never requested
constexpr const char* kOtherRedirectUri = "http://127.0.0.1:9/other/callback";
constexpr const char* kScope = "openid email read write";  // no offline_access: refresh tokens come anyway

OidcClient MainClient() {
    return {.client_id = "switchboard",
            .client_secret = "main-client-secret-7f3a",
            .redirect_uris = {kRedirectUri},
            .token_endpoint_auth_method = "client_secret_post",
            .grant_types = {"authorization_code", "refresh_token"}};
}

OidcClient OtherClient() {
    return {.client_id = "other-app",
            .client_secret = "other-client-secret-19cd",
            .redirect_uris = {kOtherRedirectUri},
            .token_endpoint_auth_method = "client_secret_basic",
            .grant_types = {"authorization_code", "refresh_token"}};
}

// code_challenge = BASE64URL(SHA256(code_verifier)), RFC 7636 section 4.2.
std::string S256(const std::string& verifier) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
    return core::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

struct Authorization {
    std::string code;
    std::string verifier;
    std::string redirect;  // the full redirect to the client
};

Authorization Authorize(const OidcProvider& op, const OidcClient& client, const std::string& state,
                        const std::string& verifier = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG") {
    const std::string url = op.endpoints().authorization + "?" +
                            FormEncode({{"client_id", client.client_id},
                                        {"response_type", "code"},
                                        {"redirect_uri", client.redirect_uris.at(0)},
                                        {"scope", kScope},
                                        {"state", state},
                                        {"code_challenge", S256(verifier)},
                                        {"code_challenge_method", "S256"}});
    Authorization a;
    a.redirect = CompleteConsent(url, "alice");
    a.code = QueryParam(a.redirect, "code");
    a.verifier = verifier;
    return a;
}

std::vector<std::pair<std::string, std::string>> WithSecretPost(std::vector<std::pair<std::string, std::string>> f,
                                                                const OidcClient& client) {
    f.emplace_back("client_id", client.client_id);
    f.emplace_back("client_secret", client.client_secret);
    return f;
}

UrlReply Token(const OidcProvider& op, const std::vector<std::pair<std::string, std::string>>& fields) {
    return FetchUrl("POST", op.endpoints().token, FormEncode(fields));
}

UrlReply ExchangeCode(const OidcProvider& op, const OidcClient& client, const Authorization& a) {
    return Token(op, WithSecretPost({{"grant_type", "authorization_code"},
                                     {"code", a.code},
                                     {"redirect_uri", client.redirect_uris.at(0)},
                                     {"code_verifier", a.verifier}},
                                    client));
}

UrlReply Refresh(const OidcProvider& op, const OidcClient& client, const std::string& refresh_token) {
    return Token(op, WithSecretPost({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}, client));
}

json::object Json(const UrlReply& r) {
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return {};
    return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A confidential client that completed the flow and holds fresh tokens.
struct Tokens {
    std::string access_token;
    std::string refresh_token;
};

Tokens Login(const OidcProvider& op, const OidcClient& client, const std::string& state) {
    const Authorization a = Authorize(op, client, state);
    const UrlReply r = ExchangeCode(op, client, a);
    EXPECT_EQ(r.status, 200) << r.body;
    const json::object body = Json(r);
    return {Str(body, "access_token"), Str(body, "refresh_token")};
}

UrlReply Introspect(const OidcProvider& op, const OidcClient& client, const std::string& token) {
    return FetchUrl("POST", op.endpoints().introspection, FormEncode(WithSecretPost({{"token", token}}, client)));
}

TEST(OidcProviderTest, StartsOnLoopbackAndPublishesEndpoints) {
    OidcProvider op({.clients = {MainClient()}});
    EXPECT_GT(op.port(), 0);
    EXPECT_EQ(op.issuer(), "http://127.0.0.1:" + std::to_string(op.port()));
    for (const std::string& e : {op.endpoints().authorization, op.endpoints().token, op.endpoints().userinfo,
                                 op.endpoints().revocation, op.endpoints().introspection}) {
        EXPECT_EQ(e.rfind(op.issuer() + "/", 0), 0u) << e;
    }
    const json::object doc = Json(FetchUrl("GET", op.issuer() + "/.well-known/openid-configuration"));
    ASSERT_TRUE(doc.contains("code_challenge_methods_supported"));
    EXPECT_EQ(json::serialize(doc.at("code_challenge_methods_supported")), R"(["S256"])");
}

TEST(OidcProviderTest, CodeFlowWithPkceUserinfoAndRefreshRotation) {
    OidcProvider op({.clients = {MainClient()}, .access_token_ttl_seconds = 5});
    const OidcClient client = MainClient();

    const Authorization a = Authorize(op, client, "state-123");
    EXPECT_EQ(a.redirect.rfind(std::string(kRedirectUri) + "?", 0), 0u) << a.redirect;
    EXPECT_EQ(QueryParam(a.redirect, "state"), "state-123");
    EXPECT_EQ(QueryParam(a.redirect, "iss"), op.issuer());
    ASSERT_FALSE(a.code.empty()) << a.redirect;

    const UrlReply exchanged = ExchangeCode(op, client, a);
    ASSERT_EQ(exchanged.status, 200) << exchanged.body;
    const json::object tokens = Json(exchanged);
    const std::string access_token = Str(tokens, "access_token");
    const std::string refresh_token = Str(tokens, "refresh_token");
    EXPECT_FALSE(access_token.empty());
    EXPECT_FALSE(refresh_token.empty()) << "refresh token expected without offline_access: " << exchanged.body;
    EXPECT_EQ(Str(tokens, "scope"), kScope);
    EXPECT_EQ(Str(tokens, "token_type"), "Bearer");
    ASSERT_TRUE(tokens.contains("expires_in"));
    EXPECT_EQ(tokens.at("expires_in").to_number<int64_t>(), 5);

    const UrlReply me = FetchUrl("GET", op.endpoints().userinfo, "", {"Authorization: Bearer " + access_token});
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(Str(Json(me), "email"), "alice@example.test");
    EXPECT_EQ(Str(Json(me), "sub"), "alice");

    // Rotation: a new refresh token every time; the old one is then rejected.
    const UrlReply refreshed = Refresh(op, client, refresh_token);
    ASSERT_EQ(refreshed.status, 200) << refreshed.body;
    const json::object rotated = Json(refreshed);
    EXPECT_FALSE(Str(rotated, "access_token").empty());
    EXPECT_NE(Str(rotated, "access_token"), access_token);
    EXPECT_FALSE(Str(rotated, "refresh_token").empty());
    EXPECT_NE(Str(rotated, "refresh_token"), refresh_token);
    EXPECT_EQ(Str(rotated, "scope"), kScope);
    EXPECT_EQ(rotated.at("expires_in").to_number<int64_t>(), 5);

    const UrlReply reused = Refresh(op, client, refresh_token);
    EXPECT_EQ(reused.status, 400);
    EXPECT_EQ(Str(Json(reused), "error"), "invalid_grant");

    const OidcStats stats = op.Stats();
    EXPECT_EQ(stats.TokenRequests("authorization_code"), 1);
    EXPECT_EQ(stats.TokenRequests("refresh_token"), 2);
    EXPECT_EQ(stats.TokenRequests("client_credentials"), 0);
    EXPECT_EQ(stats.token_requests_total, 3);
    EXPECT_EQ(stats.invalid_grant, 1);
    EXPECT_EQ(stats.token_errors.at("invalid_grant"), 1);

    op.ResetStats();
    EXPECT_EQ(op.Stats().token_requests_total, 0);
}

TEST(OidcProviderTest, ReplayedCodeIsRejectedAndRevokesItsTokens) {
    OidcProvider op({.clients = {MainClient()}});
    const OidcClient client = MainClient();
    const Authorization a = Authorize(op, client, "s0");
    const UrlReply first = ExchangeCode(op, client, a);
    ASSERT_EQ(first.status, 200) << first.body;
    const std::string access_token = Str(Json(first), "access_token");
    ASSERT_EQ(FetchUrl("GET", op.endpoints().userinfo, "", {"Authorization: Bearer " + access_token}).status, 200);

    const UrlReply replay = ExchangeCode(op, client, a);
    EXPECT_EQ(replay.status, 400);
    EXPECT_EQ(Str(Json(replay), "error"), "invalid_grant");
    EXPECT_EQ(FetchUrl("GET", op.endpoints().userinfo, "", {"Authorization: Bearer " + access_token}).status, 401);
}

TEST(OidcProviderTest, IntrospectionReportsScopeAndExpiryThenInactiveAfterRevocation) {
    OidcProvider op({.clients = {MainClient()}, .access_token_ttl_seconds = 5});
    const OidcClient client = MainClient();
    const Tokens t = Login(op, client, "s1");

    const json::object active = Json(Introspect(op, client, t.access_token));
    ASSERT_TRUE(active.contains("active")) << json::serialize(active);
    EXPECT_TRUE(active.at("active").as_bool());
    EXPECT_EQ(Str(active, "scope"), kScope);
    EXPECT_EQ(Str(active, "client_id"), "switchboard");
    EXPECT_EQ(active.at("exp").to_number<int64_t>() - active.at("iat").to_number<int64_t>(), 5);

    const UrlReply revoked =
        FetchUrl("POST", op.endpoints().revocation, FormEncode(WithSecretPost({{"token", t.access_token}}, client)));
    EXPECT_EQ(revoked.status, 200) << revoked.body;
    const json::object after = Json(Introspect(op, client, t.access_token));
    ASSERT_TRUE(after.contains("active")) << json::serialize(after);
    EXPECT_FALSE(after.at("active").as_bool());
    const UrlReply me = FetchUrl("GET", op.endpoints().userinfo, "", {"Authorization: Bearer " + t.access_token});
    EXPECT_EQ(me.status, 401);

    // Revoking the refresh token makes the next refresh fail.
    EXPECT_EQ(
        FetchUrl("POST", op.endpoints().revocation,
                 FormEncode(WithSecretPost({{"token", t.refresh_token}, {"token_type_hint", "refresh_token"}}, client)))
            .status,
        200);
    EXPECT_FALSE(Json(Introspect(op, client, t.refresh_token)).at("active").as_bool());
    const UrlReply refresh = Refresh(op, client, t.refresh_token);
    EXPECT_EQ(refresh.status, 400);
    EXPECT_EQ(Str(Json(refresh), "error"), "invalid_grant");
}

TEST(OidcProviderTest, RevokeGrantsMakesTheNextRefreshFail) {
    OidcProvider op({.clients = {MainClient()}});
    const OidcClient client = MainClient();
    const Tokens t = Login(op, client, "s2");

    const UrlReply first = Refresh(op, client, t.refresh_token);
    ASSERT_EQ(first.status, 200) << first.body;
    const std::string current = Str(Json(first), "refresh_token");
    const std::string access_token = Str(Json(first), "access_token");

    EXPECT_EQ(op.RevokeGrants("alice"), 1);
    const UrlReply after = Refresh(op, client, current);
    EXPECT_EQ(after.status, 400);
    EXPECT_EQ(Str(Json(after), "error"), "invalid_grant");
    EXPECT_EQ(FetchUrl("GET", op.endpoints().userinfo, "", {"Authorization: Bearer " + access_token}).status, 401);
    EXPECT_EQ(op.Stats().invalid_grant, 1);
    EXPECT_EQ(op.RevokeGrants("alice"), 0);

    // The user can connect again afterwards.
    const Tokens again = Login(op, client, "s3");
    EXPECT_EQ(Refresh(op, client, again.refresh_token).status, 200);
}

TEST(OidcProviderTest, CodeIssuedToAnotherClientIsRejected) {
    OidcProvider op({.clients = {MainClient(), OtherClient()}});
    const OidcClient main = MainClient();
    const OidcClient other = OtherClient();

    const Authorization a = Authorize(op, other, "s4");
    EXPECT_EQ(a.redirect.rfind(std::string(kOtherRedirectUri) + "?", 0), 0u) << a.redirect;

    const UrlReply stolen = Token(op, WithSecretPost({{"grant_type", "authorization_code"},
                                                      {"code", a.code},
                                                      {"redirect_uri", kRedirectUri},
                                                      {"code_verifier", a.verifier}},
                                                     main));
    EXPECT_EQ(stolen.status, 400);
    EXPECT_EQ(Str(Json(stolen), "error"), "invalid_grant");

    // The rightful client (client_secret_basic) still redeems it: the failed attempt did not consume the code.
    const std::string basic = "Authorization: Basic " + core::Base64Encode(other.client_id + ":" + other.client_secret);
    const UrlReply own = FetchUrl("POST", op.endpoints().token,
                                  FormEncode({{"grant_type", "authorization_code"},
                                              {"code", a.code},
                                              {"redirect_uri", kOtherRedirectUri},
                                              {"code_verifier", a.verifier}}),
                                  {basic});
    EXPECT_EQ(own.status, 200) << own.body;
    EXPECT_FALSE(Str(Json(own), "refresh_token").empty());
}

TEST(OidcProviderTest, WrongPkceVerifierIsRejected) {
    OidcProvider op({.clients = {MainClient()}});
    const OidcClient client = MainClient();
    Authorization a = Authorize(op, client, "s5");
    a.verifier = "another-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    const UrlReply r = ExchangeCode(op, client, a);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Str(Json(r), "error"), "invalid_grant");
}

TEST(OidcProviderTest, ClientCredentialsGrantCarriesTheRequestedApiScopes) {
    OidcClient service = OtherClient();
    service.redirect_uris.clear();
    service.token_endpoint_auth_method = "client_secret_post";
    service.grant_types = {"client_credentials"};
    OidcProvider op({.clients = {MainClient(), service}});

    const UrlReply r = Token(op, WithSecretPost({{"grant_type", "client_credentials"}, {"scope", "read"}}, service));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Str(Json(r), "scope"), "read");
    EXPECT_EQ(Json(r).at("expires_in").to_number<int64_t>(), 5);
    EXPECT_FALSE(Json(r).contains("refresh_token"));
    const json::object introspected = Json(Introspect(op, service, Str(Json(r), "access_token")));
    EXPECT_TRUE(introspected.at("active").as_bool());

    // A client not allowed the grant is refused (oidc-provider answers invalid_request, not unauthorized_client).
    const UrlReply refused =
        Token(op, WithSecretPost({{"grant_type", "client_credentials"}, {"scope", "read"}}, MainClient()));
    EXPECT_EQ(refused.status, 400);
    EXPECT_EQ(Str(Json(refused), "error"), "invalid_request");
    EXPECT_EQ(op.Stats().TokenRequests("client_credentials"), 2);
}

TEST(OidcProviderTest, UnknownLoginFailsTheDance) {
    OidcProvider op({.clients = {MainClient()}});
    const std::string url = op.endpoints().authorization + "?" +
                            FormEncode({{"client_id", "switchboard"},
                                        {"response_type", "code"},
                                        {"redirect_uri", kRedirectUri},
                                        {"scope", kScope},
                                        {"state", "s6"},
                                        {"code_challenge", S256("v-0123456789-0123456789-0123456789-0123456789")},
                                        {"code_challenge_method", "S256"}});
    EXPECT_THROW(CompleteConsent(url, "mallory"), std::runtime_error);
}

}  // namespace
}  // namespace switchboard::testing

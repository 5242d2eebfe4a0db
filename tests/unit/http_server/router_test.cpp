#include "http_server/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace switchboard::http_server {
namespace {

// Each handler answers with its own name, so a test can see which route was taken.
Handler Named(std::string name) {
    return [name](Request&) { return Response::Text(200, name); };
}

Request Req(std::string method, std::string target) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    return req;
}

// The name of the handler the router picks, or "" when none.
std::string Route(const Router& router, Request& req) {
    const Router::Match match = router.Find(req);
    return match.handler ? (*match.handler)(req).body : "";
}

TEST(RouterTest, MatchesLiteralRouteAndRecordsPattern) {
    Router router;
    router.Add("GET", "/api/v2/teams", Named("list"));
    router.Add("POST", "/api/v2/teams", Named("create"));
    Request get = Req("GET", "/api/v2/teams");
    EXPECT_EQ(Route(router, get), "list");
    EXPECT_EQ(get.route, "/api/v2/teams");
    EXPECT_TRUE(get.path_params.empty());
    Request post = Req("POST", "/api/v2/teams");
    EXPECT_EQ(Route(router, post), "create");
}

TEST(RouterTest, AMatchCarriesItsRoutesPool) {
    Router router;
    router.Add("POST", "/hooks/{token}", Named("hook"), Pool::kRun);
    router.Add("GET", "/hooks/{token}", Named("hook-get"));
    Request post = Req("POST", "/hooks/abc");
    const Router::Match run = router.Find(post);
    ASSERT_NE(run.handler, nullptr);
    EXPECT_EQ(run.pool, Pool::kRun);
    Request get = Req("GET", "/hooks/abc");
    const Router::Match api = router.Find(get);
    ASSERT_NE(api.handler, nullptr);
    EXPECT_EQ(api.pool, Pool::kApi);
}

TEST(RouterTest, ExtractsParameters) {
    Router router;
    router.Add("GET", "/api/v2/teams/{teamId}/members/{userId}", Named("member"));
    Request req = Req("GET", "/api/v2/teams/12/members/u-7");
    EXPECT_EQ(Route(router, req), "member");
    EXPECT_EQ(req.route, "/api/v2/teams/{teamId}/members/{userId}");
    ASSERT_EQ(req.path_params.size(), 2u);
    EXPECT_EQ(req.path_params.at("teamId"), "12");
    EXPECT_EQ(req.path_params.at("userId"), "u-7");
}

TEST(RouterTest, LiteralBeatsParameter) {
    Router router;
    router.Add("GET", "/teams/{id}", Named("by-id"));
    router.Add("GET", "/teams/me", Named("me"));
    Request me = Req("GET", "/teams/me");
    EXPECT_EQ(Route(router, me), "me");
    EXPECT_TRUE(me.path_params.empty());
    Request other = Req("GET", "/teams/mine");
    EXPECT_EQ(Route(router, other), "by-id");
    EXPECT_EQ(other.path_params.at("id"), "mine");
}

TEST(RouterTest, BacktracksToParameterWhenTheLiteralBranchEndsEarly) {
    Router router;
    router.Add("GET", "/teams/me", Named("me"));
    router.Add("GET", "/teams/{id}/members", Named("members"));
    Request req = Req("GET", "/teams/me/members");
    EXPECT_EQ(Route(router, req), "members");
    EXPECT_EQ(req.path_params.at("id"), "me");
}

TEST(RouterTest, LessSpecificRouteServesAMethodTheLiteralLacks) {
    Router router;
    router.Add("GET", "/teams/me", Named("me"));
    router.Add("DELETE", "/teams/{id}", Named("delete"));
    Request req = Req("DELETE", "/teams/me");
    EXPECT_EQ(Route(router, req), "delete");
    EXPECT_EQ(req.route, "/teams/{id}");
    EXPECT_EQ(req.path_params.at("id"), "me");
}

TEST(RouterTest, UnknownPathIsNotFound) {
    Router router;
    router.Add("GET", "/teams", Named("list"));
    Request req = Req("GET", "/users");
    const Router::Match match = router.Find(req);
    EXPECT_EQ(match.handler, nullptr);
    EXPECT_FALSE(match.path_exists);
    EXPECT_TRUE(match.allowed.empty());
    EXPECT_EQ(req.route, "");
}

TEST(RouterTest, WrongMethodReportsTheAllowedOnes) {
    Router router;
    router.Add("POST", "/teams/{id}", Named("update"));
    router.Add("GET", "/teams/{teamId}", Named("get"));
    router.Add("PATCH", "/teams/special", Named("special"));
    Request req = Req("DELETE", "/teams/special");
    const Router::Match match = router.Find(req);
    EXPECT_EQ(match.handler, nullptr);
    EXPECT_TRUE(match.path_exists);
    EXPECT_EQ(match.allowed, (std::vector<std::string>{"GET", "PATCH", "POST"}));
    EXPECT_EQ(req.route, "");
}

TEST(RouterTest, SameDepthParametersMayBeNamedDifferentlyPerRoute) {
    Router router;
    router.Add("GET", "/a/{x}", Named("get"));
    router.Add("POST", "/a/{y}", Named("post"));
    Request get = Req("GET", "/a/1");
    EXPECT_EQ(Route(router, get), "get");
    EXPECT_EQ(get.path_params.at("x"), "1");
    Request post = Req("POST", "/a/2");
    EXPECT_EQ(Route(router, post), "post");
    EXPECT_EQ(post.path_params.at("y"), "2");
    EXPECT_EQ(post.path_params.count("x"), 0u);
}

TEST(RouterTest, TrailingSlashIsIgnored) {
    Router router;
    router.Add("GET", "/api/v2/teams", Named("list"));
    router.Add("GET", "/api/v2/users/", Named("users"));
    Request with_slash = Req("GET", "/api/v2/teams/");
    EXPECT_EQ(Route(router, with_slash), "list");
    Request without = Req("GET", "/api/v2/users");
    EXPECT_EQ(Route(router, without), "users");
    Request double_slash = Req("GET", "/api/v2/teams//");
    EXPECT_EQ(Route(router, double_slash), "");
}

TEST(RouterTest, RootPath) {
    Router router;
    router.Add("GET", "/", Named("root"));
    Request req = Req("GET", "/");
    EXPECT_EQ(Route(router, req), "root");
    Request other = Req("GET", "/x");
    EXPECT_EQ(Route(router, other), "");
}

TEST(RouterTest, SegmentsArePercentDecodedAfterSplitting) {
    Router router;
    router.Add("GET", "/files/{name}", Named("file"));
    router.Add("GET", "/caf\xC3\xA9", Named("cafe"));
    Request slash = Req("GET", "/files/a%2Fb%20c+d");
    EXPECT_EQ(Route(router, slash), "file");
    EXPECT_EQ(slash.path_params.at("name"), "a/b c+d");
    Request literal = Req("GET", "/caf%C3%a9");
    EXPECT_EQ(Route(router, literal), "cafe");
}

TEST(RouterTest, InvalidPercentEncodingMatchesNothing) {
    Router router;
    router.Add("GET", "/files/{name}", Named("file"));
    for (const char* target : {"/files/%zz", "/files/abc%2", "/files/%"}) {
        Request req = Req("GET", target);
        const Router::Match match = router.Find(req);
        EXPECT_EQ(match.handler, nullptr) << target;
        EXPECT_FALSE(match.path_exists) << target;
    }
}

TEST(RouterTest, QueryStringIsNotPartOfThePath) {
    Router router;
    router.Add("GET", "/teams/{id}", Named("team"));
    Request req = Req("GET", "/teams/5?expand=members&x=/y");
    EXPECT_EQ(Route(router, req), "team");
    EXPECT_EQ(req.path_params.at("id"), "5");
}

TEST(RouterTest, EmptySegmentDoesNotMatchAParameter) {
    Router router;
    router.Add("GET", "/teams/{id}/members", Named("members"));
    Request req = Req("GET", "/teams//members");
    EXPECT_EQ(Route(router, req), "");
}

TEST(RouterTest, MatchesOnDecodedPathWhenThereIsNoTarget) {
    Router router;
    router.Add("GET", "/files/{name}", Named("file"));
    Request req;
    req.method = "GET";
    req.path = "/files/100%";  // already decoded: not decoded again
    EXPECT_EQ(Route(router, req), "file");
    EXPECT_EQ(req.path_params.at("name"), "100%");
}

TEST(RouterTest, FindClearsStaleMatchData) {
    Router router;
    router.Add("GET", "/teams/{id}", Named("team"));
    Request req = Req("GET", "/teams/1");
    ASSERT_EQ(Route(router, req), "team");
    req.target = "/nothing";
    EXPECT_EQ(Route(router, req), "");
    EXPECT_TRUE(req.path_params.empty());
    EXPECT_EQ(req.route, "");
}

TEST(RouterTest, RejectsMalformedAndDuplicateRoutes) {
    Router router;
    router.Add("GET", "/teams/{id}", Named("team"));
    EXPECT_THROW(router.Add("GET", "teams", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/a//b", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/a/{b", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/a/x{b}", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/a/{b}/{b}", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/teams/{other}", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/teams/{id}/", Named("x")), std::invalid_argument);
    EXPECT_THROW(router.Add("GET", "/b", Handler{}), std::invalid_argument);
    // The failed additions left the router as it was.
    Request req = Req("GET", "/teams/3");
    EXPECT_EQ(Route(router, req), "team");
}

TEST(RouterTest, MovedRouterKeepsItsRoutes) {
    Router router;
    router.Add("GET", "/x", Named("x"));
    Router moved(std::move(router));
    Request req = Req("GET", "/x");
    EXPECT_EQ(Route(moved, req), "x");
    Router assigned;
    assigned = std::move(moved);
    Request again = Req("GET", "/x");
    EXPECT_EQ(Route(assigned, again), "x");
}

}  // namespace
}  // namespace switchboard::http_server

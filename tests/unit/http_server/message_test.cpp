#include "http_server/message.hpp"

#include <gtest/gtest.h>

namespace switchboard::http_server {
namespace {

TEST(RequestTest, HeaderLooksUpByName) {
    Request req;
    req.headers = {{"content-type", "application/json"}, {"x-trace", "a"}, {"x-trace", "b"}};
    EXPECT_EQ(req.Header("content-type"), "application/json");
    EXPECT_EQ(req.Header("x-trace"), "a");  // the first one
    EXPECT_EQ(req.Header("Content-Type"), "application/json");
    EXPECT_FALSE(req.Header("authorization").has_value());
}

TEST(RequestTest, QueryReturnsTheFirstValue) {
    Request req;
    req.query = {{"page", "2"}, {"tag", "a"}, {"tag", "b"}, {"empty", ""}};
    EXPECT_EQ(req.Query("page"), "2");
    EXPECT_EQ(req.Query("tag"), "a");
    EXPECT_EQ(req.Query("empty"), "");
    EXPECT_FALSE(req.Query("missing").has_value());
    EXPECT_FALSE(req.Query("Page").has_value());  // keys are case-sensitive
}

TEST(RequestTest, QueryAllReturnsEveryValueInOrder) {
    Request req;
    req.query = {{"tag", "a"}, {"page", "2"}, {"tag", "b"}, {"ids[]", "1"}, {"ids[]", "2"}};
    EXPECT_EQ(req.QueryAll("tag"), (std::vector<std::string_view>{"a", "b"}));
    EXPECT_EQ(req.QueryAll("ids[]"), (std::vector<std::string_view>{"1", "2"}));
    EXPECT_TRUE(req.QueryAll("missing").empty());
}

TEST(ResponseTest, FactoriesSetStatusAndContentType) {
    const Response json = Response::Json(201, "{}");
    EXPECT_EQ(json.status, 201);
    EXPECT_EQ(json.content_type, "application/json");
    EXPECT_EQ(json.body, "{}");
    const Response text = Response::Text(404, "no");
    EXPECT_EQ(text.status, 404);
    EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
}

}  // namespace
}  // namespace switchboard::http_server

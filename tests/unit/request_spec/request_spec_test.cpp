#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "request_spec/request_spec.hpp"

namespace switchboard::request_spec {
namespace {

namespace json = boost::json;

TEST(Truthy, FollowsMakeRules) {
    for (const char* falsy : {"false", "null", "0", "\"\"", "\"false\"", "\"0\""}) {
        EXPECT_FALSE(Truthy(json::parse(falsy))) << falsy;
    }
    for (const char* truthy : {"true", "1", "-2.5", "\"ok\"", "[]", "{}"})
        EXPECT_TRUE(Truthy(json::parse(truthy))) << truthy;
}

TEST(DefaultErrorMessage, ByStatus) {
    EXPECT_EQ(DefaultErrorMessage(429), "Third party API limit likely exceeded");
    EXPECT_EQ(DefaultErrorMessage(503), "Service is temporarily unavailable.");
    EXPECT_EQ(DefaultErrorMessage(404), "Status Code Error: 404");
}

}  // namespace
}  // namespace switchboard::request_spec

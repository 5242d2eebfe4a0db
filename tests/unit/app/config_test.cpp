#include "app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace switchboard::app {
namespace {

TEST(Config, Defaults) {
    auto c = ResolveConfig({});
    ASSERT_TRUE(c) << c.error().detail;
    EXPECT_EQ(c->listen_host, "127.0.0.1");
    EXPECT_EQ(c->listen_port, 8080);
    EXPECT_EQ(c->data_dir, "./data");
    EXPECT_EQ(c->database, "sqlite:./data/switchboard.db");
    EXPECT_EQ(c->public_url, "http://127.0.0.1:8080");
    EXPECT_EQ(c->master_key_file, "./data/master.key");
    EXPECT_FALSE(c->allow_private_network);
}

TEST(Config, FlagOrEnvBeatsFileBeatsDefault) {
    testing::TempDir dir;
    const std::string path = dir.file("sb.conf");
    std::ofstream(path) << "# comment\nlisten = \"0.0.0.0:9000\"\ndata_dir = '/srv/sb'\nlog-level = warn\n";
    RawSettings raw;
    raw.config_file = path;
    auto c = ResolveConfig(raw);
    ASSERT_TRUE(c) << c.error().detail;
    EXPECT_EQ(c->listen_host, "0.0.0.0");
    EXPECT_EQ(c->listen_port, 9000);
    EXPECT_EQ(c->data_dir, "/srv/sb");
    EXPECT_EQ(c->database, "sqlite:/srv/sb/switchboard.db");
    EXPECT_EQ(c->log_level, "warn");
    raw.listen = "[::1]:7000";  // what CLI11 fills from the flag or SWITCHBOARD_LISTEN
    c = ResolveConfig(raw);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->listen_host, "::1");
    EXPECT_EQ(c->listen_port, 7000);
    EXPECT_EQ(c->public_url, "http://[::1]:7000");
}

RawSettings With(std::optional<std::string> RawSettings::*field, const char* value) {
    RawSettings raw;
    raw.*field = value;
    return raw;
}

TEST(Config, InvalidValuesNameTheSetting) {
    struct Case {
        RawSettings raw;
        std::string needle;
    };
    std::vector<Case> cases;
    cases.push_back({With(&RawSettings::listen, "nope"), "--listen"});
    cases.push_back({With(&RawSettings::listen, "127.0.0.1:99999"), "--listen"});
    cases.push_back({With(&RawSettings::database, "mysql://x"), "--database"});
    cases.push_back({With(&RawSettings::database, "sqlite:"), "--database"});
    cases.push_back({With(&RawSettings::public_url, "ftp://x"), "--public-url"});
    cases.push_back({With(&RawSettings::apps_dir, "/definitely/not/here"), "--apps-dir"});
    cases.push_back({With(&RawSettings::allow_private_network, "maybe"), "--allow-private-network"});
    cases.push_back({With(&RawSettings::log_level, "loud"), "--log-level"});
    cases.push_back({With(&RawSettings::oauth_clients, "/definitely/not/here.json"), "--oauth-clients"});
    cases.push_back({With(&RawSettings::config_file, "/definitely/not/here.conf"), "--config"});
    for (const auto& c : cases) {
        auto r = ResolveConfig(c.raw);
        ASSERT_FALSE(r) << c.needle;
        EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
        EXPECT_NE(r.error().detail.find(c.needle), std::string::npos) << r.error().detail;
    }
}

TEST(Config, UnknownKeyInFileIsAnError) {
    testing::TempDir dir;
    const std::string path = dir.file("sb.conf");
    std::ofstream(path) << "listen = 127.0.0.1:1\nlisten_port = 3\n";
    RawSettings raw;
    raw.config_file = path;
    auto r = ResolveConfig(raw);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("listen-port"), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find(":2"), std::string::npos) << r.error().detail;
}

}  // namespace
}  // namespace switchboard::app

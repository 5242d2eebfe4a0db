// Two `switchboard serve` processes on one PostgreSQL share the execution queue: 1,000 runs queued through
// both nodes each run exactly once (the upstream sees every execution id once), both nodes take part, and
// every execution is recorded as a success after one attempt.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "http_server/server.hpp"
#include "support/http.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class CountingUpstream {
  public:
    CountingUpstream() {
        http_server::Router router;
        router.Add("POST", "/v1/seen", [this](http_server::Request& req) {
            std::lock_guard lock(mu_);
            ++seen_[std::string(req.Query("exec").value_or(""))];
            return http_server::Response::Json(200, R"({"ok":true})");
        });
        http_server::ServerOptions opts;
        opts.port = 0;
        opts.worker_threads = 8;
        opts.io_threads = 1;
        server_ = std::make_unique<http_server::Server>(
            opts, std::move(router), [](const core::Error& e) { return http_server::Response::Json(404, e.message); },
            nullptr);
        if (!server_->Start()) throw std::runtime_error("upstream did not start");
    }
    ~CountingUpstream() { server_->Stop(); }
    int port() const { return server_->port(); }
    std::map<std::string, int> Seen() {
        std::lock_guard lock(mu_);
        return seen_;
    }

  private:
    std::mutex mu_;
    std::map<std::string, int> seen_;
    std::unique_ptr<http_server::Server> server_;
};

TEST(TwoNodesTest, AThousandQueuedExecutionsRunExactlyOnceAcrossTwoNodes) {
    TempDir dir;
    CountingUpstream upstream;
    const std::string db = PostgresServer::Shared().CreateDatabase("queue");
    const std::map<std::string, std::string> env{{"SWITCHBOARD_MASTER_KEY", ""}};
    auto t = RunCommand({SwitchboardBinary(), "token", "create", "--data-dir", dir.file("data"), "--database", db,
                         "--email", "ana@alpha.test", "--team", "Alpha"},
                        env);
    ASSERT_EQ(t.exit_code, 0) << t.err;
    std::string token = t.out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    token = token.substr(token.rfind('\n') + 1);
    const std::vector<std::string> args{
        "--data-dir", dir.file("data"), "--database", db, "--allow-private-network", "--workers", "3"};
    ServerProcess a = StartServer(args, env, dir.path().string());
    ServerProcess b = StartServer(args, env, dir.path().string());
    const std::map<std::string, std::string> auth{{"Authorization", "Token " + token}};
    const auto team =
        json::parse(HttpRequest(a.port, "GET", "/api/v2/teams", "", auth).body).at("teams").at(0).at("id").as_int64();

    const std::string blueprint = R"({"name": "Count", "flow": [
        {"id": 1, "module": "util:SetVariable2", "mapper": {"name": "exec", "value": "{{var.execution.id}}"}},
        {"id": 2, "module": "http:ActionSendData",
         "mapper": {"url": "http://127.0.0.1:)" +
                                  std::to_string(upstream.port()) +
                                  R"(/v1/seen", "method": "post", "qs": [{"name": "exec", "value": "{{1.exec}}"}]}}]})";
    auto created = HttpRequest(a.port, "POST", "/api/v2/scenarios?teamId=" + std::to_string(team),
                               R"({"blueprint":)" + blueprint + "}", auth);
    ASSERT_EQ(created.status, 201) << created.body;
    const auto id = json::parse(created.body).at("scenario").at("id").as_int64();
    const std::string run = "/api/v2/scenarios/" + std::to_string(id) + "/run";

    constexpr int kRuns = 1000;
    std::atomic<int> queued{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
        clients.emplace_back([&, c] {
            for (int i = c; i < kRuns; i += 8) {
                const int port = i % 2 == 0 ? a.port : b.port;
                auto r = HttpRequest(port, "POST", run, R"({"responsive": false})", auth);
                if (r.status == 202) ++queued;
            }
        });
    }
    for (auto& th : clients) th.join();
    ASSERT_EQ(queued.load(), kRuns);

    // Wait (bounded) until every run reached the upstream.
    const auto deadline = std::chrono::steady_clock::now() + 180s;
    while (upstream.Seen().size() < static_cast<std::size_t>(kRuns) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
    }
    std::this_thread::sleep_for(1s);  // a duplicate would arrive now
    const auto seen = upstream.Seen();
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRuns));
    int duplicates = 0;
    for (const auto& [exec, n] : seen) duplicates += n > 1 ? 1 : 0;
    EXPECT_EQ(duplicates, 0);

    // Every execution: success, one attempt; both nodes ran some.
    auto logs =
        HttpRequest(a.port, "GET", "/api/v2/scenarios/" + std::to_string(id) + "/logs?pg[limit]=2000", "", auth);
    ASSERT_EQ(logs.status, 200);
    const json::value doc = json::parse(logs.body);
    const auto& entries = doc.at("scenarioLogs").as_array();
    EXPECT_EQ(entries.size(), static_cast<std::size_t>(kRuns));
    std::set<std::string> nodes;
    int not_success = 0, retried = 0;
    for (const auto& e : entries) {
        if (e.at("status").as_string() != "success") ++not_success;
        if (e.at("attempts").as_int64() != 1) ++retried;
        if (e.at("node").is_string()) nodes.insert(std::string(e.at("node").as_string()));
    }
    EXPECT_EQ(not_success, 0);
    EXPECT_EQ(retried, 0);
    EXPECT_EQ(nodes.size(), 2u) << "both nodes should have claimed executions";
}

}  // namespace
}  // namespace switchboard::testing

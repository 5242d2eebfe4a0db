// The server over real TCP on 127.0.0.1 (or ::1), port 0, driven by a raw socket client.
#include "http_server/server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/cooperative.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "support/temp_dir.hpp"
#include "unit/http_server/raw_client.hpp"

namespace switchboard::http_server {
namespace {

using namespace std::chrono_literals;
using switchboard::testing::ConnectError;
using switchboard::testing::RawClient;
using switchboard::testing::RawResponse;

// The codes the server itself produces; the API layer's real mapping lives elsewhere.
int StatusOf(core::Errc code) {
    if (code == core::Errc::kInvalidArgument) return 400;
    if (code == core::Errc::kNotFound) return 404;
    if (code == core::Errc::kPayloadTooLarge) return 413;
    return 500;
}

// Stands in for the API layer's error body.
Response TestErrorBody(const core::Error& error) {
    return Response::Json(StatusOf(error.code), R"({"code":")" + std::string(core::ErrcName(error.code)) +
                                                    R"(","message":")" + error.message + R"("})");
}

std::string Get(const std::string& target, const std::string& extra_headers = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

std::string Post(const std::string& target, const std::string& body, const std::string& extra_headers = "") {
    return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           extra_headers + "\r\n" + body;
}

template <class Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// Declared after a std::async future that waits on the server: stops the server first on every exit path
// (including a failed ASSERT), so the future's destructor cannot block forever.
class StopOnExit {
  public:
    explicit StopOnExit(Server& server) : server_(server) {}
    StopOnExit(const StopOnExit&) = delete;
    StopOnExit& operator=(const StopOnExit&) = delete;
    ~StopOnExit() { server_.Stop(); }

  private:
    Server& server_;
};

Router DefaultRouter() {
    Router router;
    router.Add("GET", "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router.Add("GET", "/teams/{teamId}/members/{userId}", [](Request& req) {
        return Response::Text(200, req.path_params.at("teamId") + "|" + req.path_params.at("userId"));
    });
    router.Add("GET", "/query", [](Request& req) {
        std::string out;
        for (const auto& [key, value] : req.query) out += key + "=" + value + "\n";
        return Response::Text(200, out);
    });
    router.Add("POST", "/echo", [](Request& req) {
        Response res = Response::Text(201, req.body);
        res.headers.emplace_back("x-seen-custom", std::string(req.Header("x-custom").value_or("-")));
        res.headers.emplace_back("x-remote", req.remote_address);
        res.headers.emplace_back("x-path", req.path);
        return res;
    });
    router.Add("GET", "/item", [](Request&) { return Response::Text(200, "item"); });
    router.Add("PUT", "/item", [](Request&) { return Response::Text(200, "put"); });
    router.Add("POST", "/throw", [](Request&) -> Response { throw std::runtime_error("boom from handler"); });
    return router;
}

class ServerTest : public ::testing::Test {
  protected:
    static ServerOptions Options() {
        ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        options.io_threads = 2;
        options.worker_threads = 2;
        options.body_limit = 1024;
        options.header_limit = 2048;
        options.header_timeout = 5s;
        options.idle_timeout = 5s;
        options.drain_timeout = 5s;
        return options;
    }

    void StartServer(Router router, ServerOptions options = Options(), ErrorResponder responder = TestErrorBody) {
        server_ = std::make_unique<Server>(std::move(options), std::move(router), std::move(responder),
                                           [this](const RequestRecord& record) {
                                               {
                                                   std::lock_guard lock(records_mutex_);
                                                   records_.push_back(record);
                                               }
                                               records_changed_.notify_all();
                                           });
        const auto started = server_->Start();
        ASSERT_TRUE(started.has_value()) << started.error().detail;
        ASSERT_NE(server_->port(), 0);
    }

    std::optional<RawClient> Connect(std::chrono::milliseconds read_timeout = 5s) {
        return RawClient::Connect(server_->port(), "127.0.0.1", read_timeout);
    }

    // The observer runs after the response is written, so the client may see the response first.
    std::vector<RequestRecord> WaitForRecords(std::size_t count) {
        std::unique_lock lock(records_mutex_);
        records_changed_.wait_for(lock, 5s, [&] { return records_.size() >= count; });
        return records_;
    }

    std::vector<RequestRecord> Records() {
        std::lock_guard lock(records_mutex_);
        return records_;
    }

    std::mutex records_mutex_;
    std::condition_variable records_changed_;
    std::vector<RequestRecord> records_;
    std::unique_ptr<Server> server_;  // last: destroyed (stopped) before the observer's state
};

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneSocket) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hello")));
    const auto first = client->ReadResponse();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(first->body, "hello");
    EXPECT_EQ(first->Header("server"), "switchboard");
    EXPECT_EQ(first->Header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(first->Header("content-length"), "5");
    EXPECT_NE(first->Header("connection"), "close");

    ASSERT_TRUE(client->Send(Get("/teams/7/members/42")));
    const auto second = client->ReadResponse();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 200);
    EXPECT_EQ(second->body, "7|42");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/teams/1/members/2") + Get("/hello") + Get("/teams/3/members/4")));
    for (const char* expected : {"1|2", "hello", "3|4"}) {
        const auto res = client->ReadResponse();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->body, expected);
    }
}

TEST_F(ServerTest, PathParametersArePercentDecoded) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/teams/a%20b/members/x%2Fy+z/")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "a b|x/y+z");
}

TEST_F(ServerTest, CharactersClientsForgetToEncodeAreAccepted) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/teams/a[1]|\"/members/caf\xC3\xA9")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "a[1]|\"|caf\xC3\xA9");
}

TEST_F(ServerTest, QueryIsDecodedInOrderAndPlusStaysPlus) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/query?q=a%20b&q=c+d&flag&ids[]=1&e=%26%3D")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "q=a b\nq=c+d\nflag=\nids[]=1\ne=&=\n");
}

TEST_F(ServerTest, HandlerSeesBodyLowerCasedHeadersAndRemoteAddress) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Post("/echo", "hello world", "X-CUSTOM: Value1\r\n")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->body, "hello world");
    EXPECT_EQ(res->Header("x-seen-custom"), "Value1");
    EXPECT_EQ(res->Header("x-remote"), "127.0.0.1");
    EXPECT_EQ(res->Header("x-path"), "/echo");
}

TEST_F(ServerTest, UnknownPathGetsTheErrorResponderBodyAnd404) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/nope")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(res->Header("content-type"), "application/json");
    EXPECT_EQ(res->body, R"({"code":"not_found","message":"Not found"})");
    // The connection stays usable.
    ASSERT_TRUE(client->Send(Get("/hello")));
    const auto next = client->ReadResponse();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);

    const auto records = WaitForRecords(2);
    ASSERT_GE(records.size(), 1u);
    EXPECT_EQ(records[0].status, 404);
    EXPECT_EQ(records[0].route, "");
    EXPECT_EQ(records[0].path, "/nope");
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send("DELETE /item HTTP/1.1\r\nHost: test\r\n\r\n"));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    EXPECT_EQ(res->Header("allow"), "GET, PUT");
    EXPECT_EQ(res->body, R"({"code":"method_not_allowed","message":"Method not allowed"})");
}

TEST_F(ServerTest, BodyOverTheLimitIs413AndTheConnectionCloses) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Post("/echo", std::string(2048, 'x'))));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_EQ(res->body, R"({"code":"payload_too_large","message":"Payload too large"})");
    EXPECT_EQ(res->Header("connection"), "close");
    EXPECT_TRUE(client->ServerClosed());
    const auto records = WaitForRecords(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].status, 413);
    EXPECT_EQ(records[0].method, "POST");
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    std::string request = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(512, 'y') + "\r\n";
    request += "0\r\n\r\n";
    ASSERT_TRUE(client->Send(request));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_TRUE(client->ServerClosed());
}

TEST_F(ServerTest, ChunkedBodyWithinTheLimitReachesTheHandler) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->body, "abcde");
}

TEST_F(ServerTest, MalformedRequestLineIs400AndTheConnectionCloses) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send("THIS IS NOT HTTP\r\n\r\n"));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_EQ(res->body, R"({"code":"invalid_argument","message":"Invalid argument"})");
    EXPECT_TRUE(client->ServerClosed());
}

TEST_F(ServerTest, HeaderOverTheLimitIs400) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hello", "X-Big: " + std::string(4000, 'b') + "\r\n")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_TRUE(client->ServerClosed());
}

TEST_F(ServerTest, TargetThatIsNotOriginFormIs400) {
    StartServer(DefaultRouter());
    for (const char* target : {"http://example.com/hello", "/hello%zz"}) {
        auto client = Connect();
        ASSERT_TRUE(client);
        ASSERT_TRUE(client->Send(Get(target)));
        const auto res = client->ReadResponse();
        ASSERT_TRUE(res) << target;
        EXPECT_EQ(res->status, 400) << target;
        EXPECT_EQ(res->Header("connection"), "close") << target;
        EXPECT_TRUE(client->ServerClosed()) << target;
    }
}

TEST_F(ServerTest, HandlerExceptionIs500AndIsLoggedWithoutTheBody) {
    switchboard::testing::TempDir dir;
    core::AddLogFile(dir.file("server.log"));
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Post("/throw", "body-that-must-not-be-logged")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body, R"({"code":"internal","message":"Internal error"})");
    EXPECT_EQ(res->body.find("boom"), std::string::npos);  // the exception text stays in the log
    // The server (and this connection) keep serving.
    ASSERT_TRUE(client->Send(Get("/hello")));
    const auto next = client->ReadResponse();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);

    server_->Stop();
    const std::string log = switchboard::testing::ReadFile(dir.file("server.log"));
    EXPECT_NE(log.find("boom from handler"), std::string::npos) << log;
    EXPECT_NE(log.find("POST /throw"), std::string::npos) << log;
    EXPECT_EQ(log.find("body-that-must-not-be-logged"), std::string::npos) << log;
}

TEST_F(ServerTest, HandlerRunsOnAWorkerThreadNotAnIoThread) {
    std::mutex mutex;
    std::thread::id handler_thread;
    std::thread::id observer_thread;
    Router router;
    router.Add("GET", "/thread", [&](Request&) {
        std::lock_guard lock(mutex);
        handler_thread = std::this_thread::get_id();
        return Response::Text(200, "ok");
    });
    ServerOptions options = Options();
    options.io_threads = 1;
    options.worker_threads = 1;
    server_ = std::make_unique<Server>(options, std::move(router), TestErrorBody, [&](const RequestRecord&) {
        std::lock_guard lock(mutex);
        observer_thread = std::this_thread::get_id();  // the observer runs on the (single) I/O thread
    });
    ASSERT_TRUE(server_->Start().has_value());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/thread")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    ASSERT_TRUE(WaitUntil([&] {
        std::lock_guard lock(mutex);
        return observer_thread != std::thread::id();
    }));
    std::lock_guard lock(mutex);
    EXPECT_NE(handler_thread, std::thread::id());
    EXPECT_NE(handler_thread, observer_thread);
    EXPECT_NE(handler_thread, std::this_thread::get_id());
}

// Scenario runs have their own threads: runs that wait (for a slow third-party API) fill their pool, not the
// API's, and a route's handler runs on the pool it was added with.
TEST_F(ServerTest, RunRoutesHaveTheirOwnPoolAndCannotStarveTheApi) {
    std::mutex mutex;
    std::condition_variable changed;
    int runs_in_flight = 0;
    bool release = false;
    std::set<std::thread::id> run_threads;
    std::thread::id api_thread;
    Router router;
    router.Add(
        "POST", "/hooks/slow",
        [&](Request&) {
            std::unique_lock lock(mutex);
            run_threads.insert(std::this_thread::get_id());
            ++runs_in_flight;
            changed.notify_all();
            changed.wait_for(lock, 10s, [&] { return release; });
            return Response::Text(200, "run done");
        },
        Pool::kRun);
    router.Add("GET", "/api", [&](Request&) {
        std::lock_guard lock(mutex);
        api_thread = std::this_thread::get_id();
        return Response::Text(200, "api");
    });
    ServerOptions options = Options();
    options.worker_threads = 1;
    options.run_threads = 2;
    StartServer(std::move(router), options);

    // Three runs on three connections: two run at once (the pool's size), the third waits for a thread.
    std::vector<RawClient> runs;
    for (int i = 0; i < 3; ++i) {
        auto client = Connect(10s);
        ASSERT_TRUE(client);
        ASSERT_TRUE(client->Send("POST /hooks/slow HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
        runs.push_back(std::move(*client));
    }
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, 5s, [&] { return runs_in_flight == 2; }));
    }
    std::this_thread::sleep_for(100ms);
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(runs_in_flight, 2);  // no third thread
    }

    // The API still answers at once, on a thread that is not a run thread.
    auto api = Connect();
    ASSERT_TRUE(api);
    ASSERT_TRUE(api->Send(Get("/api")));
    const auto answer = api->ReadResponse();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, "api");
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(run_threads.count(api_thread), 0u);
        release = true;
    }
    changed.notify_all();
    for (RawClient& run : runs) {
        const auto res = run.ReadResponse();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->body, "run done");
    }
    std::lock_guard lock(mutex);
    EXPECT_EQ(runs_in_flight, 3);
    EXPECT_EQ(run_threads.size(), 2u);
}

// cooperative_runs: a run handler is a fiber on the connection's I/O thread, and its waits (core/cooperative.hpp)
// suspend it. One I/O thread: a run that waits for another run's signal would hang if it held the thread.
TEST_F(ServerTest, CooperativeRunsWaitWithoutHoldingTheirThread) {
    std::mutex mutex;
    bool signalled = false;
    core::Wakeup* waiter = nullptr;  // the waiting run's wake-up, once it waits
    std::set<std::thread::id> run_threads;
    std::set<std::thread::id> observer_threads;
    int observed = 0;
    Router router;
    router.Add(
        "POST", "/hooks/wait",
        [&](Request&) {
            if (core::CurrentScheduler() == nullptr) return Response::Text(500, "not a fiber");
            core::Wakeup wake;
            std::unique_lock lock(mutex);
            run_threads.insert(std::this_thread::get_id());
            waiter = &wake;
            wake.Wait(lock, [&] { return signalled; });
            waiter = nullptr;
            return Response::Text(200, "woken");
        },
        Pool::kRun);
    router.Add(
        "POST", "/hooks/signal",
        [&](Request&) {
            std::lock_guard lock(mutex);
            run_threads.insert(std::this_thread::get_id());
            if (waiter == nullptr) return Response::Text(409, "nobody waits");
            signalled = true;
            waiter->Notify();
            return Response::Text(200, "signalled");
        },
        Pool::kRun);
    ServerOptions options = Options();
    options.io_threads = 1;
    options.run_threads = 1;
    options.cooperative_runs = true;
    server_ = std::make_unique<Server>(options, std::move(router), TestErrorBody, [&](const RequestRecord&) {
        std::lock_guard lock(mutex);
        observer_threads.insert(std::this_thread::get_id());  // the I/O thread
        ++observed;
    });
    ASSERT_TRUE(server_->Start().has_value());
    StopOnExit stop(*server_);  // before the locals the handlers use go away

    auto first = Connect();
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->Send(Post("/hooks/wait", "")));
    ASSERT_TRUE(WaitUntil([&] {
        std::lock_guard lock(mutex);
        return waiter != nullptr;
    }));
    auto second = Connect();
    ASSERT_TRUE(second);
    ASSERT_TRUE(second->Send(Post("/hooks/signal", "")));
    const auto signalled_reply = second->ReadResponse();
    ASSERT_TRUE(signalled_reply);
    EXPECT_EQ(signalled_reply->body, "signalled");
    const auto woken = first->ReadResponse();
    ASSERT_TRUE(woken);
    EXPECT_EQ(woken->status, 200);
    EXPECT_EQ(woken->body, "woken");
    ASSERT_TRUE(WaitUntil([&] {
        std::lock_guard lock(mutex);
        return observed == 2;  // the observer runs after the response is written
    }));
    std::lock_guard lock(mutex);
    EXPECT_EQ(run_threads.size(), 1u);  // both ran on the one I/O thread
    EXPECT_EQ(run_threads, observer_threads);
}

// A fiber's socket wait, sleep and offloaded work, and their results.
TEST_F(ServerTest, CooperativeRunsWaitForSocketsSleepAndOffload) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::mutex mutex;
    std::thread::id fiber_thread;
    std::thread::id offload_thread;
    Router router;
    router.Add(
        "GET", "/hooks/socket",
        [&](Request&) {
            // Nothing to read yet: the wait times out.
            const int early = core::WaitFd(fds[0], POLLIN, 30ms);
            // The test writes once it sees this request wait again.
            const int ready = core::WaitFd(fds[0], POLLIN, 5000ms);
            char byte = 0;
            const auto n = ::read(fds[0], &byte, 1);
            return Response::Text(
                200, std::to_string(early) + "," + std::to_string(ready) + "," + std::string(n == 1 ? 1 : 0, byte));
        },
        Pool::kRun);
    router.Add(
        "GET", "/hooks/offload",
        [&](Request&) {
            {
                std::lock_guard lock(mutex);
                fiber_thread = std::this_thread::get_id();
            }
            const auto before = std::chrono::steady_clock::now();
            core::SleepFor(20ms);
            const bool slept = std::chrono::steady_clock::now() - before >= 20ms;
            core::RunBlocking([&] {
                std::lock_guard lock(mutex);
                offload_thread = std::this_thread::get_id();
            });
            std::string thrown;
            try {
                core::RunBlocking([] { throw std::runtime_error("from the pool"); });
            } catch (const std::runtime_error& e) {
                thrown = e.what();
            }
            return Response::Text(200, std::string(slept ? "slept" : "woke early") + "," + thrown);
        },
        Pool::kRun);
    ServerOptions options = Options();
    options.io_threads = 1;
    options.cooperative_runs = true;
    StartServer(std::move(router), options);

    auto offload = Connect();
    ASSERT_TRUE(offload);
    ASSERT_TRUE(offload->Send(Get("/hooks/offload")));
    const auto offloaded = offload->ReadResponse();
    ASSERT_TRUE(offloaded);
    EXPECT_EQ(offloaded->body, "slept,from the pool");
    {
        std::lock_guard lock(mutex);
        EXPECT_NE(fiber_thread, std::thread::id());
        EXPECT_NE(offload_thread, std::thread::id());
        EXPECT_NE(offload_thread, fiber_thread);
    }

    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hooks/socket")));
    std::this_thread::sleep_for(200ms);  // past the 30 ms wait, into the second
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "0,1,x");
    ::close(fds[0]);
    ::close(fds[1]);
}

// Without cooperative_runs (the default), and for API routes always, handlers run on the pools.
TEST_F(ServerTest, OnlyRunRoutesBecomeFibers) {
    Router router;
    router.Add("GET", "/api",
               [](Request&) { return Response::Text(200, core::CurrentScheduler() == nullptr ? "thread" : "fiber"); });
    router.Add(
        "GET", "/hooks/run",
        [](Request&) { return Response::Text(200, core::CurrentScheduler() == nullptr ? "thread" : "fiber"); },
        Pool::kRun);
    ServerOptions options = Options();
    options.cooperative_runs = true;
    StartServer(std::move(router), options);
    auto client = Connect();
    ASSERT_TRUE(client);
    for (const auto& [target, expected] : std::vector<std::pair<std::string, std::string>>{
             {"/api", "thread"}, {"/hooks/run", "fiber"}, {"/hooks/run", "fiber"}}) {
        ASSERT_TRUE(client->Send(Get(target)));
        const auto res = client->ReadResponse();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->body, expected) << target;
    }
}

TEST_F(ServerTest, HeaderTimeoutClosesASilentConnection) {
    ServerOptions options = Options();
    options.header_timeout = 200ms;
    options.idle_timeout = 10s;
    StartServer(DefaultRouter(), options);
    // The client gives up after 3 s: only the 200 ms header timeout can close these in time.
    auto silent = Connect(3s);
    ASSERT_TRUE(silent);
    auto partial = Connect(3s);
    ASSERT_TRUE(partial);
    ASSERT_TRUE(partial->Send("GET /hello HTTP/1.1\r\nHost: te"));
    EXPECT_TRUE(silent->ServerClosed());
    EXPECT_TRUE(partial->ServerClosed());
    // Nothing was answered.
    EXPECT_TRUE(Records().empty());
}

TEST_F(ServerTest, IdleTimeoutClosesAKeptAliveConnection) {
    ServerOptions options = Options();
    options.header_timeout = 10s;
    options.idle_timeout = 200ms;
    StartServer(DefaultRouter(), options);
    auto client = Connect(3s);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hello")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_TRUE(client->ServerClosed());
}

TEST_F(ServerTest, Http10ClosesUnlessAskedToKeepAlive) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send("GET /hello HTTP/1.0\r\n\r\n"));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello");
    EXPECT_TRUE(client->ServerClosed());

    auto kept = Connect();
    ASSERT_TRUE(kept);
    ASSERT_TRUE(kept->Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const auto first = kept->ReadResponse();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->Header("connection"), "keep-alive");
    ASSERT_TRUE(kept->Send("GET /hello HTTP/1.0\r\n\r\n"));
    const auto second = kept->ReadResponse();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 200);
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hello", "Connection: close\r\n")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->Header("connection"), "close");
    EXPECT_TRUE(client->ServerClosed());
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    const auto interim = client->ReadResponse();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(client->Send("hello"));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->body, "hello");
}

TEST_F(ServerTest, ObserverGetsOneRecordPerResponse) {
    StartServer(DefaultRouter());
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/teams/7/members/42?x=1")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    const auto records = WaitForRecords(1);
    ASSERT_EQ(records.size(), 1u);
    const RequestRecord& record = records[0];
    EXPECT_EQ(record.method, "GET");
    EXPECT_EQ(record.route, "/teams/{teamId}/members/{userId}");
    EXPECT_EQ(record.path, "/teams/7/members/42");
    EXPECT_EQ(record.status, 200);
    EXPECT_EQ(record.response_bytes, res->wire_bytes);
    EXPECT_GE(record.seconds, 0.0);
    EXPECT_LT(record.seconds, 5.0);
    EXPECT_EQ(record.remote_address, "127.0.0.1");
}

TEST_F(ServerTest, UnsafeHandlerHeadersAreDroppedAndNoContentHasNoBody) {
    Router router;
    router.Add("GET", "/headers", [](Request&) {
        Response res = Response::Text(200, "abc");
        res.headers = {{"x-ok", "1"},
                       {"x-bad", "a\r\nx-injected: 1"},
                       {"content-length", "999"},
                       {"bad name", "v"},
                       {"connection", "close"}};
        return res;
    });
    router.Add("DELETE", "/thing", [](Request&) { return Response::Text(204, "ignored"); });
    StartServer(std::move(router));
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/headers")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->Header("x-ok"), "1");
    EXPECT_FALSE(res->Header("x-bad"));
    EXPECT_FALSE(res->Header("x-injected"));
    EXPECT_FALSE(res->Header("bad name"));
    EXPECT_EQ(res->Header("content-length"), "3");
    EXPECT_EQ(res->body, "abc");

    // The handler's "connection: close" was dropped, so the connection is still open.
    ASSERT_TRUE(client->Send("DELETE /thing HTTP/1.1\r\nHost: test\r\n\r\n" + Get("/headers")));
    const auto no_content = client->ReadResponse();
    ASSERT_TRUE(no_content);
    EXPECT_EQ(no_content->status, 204);
    EXPECT_EQ(no_content->body, "");
    const auto after = client->ReadResponse();  // framing intact after the 204
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200);
    EXPECT_EQ(after->body, "abc");
}

TEST_F(ServerTest, InvalidHandlerStatusBecomes500) {
    Router router;
    router.Add("GET", "/weird", [](Request&) { return Response::Text(42, "?"); });
    StartServer(std::move(router));
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/weird")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body, R"({"code":"internal","message":"Internal error"})");
}

TEST_F(ServerTest, FailingErrorResponderFallsBackToPlain500) {
    StartServer(DefaultRouter(), Options(),
                [](const core::Error&) -> Response { throw std::runtime_error("responder broke"); });
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/nope")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body, "Internal error");
}

TEST_F(ServerTest, RequiresAnErrorResponder) {
    EXPECT_THROW({ Server server(Options(), Router(), ErrorResponder{}, RequestObserver{}); }, std::invalid_argument);
}

TEST_F(ServerTest, GracefulShutdownFinishesTheRequestInFlight) {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    Router router;
    router.Add("GET", "/slow", [&](Request&) {
        started = true;
        std::this_thread::sleep_for(300ms);
        finished = true;
        return Response::Text(200, "slow done");
    });
    StartServer(std::move(router));
    const std::uint16_t port = server_->port();
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/slow")));
    ASSERT_TRUE(WaitUntil([&] { return started.load(); }));

    server_->Stop();
    EXPECT_TRUE(finished);  // Stop() waited for the handler
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "slow done");
    EXPECT_EQ(res->Header("connection"), "close");
    EXPECT_TRUE(client->ServerClosed());
    EXPECT_EQ(ConnectError(port), ECONNREFUSED);
}

TEST_F(ServerTest, ShutdownRefusesNewConnectionsAndClosesIdleOnesWhileDraining) {
    std::atomic<bool> started{false};
    std::promise<void> gate;
    std::shared_future<void> gate_open = gate.get_future().share();
    Router router = DefaultRouter();
    router.Add("GET", "/gated", [&](Request&) {
        started = true;
        gate_open.wait_for(10s);
        return Response::Text(200, "gated done");
    });
    ServerOptions options = Options();
    options.drain_timeout = 30s;  // far longer than the test: only the handler ends the drain
    StartServer(std::move(router), options);
    const std::uint16_t port = server_->port();

    auto idle = Connect(3s);
    ASSERT_TRUE(idle);
    ASSERT_TRUE(idle->Send(Get("/hello")));
    ASSERT_TRUE(idle->ReadResponse());  // now idle on a kept-alive connection
    auto busy = Connect();
    ASSERT_TRUE(busy);
    ASSERT_TRUE(busy->Send(Get("/gated")));
    ASSERT_TRUE(WaitUntil([&] { return started.load(); }));

    auto stopping = std::async(std::launch::async, [&] { server_->Stop(); });
    StopOnExit stop_on_exit(*server_);
    EXPECT_TRUE(idle->ServerClosed());  // well before the 30 s drain timeout
    EXPECT_TRUE(WaitUntil([&] { return ConnectError(port) == ECONNREFUSED; }));
    EXPECT_EQ(stopping.wait_for(0s), std::future_status::timeout);  // still draining the gated request

    gate.set_value();
    const auto res = busy->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "gated done");
    EXPECT_EQ(res->Header("connection"), "close");
    EXPECT_EQ(stopping.wait_for(10s), std::future_status::ready);
}

TEST_F(ServerTest, StopIsIdempotentAndFinal) {
    StartServer(DefaultRouter());
    const std::uint16_t port = server_->port();
    server_->Stop();
    server_->Stop();
    EXPECT_EQ(ConnectError(port), ECONNREFUSED);
    const auto restarted = server_->Start();
    ASSERT_FALSE(restarted.has_value());
    EXPECT_EQ(restarted.error().code, core::Errc::kUnavailable);

    Server never_started(Options(), DefaultRouter(), TestErrorBody, nullptr);
    never_started.Stop();
    EXPECT_FALSE(never_started.Start().has_value());
}

TEST_F(ServerTest, DestructorStopsTheServer) {
    std::uint16_t port = 0;
    {
        Server server(Options(), DefaultRouter(), TestErrorBody, nullptr);
        ASSERT_TRUE(server.Start().has_value());
        port = server.port();
        auto client = RawClient::Connect(port);
        ASSERT_TRUE(client);
        ASSERT_TRUE(client->Send(Get("/hello")));
        ASSERT_TRUE(client->ReadResponse());
    }
    EXPECT_EQ(ConnectError(port), ECONNREFUSED);
}

TEST_F(ServerTest, StartReportsAnAddressThatCannotBeBound) {
    StartServer(DefaultRouter());
    ServerOptions same_port = Options();
    same_port.port = server_->port();
    Server clash(same_port, DefaultRouter(), TestErrorBody, nullptr);
    const auto clashed = clash.Start();
    ASSERT_FALSE(clashed.has_value());
    EXPECT_EQ(clashed.error().code, core::Errc::kUnavailable);
    EXPECT_NE(clashed.error().detail.find(std::to_string(same_port.port)), std::string::npos);

    ServerOptions bad_host = Options();
    bad_host.host = "not-an-address";
    Server nowhere(bad_host, DefaultRouter(), TestErrorBody, nullptr);
    const auto failed = nowhere.Start();
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code, core::Errc::kUnavailable);

    // The first server is unaffected.
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Get("/hello")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, ListensOnIpv6Loopback) {
    ServerOptions options = Options();
    options.host = "::1";
    StartServer(DefaultRouter(), options);
    auto client = RawClient::Connect(server_->port(), "::1");
    ASSERT_TRUE(client) << "connect to [::1] failed, errno " << errno;
    ASSERT_TRUE(client->Send(Post("/echo", "v6")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->Header("x-remote"), "::1");
}

TEST_F(ServerTest, WaitForShutdownSignalReturnsWhenStopIsCalledElsewhere) {
    StartServer(DefaultRouter());
    auto waiting = std::async(std::launch::async, [&] { server_->WaitForShutdownSignal(); });
    StopOnExit stop_on_exit(*server_);
    EXPECT_EQ(waiting.wait_for(100ms), std::future_status::timeout);
    server_->Stop();
    EXPECT_EQ(waiting.wait_for(10s), std::future_status::ready);
}

TEST_F(ServerTest, StopFromAHandlerEndsWaitForShutdownSignal) {
    Router router;
    router.Add("POST", "/shutdown", [this](Request&) {
        server_->Stop();  // must not wait for itself
        return Response::Text(200, "bye");
    });
    StartServer(std::move(router));
    const std::uint16_t port = server_->port();
    auto waiting = std::async(std::launch::async, [&] { server_->WaitForShutdownSignal(); });
    StopOnExit stop_on_exit(*server_);
    auto client = Connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->Send(Post("/shutdown", "")));
    const auto res = client->ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "bye");
    EXPECT_EQ(res->Header("connection"), "close");
    EXPECT_EQ(waiting.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(ConnectError(port), ECONNREFUSED);
}

bool SigtermHandled() {
    struct sigaction current {};
    ::sigaction(SIGTERM, nullptr, &current);
    return current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
}

TEST_F(ServerTest, SigtermEndsWaitForShutdownSignal) {
    ASSERT_FALSE(SigtermHandled());
    StartServer(DefaultRouter());
    const std::uint16_t port = server_->port();
    auto waiting = std::async(std::launch::async, [&] { server_->WaitForShutdownSignal(); });
    StopOnExit stop_on_exit(*server_);
    // Raising before the handler is installed would kill the test process.
    ASSERT_TRUE(WaitUntil(SigtermHandled)) << "WaitForShutdownSignal installed no SIGTERM handler";
    ::raise(SIGTERM);
    EXPECT_EQ(waiting.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(ConnectError(port), ECONNREFUSED);
    EXPECT_FALSE(SigtermHandled());  // the default disposition is back once the server is stopped
}

}  // namespace
}  // namespace switchboard::http_server

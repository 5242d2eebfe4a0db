// The HTTP side of the API without the network: the router lookup over the real routes (api::BuildRouter), the
// connection listing as the API serves it, JSON parse/serialise of that typical response body, and the log
// redaction every request's access line goes through.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "bench_runtime.hpp"
#include "core/log.hpp"
#include "http_server/message.hpp"

namespace {

namespace json = boost::json;
using switchboard::bench::BenchRuntime;
using switchboard::http_server::Request;

// A request as the server hands it to the router: target, decoded path and query (the benchmark's targets need
// no percent-decoding), lower-case header names.
Request MakeRequest(std::string method, const std::string& target, const std::string& token = "") {
    Request req;
    req.method = std::move(method);
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
        std::size_t pos = q + 1;
        while (pos <= target.size()) {
            const std::size_t amp = std::min(target.find('&', pos), target.size());
            const std::string pair = target.substr(pos, amp - pos);
            const auto eq = pair.find('=');
            req.query.emplace_back(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
            pos = amp + 1;
        }
    }
    if (!token.empty()) req.headers.emplace_back("authorization", "Token " + token);
    req.remote_address = "127.0.0.1";
    return req;
}

struct RouteCase {
    const char* method;
    const char* target;
};
// The webhook (the hot one), a listing, a nested resource, an action, and a miss (404).
const std::vector<RouteCase> kRoutes{
    {"POST", "/hooks/4f1c2a9be07d4c8e9a1b3c5d7e9f1a2b"},
    {"GET", "/api/v2/connections?teamId=1"},
    {"GET", "/api/v2/scenarios/17/logs"},
    {"POST", "/api/v2/connections/42/test"},
    {"GET", "/api/v2/no/such/path"},
};

void BM_RouterFind(benchmark::State& state) {
    const auto& router = BenchRuntime::Get().router();
    const RouteCase& c = kRoutes.at(static_cast<std::size_t>(state.range(0)));
    Request req = MakeRequest(c.method, c.target);
    for (auto _ : state) {
        auto match = router.Find(req);
        benchmark::DoNotOptimize(match.handler);
    }
    state.SetLabel(std::string(c.method) + " " + c.target);
}
BENCHMARK(BM_RouterFind)->DenseRange(0, static_cast<int>(kRoutes.size()) - 1);

// GET /api/v2/connections?teamId=… (first page: 100 of 10,000, the default sort by name) through the router and
// the handler: authentication, authorization, the SQL, usage counts and the JSON body. No network.
std::string ListTarget() {
    return "/api/v2/connections?teamId=" + std::to_string(BenchRuntime::Get().LargeTeam().value());
}

void BM_ApiListConnectionsFirstPage(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    const std::string target = ListTarget();
    const auto& router = b.router();
    for (auto _ : state) {
        Request req = MakeRequest("GET", target, b.token);
        auto match = router.Find(req);
        auto response = (*match.handler)(req);
        if (response.status != 200) state.SkipWithError(("status " + std::to_string(response.status)).c_str());
        benchmark::DoNotOptimize(response.body);
    }
    state.SetLabel("100 of 10000");
}
BENCHMARK(BM_ApiListConnectionsFirstPage)->Unit(benchmark::kMillisecond)->UseRealTime();

// The typical API body: that listing's response (100 connections).
const std::string& ConnectionListBody() {
    static const std::string body = [] {
        auto& b = BenchRuntime::Get();
        Request req = MakeRequest("GET", ListTarget(), b.token);
        auto match = b.router().Find(req);
        auto response = (*match.handler)(req);
        if (response.status != 200) switchboard::bench::Die("listing answered " + std::to_string(response.status));
        return response.body;
    }();
    return body;
}

void BM_JsonParseConnectionList(benchmark::State& state) {
    const std::string& body = ConnectionListBody();
    for (auto _ : state) benchmark::DoNotOptimize(json::parse(body));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.SetLabel(std::to_string(body.size()) + " bytes");
}
BENCHMARK(BM_JsonParseConnectionList);

void BM_JsonSerializeConnectionList(benchmark::State& state) {
    const std::string& body = ConnectionListBody();
    const json::value doc = json::parse(body);
    for (auto _ : state) benchmark::DoNotOptimize(json::serialize(doc));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.SetLabel(std::to_string(body.size()) + " bytes");
}
BENCHMARK(BM_JsonSerializeConnectionList);

// Every log line passes through core::Redact (the redacting sink), one access line per HTTP request: the common
// case has nothing to redact (note `{token}` in the route, which no rule matches: no `:` or `=` follows it).
void BM_RedactAccessLine(benchmark::State& state) {
    const std::string line = "access method=POST route=/hooks/{token} status=200 bytes=123 ms=0.812 remote=127.0.0.1";
    for (auto _ : state) benchmark::DoNotOptimize(switchboard::core::Redact(line));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_RedactAccessLine);

// A line with secrets to mask: an Authorization header and a password form field.
void BM_RedactSecretLine(benchmark::State& state) {
    const std::string line =
        "upstream request POST https://api.example.com/v1/login headers={Authorization: Bearer eyJhbGciOi.abc.def} "
        "body=user=bob&password=hunter2&remember=1";
    for (auto _ : state) benchmark::DoNotOptimize(switchboard::core::Redact(line));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_RedactSecretLine);

}  // namespace

// The database side of a run and of the connection listing, on SQLite as `serve` opens it (WAL,
// synchronous=FULL, one writer): the execution queue (enqueue → claim → finish), the scenario's run outcome, the
// store calls a webhook run makes in order, connection resolution for a run, and listing 10,000 connections.
//
// Timings that include a commit are wall-clock (UseRealTime): a commit waits for fsync, which costs no CPU.
#include <benchmark/benchmark.h>

#include <sqlite3.h>

#include <boost/json.hpp>
#include <string>

#include "bench_runtime.hpp"
#include "store/scenario_store.hpp"

namespace {

namespace json = boost::json;
using switchboard::bench::BenchRuntime;
using switchboard::bench::Die;
namespace store = switchboard::store;

constexpr const char* kHolder = "bench-node";

store::Execution WebhookExecution() {
    auto& b = BenchRuntime::Get();
    store::Execution e;
    e.team_id = b.team;
    e.scenario_id = b.scenario_id;
    e.trigger = "webhook";
    e.input_json = R"({"inputs":{},"bundle":{"item":42}})";
    e.not_before = b.rt().clock.NowMillis();
    return e;
}

// What the workload's run stores when it finishes: three module log entries and the webhook response.
store::ExecutionOutcome WorkloadOutcome() {
    store::ExecutionOutcome o;
    o.status = store::ExecutionStatus::kSuccess;
    o.operations = 3;
    json::array log;
    log.push_back(
        {{"moduleId", 1}, {"module", "gateway:CustomWebHook"}, {"operations", 1}, {"output", R"([{"item":42}])"}});
    log.push_back(
        {{"moduleId", 2},
         {"module", "http:ActionSendData"},
         {"operations", 1},
         {"connectionId", 1},
         {"input", R"({"url":"http://127.0.0.1:9181/v1/items/42","method":"get","parseResponse":true})"},
         {"output",
          R"([{"statusCode":200,"headers":{"content-type":"application/json"},"data":{"id":42,"name":"widget","price":{"amount":1999,"currency":"EUR"},"tags":["a","b"]}}])"},
         {"requests", json::array{{{"method", "GET"},
                                   {"url", "http://127.0.0.1:9181/v1/items/42"},
                                   {"status", 200},
                                   {"elapsedMs", 1},
                                   {"requestHeaders", {{"X-Api-Key", "[redacted]"}}},
                                   {"responseBody", R"({"id":42,"name":"widget"})"}}}}});
    log.push_back({{"moduleId", 3}, {"module", "gateway:WebhookRespond"}, {"operations", 1}});
    o.log_json = json::serialize(log);
    o.result_json =
        R"({"status":200,"headers":[],"body":"{\"item\": {\"id\":42,\"name\":\"widget\",\"price\":{\"amount\":1999,\"currency\":\"EUR\"},\"tags\":[\"a\",\"b\"]}, \"requested\": 42}"})";
    return o;
}

void BM_ExecutionEnqueue(benchmark::State& state) {
    auto& queue = *BenchRuntime::Get().rt().scenario_store;
    const store::Execution e = WebhookExecution();
    for (auto _ : state) {
        auto queued = queue.EnqueueExecution(e);
        if (!queued) state.SkipWithError(queued.error().detail.c_str());
    }
}
BENCHMARK(BM_ExecutionEnqueue)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A queued execution's three writes (enqueue, claim, finish), each its own transaction: what a scheduled run or a
// webhook answered 202 costs (a webhook answered by its run writes once: BM_WebhookRunStoreCalls).
void BM_ExecutionEnqueueClaimFinish(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    auto& queue = *b.rt().scenario_store;
    const store::Execution e = WebhookExecution();
    const store::ExecutionOutcome outcome = WorkloadOutcome();
    for (auto _ : state) {
        auto queued = queue.EnqueueExecution(e);
        auto claimed = queue.ClaimExecution(queued->id, kHolder, b.rt().clock.NowMillis());
        auto finished = queue.FinishExecution(queued->id, kHolder, outcome);
        if (!claimed || !*claimed || !finished || !*finished) state.SkipWithError("claim or finish failed");
    }
    state.SetLabel("3 transactions");
}
BENCHMARK(BM_ExecutionEnqueueClaimFinish)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The scenario's consecutive-error count reset after a success (skipped by the engine when it is already 0).
void BM_ScenarioRecordRunOutcome(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    for (auto _ : state) {
        auto r = b.rt().scenario_store->RecordRunOutcome(b.scenario_id, false, 3, "");
        if (!r) state.SkipWithError(r.error().detail.c_str());
    }
}
BENCHMARK(BM_ScenarioRecordRunOutcome)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Every store call of one webhook run, as Executor::HandleWebhook and Runner make them (the HTTP call and the
// modules left out): the scenario by its hook token, an execution id, the connection (from the resolve cache), and
// the finished run recorded in one durable transaction. The database's share of a request's latency, alone.
void BM_WebhookRunStoreCalls(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    auto& queue = *b.rt().scenario_store;
    const auto scenario = queue.FindScenario(b.scenario_id);
    if (!scenario) Die("scenario: " + scenario.error().detail);
    const std::string hook = scenario->hook_token;
    store::Execution e = WebhookExecution();
    const store::ExecutionOutcome outcome = WorkloadOutcome();
    for (auto _ : state) {
        auto found = queue.FindScenarioByHook(hook);
        auto id = queue.ReserveExecutionId();
        auto connection = b.rt().connections->ResolveForRun(b.team, b.connection);
        bool ok = found && id && connection;
        if (ok) {
            e.id = *id;
            ok = queue.RecordExecution(e, outcome).has_value();
        }
        if (!ok) state.SkipWithError("a store call failed");
    }
    state.SetLabel("1 write transaction + 1 read");
}
BENCHMARK(BM_WebhookRunStoreCalls)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Group commit: N threads each recording finished runs at once, as N concurrent webhooks do. Their transactions
// share COMMITs (and fsyncs), so the time per run falls as N grows; items_per_second is the runs stored per second.
void BM_RecordExecutionConcurrent(benchmark::State& state) {
    auto& queue = *BenchRuntime::Get().rt().scenario_store;
    store::Execution e = WebhookExecution();
    const store::ExecutionOutcome outcome = WorkloadOutcome();
    for (auto _ : state) {
        auto id = queue.ReserveExecutionId();
        if (!id) {
            state.SkipWithError(id.error().detail.c_str());
            break;
        }
        e.id = *id;
        if (auto r = queue.RecordExecution(e, outcome); !r) state.SkipWithError(r.error().detail.c_str());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordExecutionConcurrent)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(8)
    ->Threads(32);

// Resolving the workload's connection for a run without the resolve cache (switched off for the loop): the row read
// by id, its credential set opened (two AEAD decryptions) and parsed.
void BM_ResolveForRun_Uncached(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    auto& cache = b.rt().connections->resolve_cache();
    cache.SetEnabled(false);
    const auto hits = cache.stats().hits;
    for (auto _ : state) {
        auto r = b.rt().connections->ResolveForRun(b.team, b.connection);
        if (!r) state.SkipWithError(r.error().detail.c_str());
        benchmark::DoNotOptimize(r);
    }
    const bool answered = cache.stats().hits != hits;
    cache.SetEnabled(true);
    if (answered) state.SkipWithError("the cache answered while switched off");
}
BENCHMARK(BM_ResolveForRun_Uncached)->Unit(benchmark::kMicrosecond);

// The same resolve answered by the resolve cache, as every run after the first one of an unchanged connection is:
// one lookup and a copy of the opened connection (row, catalog pointers, parsed credential set).
void BM_ResolveForRun_Cached(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    auto& cache = b.rt().connections->resolve_cache();
    // A fresh entry: one left by an earlier benchmark could pass its max age (30 s) during the loop.
    cache.InvalidateAll();
    if (auto first = b.rt().connections->ResolveForRun(b.team, b.connection); !first) Die(first.error().detail);
    const auto before = cache.stats();
    for (auto _ : state) {
        auto r = b.rt().connections->ResolveForRun(b.team, b.connection);
        if (!r) state.SkipWithError(r.error().detail.c_str());
        benchmark::DoNotOptimize(r);
    }
    const auto after = cache.stats();
    // Every iteration must have been a hit, or this measured the uncached path (e.g. an entry past its max age).
    if (after.misses != before.misses) state.SkipWithError("a resolve missed the cache");
    state.counters["hits"] = static_cast<double>(after.hits - before.hits);
}
BENCHMARK(BM_ResolveForRun_Cached)->Unit(benchmark::kMicrosecond);

// Its first step alone: the row by primary key through a pooled reader connection.
void BM_StoreFindConnection(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    for (auto _ : state) benchmark::DoNotOptimize(b.rt().store->FindConnection(b.connection));
}
BENCHMARK(BM_StoreFindConnection)->Unit(benchmark::kMicrosecond);

// The first page (100, by name as the API defaults) of a team's 10,000 connections.
void BM_StoreListConnectionsFirstPage(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    const auto team = b.LargeTeam();
    store::ConnectionQuery query;
    query.sort_by = static_cast<store::ConnectionSort>(state.range(0));
    for (auto _ : state) {
        auto r = b.rt().store->ListConnections(team, query, store::Page{100, 0});
        if (!r || r->size() != 100) state.SkipWithError("listing failed");
    }
    state.SetLabel(state.range(0) == static_cast<int>(store::ConnectionSort::kName) ? "100 of 10000, by name"
                                                                                    : "100 of 10000, by id");
}
BENCHMARK(BM_StoreListConnectionsFirstPage)
    ->Arg(static_cast<int>(store::ConnectionSort::kName))
    ->Arg(static_cast<int>(store::ConnectionSort::kId))
    ->Unit(benchmark::kMillisecond);

// The same through the connection service (authorization, usage counts, views), as the API handler calls it.
void BM_ServiceListConnectionsFirstPage(benchmark::State& state) {
    auto& b = BenchRuntime::Get();
    const auto team = b.LargeTeam();
    for (auto _ : state) {
        auto r = b.rt().connections->List(b.caller, team, store::ConnectionQuery{}, store::Page{100, 0});
        if (!r || r->size() != 100) state.SkipWithError("listing failed");
    }
    state.SetLabel("100 of 10000, by name");
}
BENCHMARK(BM_ServiceListConnectionsFirstPage)->Unit(benchmark::kMillisecond);

// What a commit costs on this disk, outside Switchboard: one ~1 KB row per transaction with synchronous=FULL (as
// today), with synchronous=NORMAL (WAL: durable against a process crash, not against power loss), and 32 rows
// per transaction with FULL (a group commit). Raw sqlite3 on a scratch file in the benchmark's data directory.
void BM_SqliteCommit(benchmark::State& state) {
    const int mode = static_cast<int>(state.range(0));
    const std::string path = BenchRuntime::Get().dir() + "/commit-" + std::to_string(mode) + ".db";
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("sqlite3_open " + path);
    const char* sync = mode == 1 ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    sqlite3_exec(db, sync, nullptr, nullptr, nullptr);
    sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)", nullptr, nullptr, nullptr);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO t (body) VALUES (?)", -1, &insert, nullptr);
    const std::string body(1024, 'x');
    const int rows_per_commit = mode == 2 ? 32 : 1;
    for (auto _ : state) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        for (int i = 0; i < rows_per_commit; ++i) {
            sqlite3_bind_text(insert, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE) state.SkipWithError("insert failed");
            sqlite3_reset(insert);
        }
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_finalize(insert);
    sqlite3_close(db);
    state.SetItemsProcessed(state.iterations() * rows_per_commit);
    state.SetLabel(mode == 0 ? "1 row/commit, FULL" : mode == 1 ? "1 row/commit, NORMAL" : "32 rows/commit, FULL");
}
BENCHMARK(BM_SqliteCommit)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

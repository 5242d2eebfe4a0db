#pragma once
// Executions: the queue in the store, the workers that claim and run them, the scheduler that starts scheduled
// scenarios, webhooks and "Run once". Several processes on one PostgreSQL share the queue: each claims different
// rows (store/scenario_store.hpp), and the scheduler's compare-and-set on next_run_at starts each tick once.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/runner.hpp"
#include "engine/scenario_service.hpp"

namespace switchboard::engine {

struct ExecutorOptions {
    int workers = 2;                                     // threads claiming queued executions
    std::chrono::milliseconds poll{500};                 // how often idle workers look for work of other nodes
    std::chrono::milliseconds scheduler_tick{1000};      // how often due scenarios are looked for
    std::chrono::milliseconds stale_after{15 * 60'000};  // a running execution older than this was abandoned
    std::string node_id;                                 // claim holder name ("" = random)
};

struct WebhookAnswer {
    int status = 202;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body = "Accepted";
    std::string content_type = "text/plain; charset=utf-8";
};

class Executor {
  public:
    Executor(ScenarioService& scenarios, Runner& runner, const core::Clock& clock, ExecutorOptions options = {});
    ~Executor();
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    // Starts the workers and the scheduler; Stop ends them after their current run.
    void Start();
    void Stop();

    // POST /hooks/{token}: queues a run with the payload. A scenario with gateway:WebhookRespond is run at once on
    // the calling thread and its response returned; otherwise 202 Accepted once the run is queued.
    core::Result<WebhookAnswer> HandleWebhook(const std::string& token, boost::json::value payload);

    // "Run once" (API / UI): queues a run with the inputs and, when wait, runs it on the calling thread and
    // returns the finished execution; otherwise the queued one.
    core::Result<store::Execution> RunOnce(const store::Scenario& scenario, const boost::json::object& inputs,
                                           std::optional<boost::json::value> bundle, bool wait);

    // One pass of the scheduler / one claim of the workers (tests drive these directly). Return how many runs
    // they started.
    int SchedulerPass();
    int WorkerPass(int limit = 4);

    // Runs a claimed execution to its end and stores the outcome. Returns the stored execution.
    // `scenario`: the scenario's row when the caller has just read it (the webhook path), so it is not read again.
    core::Result<store::Execution> Execute(const store::Execution& claimed, RunResult* out = nullptr,
                                           const store::Scenario* scenario = nullptr);

    const std::string& node_id() const { return options_.node_id; }

  private:
    // Execute without reading the stored execution back; `out` receives the run's result (the webhook answer).
    // stored = false: `claimed` is not in the store yet (its id reserved): the finished run is recorded in one
    // write (ScenarioStore::RecordExecution) instead of finishing the stored row.
    core::Result<void> Run(const store::Execution& claimed, RunResult* out, const store::Scenario* scenario,
                           bool stored = true);
    void WorkerLoop();
    void SchedulerLoop();
    void Wake();
    std::shared_ptr<std::mutex> SequentialLock(std::int64_t scenario_id);

    ScenarioService& scenarios_;
    store::ScenarioStore& store_;
    Runner& runner_;
    const core::Clock& clock_;
    ExecutorOptions options_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool work_hint_ = false;
    std::vector<std::thread> threads_;
    std::mutex seq_mutex_;
    std::map<std::int64_t, std::weak_ptr<std::mutex>> sequential_;
};

}  // namespace switchboard::engine

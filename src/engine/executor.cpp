#include "engine/executor.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "connections/connection_service.hpp"
#include "core/cooperative.hpp"

namespace switchboard::engine {

namespace json = boost::json;
using core::Result;
using store::ExecutionStatus;

Executor::Executor(ScenarioService& scenarios, Runner& runner, const core::Clock& clock, ExecutorOptions options)
    : scenarios_(scenarios),
      store_(scenarios.scenarios()),
      runner_(runner),
      clock_(clock),
      options_(std::move(options)) {
    if (options_.node_id.empty()) options_.node_id = connections::NewNodeId();
}

Executor::~Executor() { Stop(); }

void Executor::Start() {
    stopping_ = false;
    for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
    threads_.emplace_back([this] { SchedulerLoop(); });
}

void Executor::Stop() {
    stopping_ = true;
    Wake();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

void Executor::Wake() {
    {
        std::lock_guard lock(mutex_);
        work_hint_ = true;
    }
    wake_.notify_all();
}

std::shared_ptr<std::mutex> Executor::SequentialLock(std::int64_t scenario_id) {
    std::lock_guard lock(seq_mutex_);
    auto& weak = sequential_[scenario_id];
    auto m = weak.lock();
    if (!m) {
        m = std::make_shared<std::mutex>();
        weak = m;
    }
    return m;
}

void Executor::WorkerLoop() {
    while (!stopping_) {
        int ran = 0;
        try {
            ran = WorkerPass(1);
        } catch (const std::exception& e) {
            spdlog::error("execution worker: {}", e.what());
        }
        if (ran > 0) continue;
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.poll, [this] { return work_hint_ || stopping_.load(); });
        work_hint_ = false;
    }
}

void Executor::SchedulerLoop() {
    auto last_sweep = std::chrono::steady_clock::now();
    while (!stopping_) {
        try {
            SchedulerPass();
            if (std::chrono::steady_clock::now() - last_sweep > std::chrono::seconds(60)) {
                last_sweep = std::chrono::steady_clock::now();
                auto n = store_.RequeueStaleExecutions(clock_.NowMillis() - options_.stale_after.count());
                if (n && *n > 0) {
                    spdlog::warn("{} abandoned execution(s) queued again", *n);
                    Wake();
                }
            }
        } catch (const std::exception& e) {
            spdlog::error("scheduler: {}", e.what());
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.scheduler_tick, [this] { return stopping_.load(); });
    }
}

int Executor::SchedulerPass() {
    const std::int64_t now = clock_.NowMillis();
    auto due = store_.ListDueScenarios(now, 100);
    if (!due) {
        spdlog::warn("scheduler: {}", due.error().detail);
        return 0;
    }
    int started = 0;
    for (const auto& s : *due) {
        if (!s.next_run_at) continue;
        auto schedule = ScenarioService::ScheduleOf(s);
        std::optional<std::int64_t> next;
        if (schedule) next = NextRun(*schedule, now);
        auto won = store_.AdvanceNextRun(s.id, *s.next_run_at, next);
        if (!won || !*won) continue;  // another node started this tick
        store::Execution e;
        e.team_id = s.team_id;
        e.scenario_id = s.id;
        e.trigger = "schedule";
        e.input_json = R"({"inputs":{}})";
        e.not_before = now;
        if (auto q = store_.EnqueueExecution(e); q) {
            ++started;
        } else {
            spdlog::warn("scenario {}: scheduled run not queued: {}", s.id, q.error().detail);
        }
    }
    if (started > 0) Wake();
    return started;
}

int Executor::WorkerPass(int limit) {
    auto claimed = store_.ClaimExecutions(options_.node_id, clock_.NowMillis(), limit);
    if (!claimed) {
        spdlog::warn("execution claim: {}", claimed.error().detail);
        return 0;
    }
    for (const auto& e : *claimed) {
        auto r = Execute(e);
        if (!r) spdlog::warn("execution {}: {}", e.id, r.error().detail);
    }
    return static_cast<int>(claimed->size());
}

Result<store::Execution> Executor::Execute(const store::Execution& claimed, RunResult* out,
                                           const store::Scenario* known) {
    if (auto ran = Run(claimed, out, known); !ran) return ran.error();
    return store_.GetExecution(claimed.team_id, claimed.id);
}

Result<void> Executor::Run(const store::Execution& claimed, RunResult* out, const store::Scenario* known, bool stored) {
    store::ExecutionOutcome outcome;
    std::optional<store::Scenario> scenario_row;
    // Scheduled and webhook runs count towards maxErrors (whatever made them fail), and a scenario that it turns
    // off has no next run either (as after a stop), so nothing shows one.
    auto record_outcome = [&](bool failed, const std::string& type, const std::string& message) {
        if (!scenario_row || (claimed.trigger != "schedule" && claimed.trigger != "webhook")) return;
        scenarios_.RecordOutcome(*scenario_row, failed, type, message);
        if (!failed) return;
        if (auto after = store_.FindScenario(scenario_row->id); after && !after->active && after->next_run_at) {
            (void)store_.AdvanceNextRun(after->id, *after->next_run_at, std::nullopt);
        }
    };
    // Stores the outcome: finishes the claimed row (false: another node holds it now), or records the run.
    auto store_outcome = [&](std::optional<std::int64_t> requeue) -> Result<bool> {
        if (stored) return store_.FinishExecution(claimed.id, options_.node_id, outcome, requeue);
        auto recorded = store_.RecordExecution(claimed, outcome);
        if (!recorded) return recorded.error();
        if (*recorded != claimed.id) {
            spdlog::warn("execution {} was recorded as {}: its id was taken by another process", claimed.id, *recorded);
        }
        return true;
    };
    auto finish_error = [&](std::string_view type, const std::string& message) -> Result<void> {
        outcome.status = ExecutionStatus::kError;
        outcome.error_type = std::string(type);
        outcome.error_message = message;
        auto f = store_outcome(std::nullopt);
        if (!f) return f.error();
        if (*f) record_outcome(true, outcome.error_type, message);
        if (out) {
            out->status = ExecutionStatus::kError;
            out->error = Failure{outcome.error_type, message};
        }
        return {};
    };
    auto scenario = known ? Result<store::Scenario>(*known) : store_.FindScenario(claimed.scenario_id);
    if (!scenario) return finish_error(errors::kInvalidConfiguration, "the scenario no longer exists");
    scenario_row = *scenario;
    auto compiled = scenarios_.Compiled(*scenario);
    if (!compiled) return finish_error(errors::kInvalidConfiguration, compiled.error().detail);

    // The stored input (trigger data, or a resume point with every bundle so far) is as deep as the data it holds;
    // the store accepts up to 1000 levels. One that cannot be read fails the run: running without it would lose
    // the trigger's data, or start a retry of an incomplete execution over from the first module.
    json::error_code ec;
    json::parse_options parse_options;
    parse_options.max_depth = 1000;
    json::value input = json::parse(claimed.input_json, ec, {}, parse_options);
    if (ec || !input.is_object()) {
        return finish_error(errors::kRuntime, "the stored input of this execution cannot be read" +
                                                  (ec ? ": " + ec.message() : std::string()));
    }
    const json::object& in = input.as_object();
    json::object given;
    if (const auto* i = in.if_contains("inputs"); i && i->is_object()) given = i->as_object();
    auto inputs = ApplyInputs((*compiled)->inputs, given);
    if (!inputs) return finish_error(errors::kBundleValidation, inputs.error().detail);

    RunRequest req;
    req.team = scenario->team_id;
    req.scenario_id = scenario->id;
    req.scenario_name = scenario->name;
    req.execution_id = claimed.id;
    req.scenario = *compiled;
    req.inputs = std::move(*inputs);
    if (const auto* b = in.if_contains("bundle")) req.trigger_bundle = *b;
    if (const auto* r = in.if_contains("resume"); r && r->is_object()) req.resume = r->as_object();
    req.confidential = (*compiled)->blueprint.settings.confidential;
    req.cancelled = [this] { return stopping_.load(); };
    if ((*compiled)->reads_cursors) {
        auto cursors = store_.GetCursors(scenario->id);
        if (!cursors) return cursors.error();
        req.cursors = std::move(*cursors);
    }

    RunResult result;
    if ((*compiled)->blueprint.settings.sequential) {
        // One run at a time, under a lock held across the run's I/O: in a fiber, on a thread that may block
        // (core/cooperative.hpp).
        const std::shared_ptr<std::mutex> seq = SequentialLock(scenario->id);
        core::RunBlocking([&] {
            std::lock_guard seq_lock(*seq);
            result = runner_.Run(req);
        });
    } else {
        result = runner_.Run(req);
    }

    outcome.status = result.status;
    outcome.operations = result.operations;
    outcome.error_type = result.error.type;
    outcome.error_message = result.error.message;
    outcome.error_module_id = result.error_module_id;
    outcome.log_json = json::serialize(result.log);
    // A confidential scenario keeps no payload: the webhook answer is returned, not stored.
    if (result.response && !req.confidential) outcome.result_json = json::serialize(*result.response);
    outcome.json_serialised = true;
    // A failed run is rolled back: the trigger's items are read again next time (Make's "commit trigger last").
    if (result.status != ExecutionStatus::kError) outcome.cursors = result.cursors;
    // Interrupted by a server stop: back to the queue, so this or another node runs it again (modules that had
    // already run will run again: at-least-once across a stop, never lost).
    std::optional<std::int64_t> requeue;
    if (stopping_ && result.status == ExecutionStatus::kError && result.error.type == errors::kRuntime &&
        claimed.trigger != "webhook" && stored) {
        requeue = clock_.NowMillis();
        outcome.status = ExecutionStatus::kQueued;
        outcome.cursors.clear();
    }
    auto finished = store_outcome(requeue);
    if (finished && *finished && requeue) return {};
    if (!finished) return finished.error();
    if (!*finished)
        return core::Conflict("execution " + std::to_string(claimed.id) + " was taken over by another node");

    // Incomplete bundles (Break, or dlq): retried later from their module, or kept for a manual retry.
    int retries_left = -1;
    if (const auto* r = in.if_contains("retriesLeft"); r && r->is_int64())
        retries_left = static_cast<int>(r->as_int64());
    for (const auto& inc : result.incomplete) {
        const int retries = retries_left >= 0 ? retries_left : inc.retries;
        store::Execution e;
        e.team_id = scenario->team_id;
        e.scenario_id = scenario->id;
        e.trigger = "retry";
        json::object next_input{
            {"inputs", given}, {"resume", inc.resume}, {"retriesLeft", std::max(0, retries - 1)}, {"from", claimed.id}};
        e.input_json = json::serialize(next_input);
        e.not_before = clock_.NowMillis() + (retries > 0 ? inc.interval_ms : 0);
        auto q = store_.EnqueueExecution(e);
        if (!q) {
            spdlog::warn("execution {}: incomplete bundle not stored: {}", claimed.id, q.error().detail);
            continue;
        }
        if (retries > 0) continue;
        // No automatic retry left: keep it as an incomplete execution.
        if (auto c = store_.ClaimExecution(q->id, options_.node_id, clock_.NowMillis()); c && *c) {
            store::ExecutionOutcome kept;
            kept.status = ExecutionStatus::kIncomplete;
            kept.error_type = inc.error.type;
            kept.error_message = inc.error.message;
            kept.error_module_id = inc.module_id;
            (void)store_.FinishExecution(q->id, options_.node_id, kept);
        }
    }
    record_outcome(result.status == ExecutionStatus::kError, result.error.type, result.error.message);
    if (out) *out = std::move(result);
    return {};
}

Result<WebhookAnswer> Executor::HandleWebhook(const std::string& token, json::value payload) {
    auto scenario = store_.FindScenarioByHook(token);
    if (!scenario) return scenario.error();
    if (!*scenario) return core::NotFound("no scenario listens on this webhook");
    if (!(*scenario)->active) {
        return core::Error::Make(core::Errc::kConflict, "Scenario not active",
                                 "the scenario of this webhook is not active; turn it on to accept data");
    }
    auto compiled = scenarios_.Compiled(**scenario);
    if (!compiled) return compiled.error();
    const bool responds = (*compiled)->responds;

    store::Execution e;
    e.team_id = (*scenario)->team_id;
    e.scenario_id = (*scenario)->id;
    e.trigger = "webhook";
    e.input_json = json::serialize(json::object{{"inputs", json::object{}}, {"bundle", std::move(payload)}});
    e.not_before = clock_.NowMillis();
    WebhookAnswer answer;
    if (!responds) {
        // Answered 202 once the run is queued durably; a worker runs it.
        auto queued = store_.EnqueueExecution(e);
        if (!queued) return queued.error();
        Wake();
        return answer;
    }
    // The caller waits for the run's answer: run it here, now, and store it once, finished (one durable commit).
    // Until then it exists only in this process: no worker can take it, and a crash loses only a run whose caller
    // was never answered.
    auto id = store_.ReserveExecutionId();
    if (!id) return id.error();
    e.id = *id;
    e.status = ExecutionStatus::kRunning;
    e.claimed_by = options_.node_id;
    e.attempts = 1;
    e.created_at = e.not_before;
    e.started_at = e.not_before;
    RunResult result;
    if (auto done = Run(e, &result, &**scenario, /*stored=*/false); !done) return done.error();
    if (result.response) {
        const json::object& r = *result.response;
        answer.status = static_cast<int>(r.at("status").to_number<std::int64_t>());
        const json::value& body = r.at("body");
        if (body.is_string()) {
            answer.body = std::string(body.as_string());
        } else {
            answer.body = json::serialize(body);
            answer.content_type = "application/json";
        }
        for (const auto& h : r.at("headers").as_array()) {
            const auto& pair = h.as_array();
            const std::string name(pair.at(0).as_string());
            if (http_client::HeaderNameEquals(name, "content-type")) {
                answer.content_type = std::string(pair.at(1).as_string());
            } else {
                answer.headers.emplace_back(name, std::string(pair.at(1).as_string()));
            }
        }
        return answer;
    }
    if (result.status == ExecutionStatus::kError) {
        answer.status = 500;
        answer.body = "Scenario failed to complete.";
    }
    return answer;
}

Result<store::Execution> Executor::RunOnce(const store::Scenario& scenario, const json::object& inputs,
                                           std::optional<json::value> bundle, bool wait) {
    auto compiled = scenarios_.Compiled(scenario);
    if (!compiled) return compiled.error();
    if (auto checked = ApplyInputs((*compiled)->inputs, inputs); !checked) return checked.error();
    store::Execution e;
    e.team_id = scenario.team_id;
    e.scenario_id = scenario.id;
    e.trigger = "run";
    json::object in{{"inputs", inputs}};
    if (bundle) in["bundle"] = std::move(*bundle);
    e.input_json = json::serialize(in);
    e.not_before = clock_.NowMillis();
    if (wait) {
        e.status = ExecutionStatus::kRunning;
        e.claimed_by = options_.node_id;
    }
    auto queued = store_.EnqueueExecution(e);
    if (!queued) return queued.error();
    if (!wait) {
        Wake();
        return queued;
    }
    return Execute(*queued);
}

}  // namespace switchboard::engine

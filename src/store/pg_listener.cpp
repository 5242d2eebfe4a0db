#include "store/pg_listener.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "store/db_internal.hpp"

namespace switchboard::store {

namespace {

using Clock = std::chrono::steady_clock;

bool PlainIdentifier(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }) &&
           !(s[0] >= '0' && s[0] <= '9');
}

// libpq's message on one line (it spreads some over several, with tabs).
std::string Trim(const char* message) {
    std::string s = message != nullptr ? message : "";
    std::replace_if(
        s.begin(), s.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s.empty() ? "unknown error" : s;
}

enum class Wait { kReady, kTimeout, kStopped, kError };

}  // namespace

core::Result<std::unique_ptr<PgNotificationListener>> PgNotificationListener::Start(const std::string& database_url,
                                                                                    std::string channel,
                                                                                    Callbacks callbacks,
                                                                                    Options options) {
    if (!PlainIdentifier(channel)) return core::InvalidArgument("channel must be a lower-case identifier");
    const auto conninfo = PostgresConninfo(database_url);
    if (!conninfo) return core::InvalidArgument("not a PostgreSQL database URL");
    auto parsed = ParseConninfo(*conninfo);
    if (!parsed) return parsed.error();
    // The connect timeout is ours (options.connect_timeout), enforced around the asynchronous connect.
    ConnParams params;
    bool has_application = false;
    for (auto& [keyword, value] : *parsed) {
        if (keyword == "connect_timeout") continue;
        has_application = has_application || keyword == "application_name";
        params.emplace_back(std::move(keyword), std::move(value));
    }
    if (!has_application) params.emplace_back("application_name", "switchboard-listener");
    std::unique_ptr<PgNotificationListener> listener(
        new PgNotificationListener(std::move(params), std::move(channel), std::move(callbacks), options));
    if (pipe2(listener->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        return core::Internal("cannot create the listener's wake-up pipe");
    }
    listener->thread_ = std::thread([l = listener.get()] { l->Run(); });
    return listener;
}

PgNotificationListener::PgNotificationListener(std::vector<std::pair<std::string, std::string>> params,
                                               std::string channel, Callbacks callbacks, Options options)
    : conn_params_(std::move(params)),
      channel_(std::move(channel)),
      callbacks_(std::move(callbacks)),
      options_(options) {}

PgNotificationListener::~PgNotificationListener() {
    stopping_ = true;
    if (wake_[1] >= 0) {
        const char byte = 1;
        [[maybe_unused]] auto written = write(wake_[1], &byte, 1);
    }
    if (thread_.joinable()) thread_.join();
    for (int fd : wake_) {
        if (fd >= 0) close(fd);
    }
}

bool PgNotificationListener::Pause(std::chrono::milliseconds timeout) {
    pollfd fd{wake_[0], POLLIN, 0};
    poll(&fd, 1, static_cast<int>(timeout.count()));
    return !stopping_;
}

void PgNotificationListener::Run() {
    // Every wait is on the connection's socket and the wake-up pipe at once, so the destructor never waits for
    // a timeout.
    auto wait = [this](PGconn* pg, short events, Clock::time_point deadline) {
        for (;;) {
            if (stopping_) return Wait::kStopped;
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return Wait::kTimeout;
            pollfd fds[2] = {{PQsocket(pg), events, 0}, {wake_[0], POLLIN, 0}};
            if (fds[0].fd < 0) return Wait::kError;
            const int n = poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Wait::kError;
            if (stopping_) return Wait::kStopped;
            if (fds[0].revents != 0) return Wait::kReady;
        }
    };
    auto drain = [this](PGconn* pg) {
        while (PGnotify* n = PQnotifies(pg)) {
            if (channel_ == n->relname && callbacks_.on_notification) {
                callbacks_.on_notification(n->extra != nullptr ? n->extra : "");
            }
            PQfreemem(n);
        }
    };
    // One statement sent and its results read, within the deadline; notifications that arrive with them are
    // delivered. Returns the failure's reason, or "" on success.
    auto round_trip = [&](PGconn* pg, const std::string& sql, Clock::time_point deadline) -> std::string {
        if (PQsendQuery(pg, sql.c_str()) == 0) return Trim(PQerrorMessage(pg));
        std::string failure;
        for (;;) {
            while (PQisBusy(pg) != 0) {
                const Wait w = wait(pg, POLLIN, deadline);
                if (w == Wait::kStopped) return "stopping";
                if (w == Wait::kTimeout) return "no answer within the timeout";
                if (w == Wait::kError || PQconsumeInput(pg) == 0) return Trim(PQerrorMessage(pg));
            }
            PGresult* r = PQgetResult(pg);
            if (r == nullptr) break;
            const ExecStatusType status = PQresultStatus(r);
            if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && failure.empty()) {
                failure = Trim(PQresultErrorMessage(r));
            }
            PQclear(r);
        }
        drain(pg);
        return failure;
    };
    auto connect = [&](std::string& failure) -> PGconn* {
        const LibpqParams params(conn_params_);
        PGconn* pg = PQconnectStartParams(params.keywords.data(), params.values.data(), 0);
        if (pg == nullptr) {
            failure = "out of memory";
            return nullptr;
        }
        const auto deadline = Clock::now() + options_.connect_timeout;
        PostgresPollingStatusType state = PGRES_POLLING_WRITING;
        while (PQstatus(pg) != CONNECTION_BAD && state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
            const Wait w = wait(pg, state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
            if (w != Wait::kReady) {
                failure = w == Wait::kTimeout ? "connection timed out" : "stopping";
                PQfinish(pg);
                return nullptr;
            }
            state = PQconnectPoll(pg);
        }
        if (PQstatus(pg) != CONNECTION_OK) {
            failure = Trim(PQerrorMessage(pg));
            PQfinish(pg);
            return nullptr;
        }
        return pg;
    };

    const std::string listen = "LISTEN \"" + channel_ + "\"";
    auto backoff = options_.reconnect_min;
    bool was_listening = false;
    while (!stopping_) {
        std::string failure;
        if (PGconn* pg = connect(failure)) {
            failure = round_trip(pg, listen, Clock::now() + options_.ping_timeout);
            if (failure.empty()) {
                backend_pid_ = PQbackendPID(pg);
                listening_ = true;
                if (callbacks_.on_listening) callbacks_.on_listening();
                if (was_listening) spdlog::info("LISTEN {} is in effect again", channel_);
                was_listening = true;
                backoff = options_.reconnect_min;
                auto last_traffic = Clock::now();
                while (failure.empty()) {
                    const Wait w = wait(pg, POLLIN, last_traffic + options_.ping_interval);
                    if (w == Wait::kStopped) {
                        failure = "stopping";
                    } else if (w == Wait::kError) {
                        failure = Trim(PQerrorMessage(pg));
                    } else if (w == Wait::kReady) {
                        if (PQconsumeInput(pg) == 0 || PQstatus(pg) != CONNECTION_OK) {
                            failure = Trim(PQerrorMessage(pg));
                        } else {
                            drain(pg);
                            last_traffic = Clock::now();
                        }
                    } else {
                        failure = round_trip(pg, "SELECT 1", Clock::now() + options_.ping_timeout);
                        last_traffic = Clock::now();
                    }
                }
                listening_ = false;
                backend_pid_ = 0;
            }
            PQfinish(pg);
        }
        if (stopping_) break;
        if (callbacks_.on_lost) callbacks_.on_lost();
        spdlog::warn("LISTEN {}: {}; retrying in {} ms", channel_, failure, backoff.count());
        if (!Pause(backoff)) break;
        backoff = std::min(backoff * 2, options_.reconnect_max);
    }
}

}  // namespace switchboard::store

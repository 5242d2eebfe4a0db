#pragma once
// PgNotificationListener: follows one NOTIFY channel of a PostgreSQL database on a dedicated libpq connection (not
// one of the pool's) with its own thread, and reconnects after failures.
//
// Whoever relies on the notifications must know when some may have been missed, so the listener says so:
// on_lost is called whenever a connection attempt fails or an established connection is lost, and on_listening
// each time LISTEN is in effect (again). Before the first on_listening and between an on_lost and the next
// on_listening, notifications may have been missed.
// A connection that dies silently (a network that drops packets without a reset) is found by a round trip
// (`SELECT 1`) after ping_interval without traffic, which must answer within ping_timeout.
//
// Callbacks run on the listener's thread, in order; they must be quick, must not throw and must not destroy the
// listener. The destructor stops the thread (waking it at once) and closes the connection.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace switchboard::store {

// The channel on which every write to a connection row is announced (migration 5's trigger), with the
// connection id in decimal as the payload.
inline constexpr std::string_view kConnectionChangesChannel = "switchboard_connections";

class PgNotificationListener {
  public:
    struct Callbacks {
        std::function<void()> on_listening;
        std::function<void()> on_lost;
        std::function<void(std::string_view payload)> on_notification;
    };
    struct Options {
        std::chrono::milliseconds ping_interval{5'000};
        std::chrono::milliseconds ping_timeout{5'000};
        std::chrono::milliseconds connect_timeout{5'000};
        std::chrono::milliseconds reconnect_min{50};
        std::chrono::milliseconds reconnect_max{5'000};
    };

    // database_url as store::OpenDb takes it ("postgres://…", "postgresql://…", "postgres:key=value …").
    // kInvalidArgument when it is not a PostgreSQL URL or cannot be parsed, or the channel is not a plain
    // identifier. The thread starts at once; the first on_lost/on_listening follow from it.
    static core::Result<std::unique_ptr<PgNotificationListener>> Start(const std::string& database_url,
                                                                       std::string channel, Callbacks callbacks,
                                                                       Options options);
    static core::Result<std::unique_ptr<PgNotificationListener>> Start(const std::string& database_url,
                                                                       std::string channel, Callbacks callbacks) {
        return Start(database_url, std::move(channel), std::move(callbacks), Options{});
    }
    ~PgNotificationListener();
    PgNotificationListener(const PgNotificationListener&) = delete;
    PgNotificationListener& operator=(const PgNotificationListener&) = delete;

    // True while LISTEN is in effect.
    bool listening() const { return listening_.load(); }
    // The server process id of the current connection (0 while there is none): tests end it with
    // pg_terminate_backend to check the reconnection.
    int backend_pid() const { return backend_pid_.load(); }

  private:
    PgNotificationListener(std::vector<std::pair<std::string, std::string>> params, std::string channel,
                           Callbacks callbacks, Options options);
    void Run();
    // Waits up to `timeout` unless woken by the destructor; false when stopping.
    bool Pause(std::chrono::milliseconds timeout);

    const std::vector<std::pair<std::string, std::string>> conn_params_;
    const std::string channel_;
    const Callbacks callbacks_;
    const Options options_;
    int wake_[2] = {-1, -1};  // a pipe: the destructor writes a byte to interrupt poll()
    std::atomic<bool> stopping_{false};
    std::atomic<bool> listening_{false};
    std::atomic<int> backend_pid_{0};
    std::thread thread_;
};

}  // namespace switchboard::store

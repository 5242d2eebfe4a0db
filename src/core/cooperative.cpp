#include "core/cooperative.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <thread>

namespace switchboard::core {

namespace {
thread_local Scheduler* tls_scheduler = nullptr;
}  // namespace

Scheduler* CurrentScheduler() { return tls_scheduler; }

SchedulerScope::SchedulerScope(Scheduler* scheduler) : previous_(tls_scheduler) { tls_scheduler = scheduler; }

SchedulerScope::~SchedulerScope() { tls_scheduler = previous_; }

int WaitFd(int fd, short events, std::chrono::milliseconds timeout) {
    if (Scheduler* scheduler = tls_scheduler) return scheduler->WaitFd(fd, events, timeout);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const int ms = static_cast<int>(std::clamp<long long>(left.count(), 0, std::numeric_limits<int>::max()));
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, ms);
        if (ready < 0 && errno == EINTR) continue;
        return ready < 0 ? -1 : (ready > 0 ? 1 : 0);
    }
}

void SleepFor(std::chrono::steady_clock::duration d) {
    if (Scheduler* scheduler = tls_scheduler) {
        scheduler->Sleep(d);
    } else {
        std::this_thread::sleep_for(d);
    }
}

void RunBlocking(const std::function<void()>& fn) {
    if (Scheduler* scheduler = tls_scheduler) {
        scheduler->Offload(fn);
    } else {
        fn();
    }
}

}  // namespace switchboard::core

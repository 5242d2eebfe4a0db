// core/cooperative.hpp on an ordinary thread (no scheduler): every wait blocks the thread, as before fibers. The
// fiber side is tested with the HTTP server (tests/unit/http_server/server_test.cpp, "Cooperative…").
#include "core/cooperative.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace switchboard::core {
namespace {

using namespace std::chrono_literals;

TEST(Cooperative, WithoutASchedulerWaitsBlockTheThread) {
    EXPECT_EQ(CurrentScheduler(), nullptr);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    EXPECT_EQ(WaitFd(fds[0], POLLIN, 20ms), 0);   // nothing to read: timed out
    EXPECT_EQ(WaitFd(fds[1], POLLOUT, 20ms), 1);  // an empty pipe is writable
    std::thread writer([&] {
        std::this_thread::sleep_for(30ms);
        EXPECT_EQ(::write(fds[1], "x", 1), 1);
    });
    EXPECT_EQ(WaitFd(fds[0], POLLIN, 5000ms), 1);
    writer.join();
    ::close(fds[0]);
    ::close(fds[1]);

    const auto before = std::chrono::steady_clock::now();
    SleepFor(20ms);
    EXPECT_GE(std::chrono::steady_clock::now() - before, 20ms);

    const auto caller = std::this_thread::get_id();
    std::thread::id ran_on;
    RunBlocking([&] { ran_on = std::this_thread::get_id(); });
    EXPECT_EQ(ran_on, caller);  // inline
    EXPECT_THROW(RunBlocking([] { throw std::runtime_error("inline"); }), std::runtime_error);
}

TEST(Cooperative, AWakeupMadeOnAThreadIsAConditionVariable) {
    std::mutex mutex;
    bool ready = false;
    Wakeup wake;
    EXPECT_FALSE(wake.cooperative());
    std::thread notifier([&] {
        std::this_thread::sleep_for(20ms);
        std::lock_guard lock(mutex);
        ready = true;
        wake.Notify();
    });
    std::unique_lock lock(mutex);
    wake.Wait(lock, [&] { return ready; });
    EXPECT_TRUE(ready);
    lock.unlock();
    notifier.join();
}

}  // namespace
}  // namespace switchboard::core

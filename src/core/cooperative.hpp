// Cooperative waiting: how code that would block its thread lets a fiber scheduler run something else instead.
//
// Code that waits for a socket, for another thread's work (a group commit) or for slow blocking work asks the
// current thread's Scheduler. By default there is none and the thread blocks as it always did. The HTTP server
// runs webhook handlers as fibers on its I/O threads (http_server/server.hpp, ServerOptions::cooperative_runs)
// and installs one while a fiber runs: a wait then suspends the fiber, and its thread serves other connections
// meanwhile. A fiber never changes thread.
//
// The one rule for code that may run in a fiber: never hold a mutex across a wait that may suspend. Another fiber
// of the same thread asking for that mutex would block the thread, and with it the holder, for good. Code that must
// hold a lock across I/O (a single-flight refresh, a sequential scenario's lock) runs it under RunBlocking, on a
// thread that may block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace switchboard::core {

class Scheduler {
  public:
    virtual ~Scheduler() = default;
    // Until fd is readable (events has POLLIN) or writable (POLLOUT), or timeout has passed: 1 ready (or failed: the
    // next call on fd says why), 0 timed out, -1 the wait itself failed.
    virtual int WaitFd(int fd, short events, std::chrono::milliseconds timeout) = 0;
    // Returns after d (the thread serves others meanwhile).
    virtual void Sleep(std::chrono::steady_clock::duration d) = 0;
    // Runs fn on a thread that may block and returns once fn has (rethrowing what it threw).
    virtual void Offload(const std::function<void()>& fn) = 0;
    // Suspends the running fiber: sets handle, releases lock, and returns with lock held again once Resume(handle)
    // was called. Resume is called under the same mutex, so it cannot miss a fiber on its way to suspension.
    virtual void Suspend(std::unique_lock<std::mutex>& lock, void*& handle) = 0;
    // From any thread: the fiber suspended under handle continues (on its own thread, later).
    virtual void Resume(void* handle) = 0;
};

// The running fiber's scheduler; null on an ordinary thread.
Scheduler* CurrentScheduler();

// Installs a scheduler for the current thread (the fiber driver, around each step of a fiber).
class SchedulerScope {
  public:
    explicit SchedulerScope(Scheduler* scheduler);
    ~SchedulerScope();
    SchedulerScope(const SchedulerScope&) = delete;
    SchedulerScope& operator=(const SchedulerScope&) = delete;

  private:
    Scheduler* previous_;
};

// poll() of one descriptor, or the scheduler's WaitFd in a fiber. Same results as Scheduler::WaitFd.
int WaitFd(int fd, short events, std::chrono::milliseconds timeout);

// std::this_thread::sleep_for, or the scheduler's Sleep in a fiber.
void SleepFor(std::chrono::steady_clock::duration d);

// fn on this thread, or, in a fiber, on a thread that may block while the fiber waits for it.
void RunBlocking(const std::function<void()>& fn);

// The same for a function with a result: returns what fn returned.
template <typename Fn>
std::invoke_result_t<Fn&> RunBlockingFor(Fn fn) {
    std::optional<std::invoke_result_t<Fn&>> out;
    RunBlocking([&] { out.emplace(fn()); });
    return std::move(*out);
}

// The wake-up of one waiter: a condition variable for a thread, a resume for a fiber (the kind is fixed when it is
// made, on the waiter's side). Wait and Notify are called with the same mutex held.
class Wakeup {
  public:
    Wakeup() : scheduler_(CurrentScheduler()) {}
    Wakeup(const Wakeup&) = delete;
    Wakeup& operator=(const Wakeup&) = delete;

    bool cooperative() const { return scheduler_ != nullptr; }

    template <typename Ready>
    void Wait(std::unique_lock<std::mutex>& lock, Ready ready) {
        if (scheduler_ == nullptr) {
            cv_.wait(lock, ready);
            return;
        }
        while (!ready()) scheduler_->Suspend(lock, handle_);
    }

    void Notify() {
        if (scheduler_ == nullptr) {
            cv_.notify_one();
        } else if (void* handle = std::exchange(handle_, nullptr)) {
            scheduler_->Resume(handle);
        }
    }

  private:
    Scheduler* scheduler_;
    void* handle_ = nullptr;  // set while the fiber is suspended
    std::condition_variable cv_;
};

}  // namespace switchboard::core

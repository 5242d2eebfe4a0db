#pragma once
// Injectable time. Production code takes a Clock&; tests pass a ManualClock.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchboard::core {

class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::chrono::system_clock::time_point Now() const = 0;
    std::int64_t NowMillis() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
    }
};

class SystemClock final : public Clock {
  public:
    std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t millis = 1'700'000'000'000) : millis_(millis) {}
    std::chrono::system_clock::time_point Now() const override {
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis_.load()));
    }
    void Advance(std::chrono::milliseconds d) { millis_ += d.count(); }

  private:
    std::atomic<std::int64_t> millis_;
};

// ISO 8601 UTC with milliseconds, as Make's API prints dates ("2026-11-28T16:57:58.000Z").
std::string FormatIso8601(std::int64_t millis);

}  // namespace switchboard::core

// The injectable clock. Code outside core/ never reads the system clock
// directly, so tests and simulations can replay time exactly.
#pragma once

#include <atomic>
#include <cstdint>

namespace tollgate::core {

class Clock {
  public:
    virtual ~Clock() = default;
    // Wall time in milliseconds since the Unix epoch (for records and expiry).
    virtual std::int64_t now_ms() const = 0;
    // Monotonic time in microseconds (for durations only).
    virtual std::int64_t steady_us() const = 0;
};

class SystemClock final : public Clock {
  public:
    std::int64_t now_ms() const override;
    std::int64_t steady_us() const override;
    static SystemClock& instance();
};

// A clock that moves only when told to; thread-safe.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t start_ms) : now_ms_(start_ms) {}
    std::int64_t now_ms() const override { return now_ms_.load(); }
    std::int64_t steady_us() const override { return now_ms_.load() * 1000; }
    void advance_ms(std::int64_t ms) { now_ms_ += ms; }
    void set_ms(std::int64_t ms) { now_ms_ = ms; }

  private:
    std::atomic<std::int64_t> now_ms_;
};

}  // namespace tollgate::core

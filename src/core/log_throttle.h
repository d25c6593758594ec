// Lets a log line through at most once per interval and counts the ones it held back, so
// a failure hit by every request (a store outage under load) logs a line a second, not a
// line a request. Thread-safe (two atomics); the clock is passed in for tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace gw::core {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(1)) : interval_(interval) {}

  // nullopt: stay quiet. Otherwise log, mentioning how many were held back since the last.
  std::optional<std::uint64_t> admit(Clock::time_point now = Clock::now()) {
    const std::int64_t at = now.time_since_epoch().count();
    std::int64_t next = next_.load(std::memory_order_relaxed);
    if (at >= next &&
        next_.compare_exchange_strong(next, at + interval_.count(), std::memory_order_relaxed)) {
      return held_back_.exchange(0, std::memory_order_relaxed);
    }
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

 private:
  const Clock::duration interval_;
  std::atomic<std::int64_t> next_{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::uint64_t> held_back_{0};
};

}  // namespace gw::core

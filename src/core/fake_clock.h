// A clock that moves only when told to. For tests and for tools that replay time.
// advance() moves wall and steady time together; set() steps the wall clock alone (as an
// NTP correction would), leaving steady time where it is. Thread-safe: two atomic words.
#pragma once

#include <atomic>

#include "core/clock.h"

namespace gw::core {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixNanos start = UnixNanos{0}) : now_(start.count()) {}

  UnixNanos now() const noexcept override {
    return UnixNanos{now_.load(std::memory_order_relaxed)};
  }
  SteadyTime steady_now() const noexcept override {
    return SteadyTime(std::chrono::nanoseconds(steady_.load(std::memory_order_relaxed)));
  }
  void set(UnixNanos t) noexcept { now_.store(t.count(), std::memory_order_relaxed); }
  void advance(UnixNanos d) noexcept {
    now_.fetch_add(d.count(), std::memory_order_relaxed);
    steady_.fetch_add(d.count(), std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> now_;
  // Starts an hour in, so that "now - interval" is never before the epoch.
  std::atomic<std::int64_t> steady_{std::chrono::nanoseconds(std::chrono::hours(1)).count()};
};

}  // namespace gw::core

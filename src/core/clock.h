// The one source of time (LevelDB's Env::NowMicros, Envoy's TimeSource): wall time for
// what is shown or aligned to the calendar, steady time for every interval and deadline.
//
// Rate-limit windows are aligned to the wall clock's minute (the published headers give
// Unix reset times), so the limiter works in wall time: nanoseconds since the Unix epoch.
// Timeouts, refresh intervals and latencies use steady time, which never steps.
// Only app/ constructs the real clock; everything else takes a `const Clock&` and tests
// pass a FakeClock. Implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace gw::core {

// Nanoseconds since the Unix epoch (wall time).
using UnixNanos = std::chrono::nanoseconds;

// Monotonic time: only differences mean anything.
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixNanos now() const noexcept = 0;          // wall time
  virtual SteadyTime steady_now() const noexcept = 0;  // monotonic time
};

// The process-wide system clock.
const Clock& real_clock() noexcept;

constexpr std::int64_t to_unix_seconds(UnixNanos t) noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(t).count();
}

}  // namespace gw::core

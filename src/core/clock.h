// Source of time for everything that decides.
//
// Rate-limit windows are aligned to the wall clock's minute (the published headers give
// Unix reset times), so the limiter works in wall time: nanoseconds since the Unix epoch.
// Only app/ constructs the real clock; everything else takes a `const Clock&` and tests
// pass a FakeClock. Implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace gw::core {

// Nanoseconds since the Unix epoch (wall time).
using UnixNanos = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixNanos now() const noexcept = 0;
};

// The process-wide system clock.
const Clock& real_clock() noexcept;

constexpr std::int64_t to_unix_seconds(UnixNanos t) noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(t).count();
}

}  // namespace gw::core

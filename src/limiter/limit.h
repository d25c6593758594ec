// Vocabulary of the limiter core: what a limit is, the state of one counter, and the
// decision a check yields. Plain values; no I/O, no clock, no locks (see check.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/clock.h"

namespace gw::limiter {

using core::UnixNanos;

enum class Algorithm : std::uint8_t {
  fixed_window,    // windows aligned to multiples of `window` since the Unix epoch
  sliding_window,  // previous window's count weighted by its overlap with the trailing window
  gcra,            // generic cell rate: burst of `limit`, one unit per window/limit after that
};

// `limit` units per `window`. limit >= 0 (0 admits nothing); window > 0.
struct LimitSpec {
  std::int64_t limit = 0;
  UnixNanos window{std::chrono::seconds(60)};
  Algorithm algorithm = Algorithm::fixed_window;
  // false: the limit is evaluated and reported but never blocks (shadow mode).
  bool enforced = true;
};

// The whole state of one counter: 24 bytes, meaning depends on the algorithm.
//   fixed_window:   window_start = start of the current window, count = units in it.
//   sliding_window: window_start, count (current window), previous (previous window).
//   gcra:           the theoretical arrival time (TAT), exactly: window_start + count / limit
//                   nanoseconds (count in [0, limit) is the sub-nanosecond fraction, since
//                   window / limit is rarely a whole number of nanoseconds); previous = 0.
// A default-constructed state is an unused counter.
struct CounterState {
  std::int64_t window_start = 0;  // nanoseconds since the Unix epoch
  std::int64_t count = 0;
  std::int64_t previous = 0;
};

// What a check tells about one limit, as the X-RateLimit-* headers show it.
struct Decision {
  bool allowed = false;     // this limit has room for the request (or is not enforced)
  bool over_limit = false;  // the limit itself had no room (also true in shadow mode)
  std::int64_t limit = 0;
  std::int64_t remaining = 0;     // units left after this request (if admitted), else now
  std::int64_t used = 0;          // units spent in the current window after this request
  std::int64_t reset_unix_s = 0;  // when the current window resets (Unix seconds, rounded up;
                                  // gcra: when the bucket is full again)
  // Time until this limit would have room for the request; 0 when it has room
  // (!over_limit). A shadow limit without room is allowed but reports its would-be wait.
  UnixNanos retry_after{0};
};

}  // namespace gw::limiter

// Sliding window, approximated Cloudflare-style: the previous aligned window's count is
// weighted by how much of it the trailing window still overlaps,
//
//   estimate = previous * (window - elapsed) / window + current
//
// where `elapsed` is the time since the current aligned window began. A request of `cost`
// is admitted if estimate + cost <= limit. The estimate is a rational number; everything
// here is computed exactly, scaled by `window` (128-bit), so boundaries are exact to the
// nanosecond: remaining = floor(limit - estimate), used = ceil(estimate).
//
// Trade-off: smooths the fixed window's 2x burst at the boundary for two more integers of
// state, at the cost of assuming the previous window's requests were evenly spread.
//
// Clock steps: as for the fixed window, a counter from a later window than `now` is treated
// as if `now` were at its start (maximal weight for its previous window); never fresh quota.
#include "limiter/algorithms.h"

namespace gw::limiter::detail {
namespace {

struct Counts {
  std::int64_t start = 0;     // start of the current aligned window
  std::int64_t elapsed = 0;   // time since `start`, in [0, window)
  std::int64_t current = 0;   // units in the current window
  std::int64_t previous = 0;  // units in the window before it
};

Counts counts_at(const CounterState& state, std::int64_t now, std::int64_t window) noexcept {
  const std::int64_t since = now - state.window_start;
  if (since < window) {  // hot path: the counter's own window (or before it: clock stepped back)
    return {state.window_start, since < 0 ? 0 : since, state.count, state.previous};
  }
  if (since < 2 * window) {  // the next window: the counter's current becomes previous
    return {state.window_start + window, since - window, 0, state.count};
  }
  const std::int64_t start = floor_div(now, window) * window;
  return {start, now - start, 0, 0};
}

// Earliest time >= now at which `cost` fits, given no room now and cost <= limit. Exact:
// the weight falls linearly, so each window's condition is one linear inequality in time.
std::int64_t admissible_at(const Counts& c, std::int64_t limit, std::int64_t window,
                           std::int64_t cost) noexcept {
  // Still in this window: need previous * (window - e) <= (limit - cost - current) * window.
  const std::int64_t slack = limit - cost - c.current;
  if (slack >= 0 && c.previous > 0) {
    const std::int64_t max_overlap = floor_muladd_div(slack, window, 0, c.previous);
    if (max_overlap > 0) {
      return c.start + window - max_overlap;
    }
  }
  // Next window: today's `current` becomes the weighted `previous`, nothing is current yet.
  const std::int64_t next = c.start + window;
  if (c.current == 0) {
    return next;
  }
  const std::int64_t max_overlap = floor_muladd_div(limit - cost, window, 0, c.current);
  return max_overlap >= window ? next : next + window - max_overlap;
}

}  // namespace

Facts sliding_window_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                           std::int64_t cost) noexcept {
  const std::int64_t window = spec.window.count();
  const Counts c = counts_at(state, now, window);
  // The previous window's weighted part of the estimate, rounded up: then
  // remaining = floor(limit - estimate) = limit - current - weighted, used = ceil(estimate).
  const std::int64_t weighted = ceil_muladd_div(c.previous, window - c.elapsed, 0, window);

  Facts f;
  f.remaining_now = spec.limit - c.current - weighted;
  f.used_now = c.current + weighted;
  f.room = cost <= f.remaining_now;  // floor(limit - estimate) >= cost <=> estimate + cost <= limit
  f.reset_now_s = ceil_unix_seconds(c.start + window);
  f.reset_after_s = f.reset_now_s;
  if (!f.room) {
    f.retry_after_ns =
        cost > spec.limit ? window : admissible_at(c, spec.limit, window, cost) - now;
  }
  return f;
}

void sliding_window_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                            std::int64_t cost) noexcept {
  const Counts c = counts_at(state, now, spec.window.count());
  state = CounterState{c.start, c.current + cost, c.previous};
}

bool sliding_window_expired(const LimitSpec& spec, const CounterState& state,
                            std::int64_t now) noexcept {
  return (state.count == 0 && state.previous == 0) ||
         now - state.window_start >= 2 * spec.window.count();
}

}  // namespace gw::limiter::detail

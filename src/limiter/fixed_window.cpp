// Fixed window: `limit` units per window, windows aligned to multiples of `window` since the
// Unix epoch (a 60 s window is the wall-clock minute, as the published headers promise).
//
// Trade-off: simplest and cheapest (one comparison on the hot path), and exactly what the
// policy publishes, but a client can spend 2 * limit across a window boundary.
//
// Clock steps: if the wall clock steps back, a counter from a later window than `now` keeps
// counting (as if `now` were inside it) instead of starting afresh: a clock step must never
// hand out fresh quota.
#include "limiter/algorithms.h"

namespace gw::limiter::detail {
namespace {

struct Window {
  std::int64_t start = 0;
  std::int64_t used = 0;
};

// The window the counter is in at `now` and what it has spent there.
Window current_window(const CounterState& state, std::int64_t now, std::int64_t window) noexcept {
  // Hot path: still inside the counter's window (or before it, see "Clock steps").
  if (now - state.window_start < window) {
    return {state.window_start, state.count};
  }
  return {floor_div(now, window) * window, 0};
}

}  // namespace

Facts fixed_window_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                         std::int64_t cost) noexcept {
  const std::int64_t window = spec.window.count();
  const Window w = current_window(state, now, window);
  const std::int64_t end = w.start + window;

  Facts f;
  f.remaining_now = spec.limit - w.used;
  f.used_now = w.used;
  f.room = cost <= f.remaining_now;
  f.reset_now_s = ceil_unix_seconds(end);
  f.reset_after_s = f.reset_now_s;
  if (!f.room) {
    // More than the whole limit can never be admitted; a window is a sane "much later".
    f.retry_after_ns = cost > spec.limit ? window : end - now;
  }
  return f;
}

void fixed_window_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                          std::int64_t cost) noexcept {
  const Window w = current_window(state, now, spec.window.count());
  state = CounterState{w.start, w.used + cost, 0};
}

bool fixed_window_expired(const LimitSpec& spec, const CounterState& state,
                          std::int64_t now) noexcept {
  return state.count == 0 || now - state.window_start >= spec.window.count();
}

}  // namespace gw::limiter::detail

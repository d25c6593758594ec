// GCRA (generic cell rate algorithm): a burst of `limit` units at once, then one unit per
// emission interval T = window / limit. The whole state is the theoretical arrival time TAT;
// a request of `cost` is admitted iff
//
//   now >= TAT' - limit * T,   where TAT' = max(TAT, now) + cost * T   (and limit * T = window)
//
// T is rarely a whole number of nanoseconds (60 s / 7), and rounding it would either break
// the promised burst (7 * ceil(T) > 60 s) or let the rate creep up. So TAT is kept exactly,
// as a rational: window_start + count / limit nanoseconds (count in [0, limit) is the
// fraction, in units of 1/limit ns). Every comparison below is exact.
//
// Trade-off: smooth, one timestamp of state, no boundary burst; but "used" and "reset" are
// derived (a bucket, not a window), so the headers describe the bucket: reset is when it is
// full again, used = limit - remaining.
#include <limits>

#include "limiter/algorithms.h"

namespace gw::limiter::detail {
namespace {

// TAT = ns + frac / limit nanoseconds, 0 <= frac < limit.
struct Tat {
  std::int64_t ns = 0;
  std::int64_t frac = 0;
};

// REQUIRES: limit > 0. A fraction out of range (a state written under another limit that
// was not carried over) is folded into whole nanoseconds rather than trusted.
Tat load(const CounterState& state, std::int64_t limit) noexcept {
  Tat t{state.window_start, state.count};
  if (t.frac < 0 || t.frac >= limit) {
    t.ns += floor_div(t.frac, limit);
    t.frac -= floor_div(t.frac, limit) * limit;
  }
  return t;
}

// TAT rounded up to whole nanoseconds.
constexpr std::int64_t ceil_ns(const Tat& t) noexcept { return t.ns + (t.frac > 0 ? 1 : 0); }

// max(TAT, now): a bucket that has refilled completely forgets how long ago that was.
Tat at_least(const Tat& t, std::int64_t now) noexcept {
  return ceil_ns(t) <= now ? Tat{now, 0} : t;
}

// t + cost * window / limit.
Tat advance(const Tat& t, std::int64_t limit, std::int64_t window, std::int64_t cost) noexcept {
  std::int64_t product;
  std::int64_t add;
  if (!__builtin_mul_overflow(cost, window, &product) &&
      !__builtin_add_overflow(product, t.frac, &add)) {  // 64-bit fast path, nearly always
    return {t.ns + add / limit, add % limit};
  }
  const Int128 wide = Int128{cost} * window + t.frac;
  return {t.ns + static_cast<std::int64_t>(wide / limit), static_cast<std::int64_t>(wide % limit)};
}

}  // namespace

Facts gcra_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                 std::int64_t cost) noexcept {
  const std::int64_t limit = spec.limit;
  const std::int64_t window = spec.window.count();
  Facts f;
  if (limit <= 0) {
    // An empty bucket that never fills: nothing (of cost > 0) is ever admitted.
    f.room = cost <= 0;
    f.reset_now_s = ceil_unix_seconds(now + window);
    f.reset_after_s = f.reset_now_s;
    f.retry_after_ns = window;
    return f;
  }
  const Tat base = at_least(load(state, limit), now);
  const Tat next = advance(base, limit, window, cost);

  // remaining = floor((now - TAT + window) * limit / window), TAT = base.ns + base.frac / limit.
  f.remaining_now = floor_muladd_div(now - base.ns + window, limit, -base.frac, window);
  f.used_now = limit - f.remaining_now;
  f.room = cost <= f.remaining_now;  // <=> now >= TAT' - window, exactly
  f.reset_now_s = ceil_unix_seconds(ceil_ns(base));
  f.reset_after_s = ceil_unix_seconds(ceil_ns(next));
  if (!f.room) {
    // More than the whole burst can never be admitted; a window is a sane "much later".
    f.retry_after_ns = cost > limit ? window : ceil_ns(next) - window - now;
  }
  return f;
}

void gcra_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                  std::int64_t cost) noexcept {
  if (spec.limit <= 0) {
    return;  // nothing is ever admitted, so nothing is ever owed
  }
  const Tat next =
      advance(at_least(load(state, spec.limit), now), spec.limit, spec.window.count(), cost);
  state = CounterState{next.ns, next.frac, 0};
}

bool gcra_expired(const LimitSpec& spec, const CounterState& state, std::int64_t now) noexcept {
  if (spec.limit <= 0) {
    return state.window_start + (state.count > 0 ? 1 : 0) <= now;
  }
  return ceil_ns(load(state, spec.limit)) <= now;
}

// The debt (TAT - now) is spent units times window / limit. Keeping the units spent across
// a limit change means scaling the debt by from / to; in units of 1/to ns its numerator is
// exactly the old numerator (debt in units of 1/from ns), so nothing is rounded.
void gcra_carry_over(std::int64_t from_limit, std::int64_t to_limit, CounterState& state,
                     std::int64_t now) noexcept {
  if (from_limit <= 0) {
    // Under a zero limit the fraction has no unit; keep the TAT as a time.
    state.count = 0;
    state.previous = 0;
    return;
  }
  const Tat tat = load(state, from_limit);
  if (ceil_ns(tat) <= now) {
    state = CounterState{};  // full bucket, under any limit
    return;
  }
  if (to_limit <= 0) {
    state = CounterState{ceil_ns(tat), 0, 0};
    return;
  }
  const Int128 debt = Int128{tat.ns - now} * from_limit + tat.frac;  // in 1/to_limit ns
  // A steep downgrade can make the debt huge; cap it far beyond any window so TAT fits.
  constexpr Int128 kMaxDebtNs = std::numeric_limits<std::int64_t>::max() / 4;
  const Int128 debt_ns = debt / to_limit;
  if (debt_ns > kMaxDebtNs) {
    state = CounterState{now + static_cast<std::int64_t>(kMaxDebtNs), 0, 0};
    return;
  }
  state = CounterState{now + static_cast<std::int64_t>(debt_ns),
                       static_cast<std::int64_t>(debt % to_limit), 0};
}

}  // namespace gw::limiter::detail

// Internal to limiter/: one set of functions per algorithm, dispatched by check.cpp, plus
// the integer arithmetic they share. Same contract as check.h: pure, noexcept, no
// allocation, no clock. Not for use outside limiter/ (include check.h instead).
//
// All time math is exact integer math on nanoseconds. Products such as count * window can
// exceed 64 bits (a 1e12-unit limit times a 60 s window is 6e22), so they use 128 bits.
#pragma once

#include <cstdint>
#include <limits>

#include "limiter/limit.h"

namespace gw::limiter::detail {

__extension__ typedef __int128 Int128;  // __extension__: GCC's 128-bit type under -Wpedantic

inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Division rounding toward minus / plus infinity. REQUIRES: b > 0.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}
constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b > 0) ? q + 1 : q;
}
constexpr Int128 floor_div(Int128 a, Int128 b) noexcept {
  const Int128 q = a / b;
  return (a % b < 0) ? q - 1 : q;
}
constexpr Int128 ceil_div(Int128 a, Int128 b) noexcept {
  const Int128 q = a / b;
  return (a % b > 0) ? q + 1 : q;
}

// floor((a * b + c) / d) and its ceil, exact for any 64-bit inputs and d > 0 (a result
// beyond 64 bits saturates; the callers' results always fit). The 128-bit division is a
// library call (~10x a 64-bit one), so it is taken only when a * b + c does not fit in 64
// bits (huge limits times long windows).
constexpr std::int64_t saturate(Int128 v) noexcept {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  return v > kMax ? kMax : v < kMin ? kMin : static_cast<std::int64_t>(v);
}

inline std::int64_t floor_muladd_div(std::int64_t a, std::int64_t b, std::int64_t c,
                                     std::int64_t d) noexcept {
  std::int64_t p;
  std::int64_t s;
  if (!__builtin_mul_overflow(a, b, &p) && !__builtin_add_overflow(p, c, &s)) {
    return floor_div(s, d);
  }
  return saturate(floor_div(Int128{a} * b + c, Int128{d}));
}
inline std::int64_t ceil_muladd_div(std::int64_t a, std::int64_t b, std::int64_t c,
                                    std::int64_t d) noexcept {
  std::int64_t p;
  std::int64_t s;
  if (!__builtin_mul_overflow(a, b, &p) && !__builtin_add_overflow(p, c, &s)) {
    return ceil_div(s, d);
  }
  return saturate(ceil_div(Int128{a} * b + c, Int128{d}));
}

// Unix seconds of `t`, rounded up: an instant exactly on a second boundary stays there.
constexpr std::int64_t ceil_unix_seconds(std::int64_t t_ns) noexcept {
  return ceil_div(t_ns, kNanosPerSecond);
}

// Which view of a counter a decision shows: the state as it is, or as it will be once the
// request is charged (only when the limit has room; otherwise it is always `current`).
enum class View : std::uint8_t { current, after_charge };

// What every algorithm works out about a request of `cost` units at `now`; to_decision()
// turns it into the Decision for the requested view.
struct Facts {
  bool room = false;                // remaining_now >= cost
  std::int64_t remaining_now = 0;   // units admissible now, uncharged; < 0 when overspent
  std::int64_t used_now = 0;        // units spent in the current window, uncharged
  std::int64_t reset_now_s = 0;     // reset (Unix seconds, rounded up), uncharged
  std::int64_t reset_after_s = 0;   // reset once charged (differs from reset_now_s for gcra)
  std::int64_t retry_after_ns = 0;  // when !room: time until the request would have room
};

constexpr Decision to_decision(const LimitSpec& spec, const Facts& f, std::int64_t cost,
                               View view) noexcept {
  Decision d;
  d.limit = spec.limit;
  d.over_limit = !f.room;
  d.allowed = f.room || !spec.enforced;
  if (f.room && view == View::after_charge) {
    d.remaining = f.remaining_now - cost;
    d.used = f.used_now + cost;
    d.reset_unix_s = f.reset_after_s;
  } else {
    d.remaining = f.remaining_now > 0 ? f.remaining_now : 0;
    d.used = f.used_now;
    d.reset_unix_s = f.reset_now_s;
    d.retry_after = UnixNanos{f.room ? 0 : f.retry_after_ns};
  }
  return d;
}

Facts fixed_window_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                         std::int64_t cost) noexcept;
void fixed_window_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                          std::int64_t cost) noexcept;
bool fixed_window_expired(const LimitSpec& spec, const CounterState& state,
                          std::int64_t now) noexcept;

Facts sliding_window_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                           std::int64_t cost) noexcept;
void sliding_window_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                            std::int64_t cost) noexcept;
bool sliding_window_expired(const LimitSpec& spec, const CounterState& state,
                            std::int64_t now) noexcept;

Facts gcra_facts(const LimitSpec& spec, const CounterState& state, std::int64_t now,
                 std::int64_t cost) noexcept;
void gcra_consume(const LimitSpec& spec, CounterState& state, std::int64_t now,
                  std::int64_t cost) noexcept;
bool gcra_expired(const LimitSpec& spec, const CounterState& state, std::int64_t now) noexcept;
// Re-expresses a GCRA counter kept under limit `from_limit` for `to_limit` (same window).
void gcra_carry_over(std::int64_t from_limit, std::int64_t to_limit, CounterState& state,
                     std::int64_t now) noexcept;

}  // namespace gw::limiter::detail

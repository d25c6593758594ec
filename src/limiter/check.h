// The limiter core: pure functions of (spec, state, now, cost).
//
// evaluate() says what a request of `cost` units would get from one counter without
// changing it; consume() charges it. check_all() is the all-or-nothing check of several
// limits: the request is admitted only if every enforced limit has room, and a rejected
// request consumes nothing. Not thread-safe by itself: callers hold the counters' lock.
// No I/O, no clock reads, no allocation, no exceptions; `now` is wall time (Unix ns).
//
// REQUIRES everywhere: spec.limit >= 0, spec.window > 0, cost >= 0 (config/ validates).
// A cost above the limit can never be admitted; its retry_after is one window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "limiter/limit.h"

namespace gw::limiter {

// The decision for one counter: if the limit has room, as it will be after charging `cost`;
// if not, the counter as it is.
Decision evaluate(const LimitSpec& spec, const CounterState& state, UnixNanos now,
                  std::int64_t cost) noexcept;

// Charges `cost` unconditionally (callers charge only what evaluate() found room for).
void consume(const LimitSpec& spec, CounterState& state, UnixNanos now, std::int64_t cost) noexcept;

// Writes one decision per limit into `out` (same order as `specs`; sizes must match) and
// returns whether the request is admitted. When admitted, every counter with room is
// charged and the decisions show the state after the charge.
// Admitted iff every *enforced* limit has room; a shadow limit without room is reported
// (over_limit) but neither blocks nor is charged. Rejected: nothing is charged and every
// decision shows the counter as it is. `states` must point at distinct counters.
bool check_all(std::span<const LimitSpec> specs, std::span<CounterState* const> states,
               UnixNanos now, std::int64_t cost, std::span<Decision> out) noexcept;

// check_all() without charging: returns whether the request would be admitted, and every
// decision shows the counter as it is (remaining/used now). For status pages and peek().
bool peek_all(std::span<const LimitSpec> specs, std::span<const CounterState> states, UnixNanos now,
              std::int64_t cost, std::span<Decision> out) noexcept;

// Adapts a counter kept under `from` to `to` (a plan change). Same algorithm and window:
// the units already spent stay spent (for GCRA the debt is rescaled to the new limit).
// Another algorithm or window: the counter starts afresh. `enforced` plays no part.
void carry_over(const LimitSpec& from, const LimitSpec& to, CounterState& state,
                UnixNanos now) noexcept;

// True when the counter holds nothing worth keeping at `now` (it may be reclaimed).
bool is_expired(const LimitSpec& spec, const CounterState& state, UnixNanos now) noexcept;

// Index of the most constraining decision (lowest remaining; on a tie, the later reset;
// then the first), the one the X-RateLimit-* headers report. For a rejected request, the
// first enforced over-limit decision (over_limit && !allowed) with the longest retry_after.
// REQUIRES: !decisions.empty().
std::size_t most_constraining(std::span<const Decision> decisions, bool admitted) noexcept;

}  // namespace gw::limiter

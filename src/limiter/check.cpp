// Dispatch to the algorithms (fixed_window.cpp, sliding_window.cpp, gcra.cpp) and the
// all-or-nothing combination of several limits.
#include "limiter/check.h"

#include <cassert>

#include "limiter/algorithms.h"

namespace gw::limiter {
namespace {

using detail::Facts;
using detail::View;

Facts facts(const LimitSpec& spec, const CounterState& state, UnixNanos now,
            std::int64_t cost) noexcept {
  assert(spec.window.count() > 0 && spec.limit >= 0 && cost >= 0);
  switch (spec.algorithm) {
    case Algorithm::sliding_window:
      return detail::sliding_window_facts(spec, state, now.count(), cost);
    case Algorithm::gcra:
      return detail::gcra_facts(spec, state, now.count(), cost);
    case Algorithm::fixed_window:
      break;
  }
  return detail::fixed_window_facts(spec, state, now.count(), cost);
}

Decision decide(const LimitSpec& spec, const CounterState& state, UnixNanos now, std::int64_t cost,
                View view) noexcept {
  return detail::to_decision(spec, facts(spec, state, now, cost), cost, view);
}

}  // namespace

Decision evaluate(const LimitSpec& spec, const CounterState& state, UnixNanos now,
                  std::int64_t cost) noexcept {
  return decide(spec, state, now, cost, View::after_charge);
}

void consume(const LimitSpec& spec, CounterState& state, UnixNanos now,
             std::int64_t cost) noexcept {
  switch (spec.algorithm) {
    case Algorithm::sliding_window:
      return detail::sliding_window_consume(spec, state, now.count(), cost);
    case Algorithm::gcra:
      return detail::gcra_consume(spec, state, now.count(), cost);
    case Algorithm::fixed_window:
      break;
  }
  detail::fixed_window_consume(spec, state, now.count(), cost);
}

bool check_all(std::span<const LimitSpec> specs, std::span<CounterState* const> states,
               UnixNanos now, std::int64_t cost, std::span<Decision> out) noexcept {
  assert(specs.size() == states.size() && specs.size() == out.size());
  // Decide everything first (as if charged), then either charge or, if one enforced limit
  // says no, restate the limits that had room as they are: a rejection charges nothing.
  bool admitted = true;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    out[i] = decide(specs[i], *states[i], now, cost, View::after_charge);
    admitted = admitted && out[i].allowed;
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (out[i].over_limit) {
      continue;  // already shows the counter as it is; a shadow limit over it is not charged
    }
    if (admitted) {
      consume(specs[i], *states[i], now, cost);
    } else {
      out[i] = decide(specs[i], *states[i], now, cost, View::current);
    }
  }
  return admitted;
}

bool peek_all(std::span<const LimitSpec> specs, std::span<const CounterState> states, UnixNanos now,
              std::int64_t cost, std::span<Decision> out) noexcept {
  assert(specs.size() == states.size() && specs.size() == out.size());
  bool admitted = true;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    out[i] = decide(specs[i], states[i], now, cost, View::current);
    admitted = admitted && out[i].allowed;
  }
  return admitted;
}

void carry_over(const LimitSpec& from, const LimitSpec& to, CounterState& state,
                UnixNanos now) noexcept {
  if (from.algorithm != to.algorithm || from.window != to.window) {
    state = CounterState{};
    return;
  }
  // Window counters count units, which mean the same under any limit.
  if (to.algorithm == Algorithm::gcra && from.limit != to.limit) {
    detail::gcra_carry_over(from.limit, to.limit, state, now.count());
  }
}

bool is_expired(const LimitSpec& spec, const CounterState& state, UnixNanos now) noexcept {
  switch (spec.algorithm) {
    case Algorithm::sliding_window:
      return detail::sliding_window_expired(spec, state, now.count());
    case Algorithm::gcra:
      return detail::gcra_expired(spec, state, now.count());
    case Algorithm::fixed_window:
      break;
  }
  return detail::fixed_window_expired(spec, state, now.count());
}

std::size_t most_constraining(std::span<const Decision> decisions, bool admitted) noexcept {
  assert(!decisions.empty());
  if (!admitted) {
    // The limit that blocks longest is the one worth telling the client about.
    std::size_t best = decisions.size();
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const Decision& d = decisions[i];
      if (d.over_limit && !d.allowed &&
          (best == decisions.size() || d.retry_after > decisions[best].retry_after)) {
        best = i;
      }
    }
    if (best != decisions.size()) {
      return best;
    }
    // No enforced limit said no (inconsistent input): fall back to the header rule.
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    const Decision& b = decisions[best];
    if (d.remaining < b.remaining ||
        (d.remaining == b.remaining && d.reset_unix_s > b.reset_unix_s)) {
      best = i;
    }
  }
  return best;
}

}  // namespace gw::limiter

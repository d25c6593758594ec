// Token bucket for streams. The level is a double (fractions of a token accumulate between
// frames; a 4096-byte frame at 30000 B/s refills in 136533333.3 ns), and every time is a
// whole number of nanoseconds.
//
// The one promise that floating point makes delicate is the boundary: waiting exactly
// wait_for(cost, now) and then calling wait_for again must give zero, and (while the
// elapsed time is exactly representable, < 2^53 ns = 104 days) waiting 1 ns less must not.
// So wait_for does not trust its closed-form estimate: it evaluates the level at the
// candidate instant with the very same arithmetic that refill() will use, and nudges the
// instant by nanoseconds until that holds.
//
// Time that goes backwards (a `now` older than the last update) adds nothing and is not
// remembered, so a stale caller can neither mint tokens nor lose any.
#include "limiter/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gw::limiter {
namespace {

using Nanos = TokenBucket::Nanos;

constexpr double kNanosPerSecond = 1e9;
// Below this many nanoseconds of elapsed time an int64 converts to double exactly, so the
// level is a monotone function of each nanosecond and the boundary can be found exactly.
constexpr std::int64_t kExactNanos = std::int64_t{1} << 53;
// Nanos::max() as a double rounds up to 2^63; anything at least that is "never".
constexpr double kMaxNanos = 9.2e18;

std::int64_t elapsed_ns(Nanos from, Nanos to) noexcept {
  if (to <= from) {
    return 0;
  }
  std::int64_t out;
  if (__builtin_sub_overflow(to.count(), from.count(), &out)) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return out;
}

Nanos saturating_add(Nanos t, std::int64_t ns) noexcept {
  std::int64_t out;
  if (__builtin_add_overflow(t.count(), ns, &out)) {
    return Nanos::max();
  }
  return Nanos{out};
}

}  // namespace

TokenBucket::TokenBucket(std::int64_t rate_per_second, Nanos now) noexcept
    : rate_(std::max<std::int64_t>(rate_per_second, 0)),
      tokens_(static_cast<double>(rate_)),
      updated_(now) {}

double TokenBucket::tokens(Nanos now) const noexcept {
  const std::int64_t elapsed = elapsed_ns(updated_, now);
  if (elapsed == 0) {
    return tokens_;
  }
  // Multiply before dividing: elapsed * rate is exact for the common magnitudes, so a whole
  // number of tokens' worth of nanoseconds yields exactly that many tokens.
  const double gained = static_cast<double>(elapsed) * static_cast<double>(rate_) / kNanosPerSecond;
  return std::min(static_cast<double>(rate_), tokens_ + gained);
}

void TokenBucket::refill(Nanos now) noexcept {
  if (now > updated_) {
    tokens_ = tokens(now);
    updated_ = now;
  }
}

TokenBucket::Nanos TokenBucket::wait_for(std::int64_t cost, Nanos now) const noexcept {
  if (cost <= 0) {
    return Nanos::zero();  // nothing to take, even in debt: no rate can be broken by it
  }
  if (rate_ == 0) {
    return Nanos::max();
  }
  // A cost above the capacity only needs a full bucket (see the header).
  const double target = static_cast<double>(std::min(cost, rate_));
  if (tokens(now) >= target) {
    return Nanos::zero();
  }

  // Closed form, from the last update: tokens_ + e * rate / 1e9 >= target. The cap in
  // tokens() cannot get in the way since target <= capacity.
  const double estimate =
      std::ceil((target - tokens_) * kNanosPerSecond / static_cast<double>(rate_));
  if (!(estimate < kMaxNanos)) {
    return Nanos::max();
  }
  Nanos at = std::max(now, saturating_add(updated_, static_cast<std::int64_t>(estimate)));
  if (at == Nanos::max()) {
    return Nanos::max();
  }

  // Rounding may leave the estimate a nanosecond short (or long). Walk up until refill()
  // would agree, doubling the step so that, past 2^53 ns where one nanosecond may not change
  // the double at all, this still ends in a few steps.
  for (std::int64_t step = 1; tokens(at) < target; step *= 2) {
    at = saturating_add(at, step);
    if (at == Nanos::max()) {
      return Nanos::max();
    }
  }
  // Then down to the first such nanosecond, where each nanosecond is distinct.
  if (elapsed_ns(updated_, at) < kExactNanos) {
    while (at > now && tokens(at - Nanos{1}) >= target) {
      at -= Nanos{1};
    }
  }
  return at - now;
}

void TokenBucket::take(std::int64_t cost, Nanos now) noexcept {
  refill(now);
  if (cost > 0) {
    tokens_ -= static_cast<double>(cost);
  }
}

void TokenBucket::set_rate(std::int64_t rate_per_second, Nanos now) noexcept {
  // Tokens earned so far were earned at the old rate; what was spent of the old capacity
  // (capacity - tokens, more than the capacity in debt) stays spent of the new one.
  refill(now);
  const std::int64_t rate = std::max<std::int64_t>(rate_per_second, 0);
  tokens_ += static_cast<double>(rate) - static_cast<double>(rate_);
  rate_ = rate;
}

}  // namespace gw::limiter

// A token bucket for WebSocket streams (SPEC §5): `rate` tokens per second, a capacity of
// one second's worth (`burst` = rate), starting full. A pure value type: no clock, no
// locks; the stream that owns it passes `now` (steady time) and is its only user.
//
// A message may cost more than the whole bucket (a binary audio frame larger than one
// second of audio): it is admitted once the bucket is full and leaves it in debt, so the
// long-run rate still holds and no frame size can stall a stream forever.
#pragma once

#include <chrono>
#include <cstdint>

namespace gw::limiter {

class TokenBucket {
 public:
  using Nanos = std::chrono::nanoseconds;

  // rate >= 0 tokens per second (0: nothing is ever admitted). Starts full at `now`.
  TokenBucket(std::int64_t rate_per_second, Nanos now) noexcept;

  // How long from `now` until `cost` tokens can be taken; zero when they can be now.
  // For rate 0, Nanos::max().
  Nanos wait_for(std::int64_t cost, Nanos now) const noexcept;

  // Takes `cost` tokens. REQUIRES: wait_for(cost, now) == 0.
  void take(std::int64_t cost, Nanos now) noexcept;

  // A new rate (plan change, SPEC §5): what was spent is kept, the new capacity applies.
  // The deficit (capacity - tokens) carries over: a quiet bucket upgraded from 100 to 1000
  // holds 1000 (the new burst), one that spent 500 of 1000 and is downgraded to 100 owes
  // 400 — as HTTP counters keep the units spent in their window.
  void set_rate(std::int64_t rate_per_second, Nanos now) noexcept;

  std::int64_t rate() const noexcept { return rate_; }
  double tokens(Nanos now) const noexcept;  // may be negative (debt)

 private:
  void refill(Nanos now) noexcept;

  std::int64_t rate_;
  double tokens_;
  Nanos updated_;
};

}  // namespace gw::limiter

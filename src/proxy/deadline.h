// The deadline of a connection's current phase (reading a head, waiting for the upstream,
// writing an answer...). A connection arms it as a phase starts; its worker's sweep asks
// due() every Worker::kDeadlineTick and cancels the connection's I/O once it is. One
// deadline per connection instead of a timer armed around every read and write (Beast's
// tcp_stream expiry cost about a tenth of a proxied request's instructions). Times come
// from core::Clock::steady_now(), so the arithmetic is exact under a FakeClock.
// Thread-safety: none (one connection's, on its worker's thread).
#pragma once

#include <chrono>

#include "core/clock.h"

namespace gw::proxy {

class Deadline {
 public:
  void arm(core::SteadyTime now, std::chrono::milliseconds timeout) noexcept {
    at_ = now + timeout;
  }
  void disarm() noexcept { at_ = core::SteadyTime::max(); }
  bool armed() const noexcept { return at_ != core::SteadyTime::max(); }
  // Whether the phase has run out at `now` (a deadline is due from its instant on).
  bool due(core::SteadyTime now) const noexcept { return now >= at_; }

 private:
  core::SteadyTime at_ = core::SteadyTime::max();
};

}  // namespace gw::proxy

// A clock that moves only when told to. For tests and for tools that replay time.
// Thread-safe: the time is one atomic word.
#pragma once

#include <atomic>

#include "core/clock.h"

namespace gw::core {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixNanos start = UnixNanos{0}) : now_(start.count()) {}

  UnixNanos now() const noexcept override {
    return UnixNanos{now_.load(std::memory_order_relaxed)};
  }
  void set(UnixNanos t) noexcept { now_.store(t.count(), std::memory_order_relaxed); }
  void advance(UnixNanos d) noexcept { now_.fetch_add(d.count(), std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace gw::core

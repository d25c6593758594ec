// The memory every stream's unfinished client message may hold beyond a first piece that
// each stream gets for free (websocket.max_buffered_bytes): a stream whose message would
// overrun it is closed with 1013 (try again later) instead of the process growing until
// it is killed. With the free piece, stream memory stays under
// max_streams x kFreeBytes + max_buffered_bytes.
// Thread-safety: lock-free; every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace gw::stream {

class MessageBudget {
 public:
  // What a stream may buffer of one message without drawing on the budget: twice the
  // relay's read piece, so ordinary messages never touch the shared counter.
  static constexpr std::uint64_t kFreeBytes = 128 * 1024;

  // Takes `bytes` from a budget of `budget` in all; false (and nothing taken) if it would
  // overrun.
  bool try_reserve(std::uint64_t bytes, std::uint64_t budget) noexcept {
    std::uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > budget || used > budget - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> used_{0};
};

}  // namespace gw::stream

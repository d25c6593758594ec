// Hands every thread the current immutable value of something that is replaced as a
// whole (the running configuration on SIGHUP). publish() is called by app/ at start-up and
// on each successful reload; readers compare version() (one acquire load, per request)
// and re-read current() only when it moved, so the request path never touches the
// shared_ptr's control block. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace gw::core {

template <typename T>
class VersionedSource {
 public:
  explicit VersionedSource(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

  std::shared_ptr<const T> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Moves (by one) on every publish(); starts at 1.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  void publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mutex_);
      current_ = std::move(next);
    }
    version_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> version_{1};
};

}  // namespace gw::core

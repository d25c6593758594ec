// Hands every worker the current immutable Policy. publish() is called by app/ at start-up
// and on each successful reload; workers compare version() (one relaxed atomic load per
// request) and re-read current() only when it moved, so the request path never touches the
// shared_ptr's control block. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "policy/policy.h"

namespace gw::policy {

class PolicySource {
 public:
  explicit PolicySource(std::shared_ptr<const Policy> initial) : current_(std::move(initial)) {}

  std::shared_ptr<const Policy> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  void publish(std::shared_ptr<const Policy> next) {
    {
      std::lock_guard lock(mutex_);
      current_ = std::move(next);
    }
    version_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Policy> current_;
  std::atomic<std::uint64_t> version_{1};
};

}  // namespace gw::policy

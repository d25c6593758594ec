// on_failure: local (SPEC §7): counters in Redis while it answers, per-instance counters
// in memory when it does not. A check that fails on the remote store (unavailable,
// timeout, a transient error) is decided by the local store instead, so the instance
// keeps limiting on its own; nothing is merged back when Redis returns (the local window
// simply ends).
//
// Thread-safety and completion: as CounterStore.
#pragma once

#include <functional>

#include "store/counter_store.h"

namespace gw::store {

class LocalFallbackCounterStore final : public CounterStore {
 public:
  // Both stores must outlive this one. `on_fallback` runs (on the completing loop) for
  // every decision the local store made, for metrics.
  LocalFallbackCounterStore(CounterStore& remote, CounterStore& local,
                            std::function<void()> on_fallback);

  void check(const CheckRequest& request, core::UnixNanos now,
             boost::asio::any_io_executor executor, CheckHandler done) override;
  std::optional<CheckOutcome> check_immediately(const CheckRequest& request,
                                                core::UnixNanos now) override;
  void peek(const CheckRequest& request, core::UnixNanos now, boost::asio::any_io_executor executor,
            CheckHandler done) override;

 private:
  void run(bool charge, const CheckRequest& request, core::UnixNanos now,
           boost::asio::any_io_executor executor, CheckHandler done);

  CounterStore& remote_;
  CounterStore& local_;
  std::function<void()> on_fallback_;
};

}  // namespace gw::store

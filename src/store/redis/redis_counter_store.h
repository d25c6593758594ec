// RedisCounterStore: every subject's counters in Redis (store.backend: redis), shared by
// all gateway instances. A check is one EVALSHA of check_script() on the subject's hash:
// the same all-or-nothing decisions as MemoryCounterStore, atomic across instances, with
// Redis's clock as the time (the `now` passed in does not decide anything).
//
// Over-limit cache: check_immediately() refuses, without a round trip, a request that
// Redis recently refused on an enforced limit whose wait has not yet passed (see
// over_limit_cache.h for exactly when, and what the decisions then say). It never admits,
// so the worst it can do is refuse until the wait Redis gave is over, e.g. after Redis
// lost its data. One cache per thread and store, no locks: a thread learns from the
// replies its own loop receives.
//
// Errors: the client's (timeout, unavailable) pass through; an error reply or a malformed
// reply is a protocol_error (transient when Redis says it will recover: LOADING, BUSY...);
// a request the script cannot take (check_request_error()) is a non-transient
// protocol_error, reported without asking Redis.
// Thread-safety: every method may be called from any thread.
// Completion: `done` runs exactly once, on `executor`, never inline from the call.
// Lifetime: the client must outlive the store; calls in flight do not refer to the store.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "core/clock.h"
#include "store/counter_store.h"
#include "store/redis/over_limit_cache.h"
#include "store/redis/redis_client.h"

namespace gw::store {

struct RedisCounterStoreOptions {
  // Entries in each thread's over-limit cache; 0 turns the cache off.
  std::size_t over_limit_cache_capacity = redis::OverLimitCache::kDefaultCapacity;
  // Steady time for the cache's deadlines (tests pass a FakeClock). Outlives the store.
  const core::Clock* clock = &core::real_clock();
};

class RedisCounterStore final : public CounterStore {
 public:
  // The client should preload check_script() (ClientOptions::scripts); if it does not,
  // the first check of each connection costs one EVAL.
  explicit RedisCounterStore(redis::RedisClient& client, RedisCounterStoreOptions options = {});

  RedisCounterStore(const RedisCounterStore&) = delete;
  RedisCounterStore& operator=(const RedisCounterStore&) = delete;

  // CounterStore
  void check(const CheckRequest& request, core::UnixNanos now,
             boost::asio::any_io_executor executor, CheckHandler done) override;
  // A refusal from this thread's over-limit cache, or nullopt (ask check()). Also answers
  // what needs no Redis: a request without limits (admitted), an invalid one (error).
  std::optional<CheckOutcome> check_immediately(const CheckRequest& request,
                                                core::UnixNanos now) override;
  // Never cached: always Redis's current view.
  void peek(const CheckRequest& request, core::UnixNanos now, boost::asio::any_io_executor executor,
            CheckHandler done) override;

 private:
  redis::RedisClient& client_;
  RedisCounterStoreOptions options_;
  std::uint64_t id_;  // names this store's per-thread caches; never reused
};

}  // namespace gw::store

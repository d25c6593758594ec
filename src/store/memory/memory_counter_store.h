// MemoryCounterStore: every subject's counters in this process's memory (store.backend:
// memory, and the per-instance fallback of on_failure: local).
//
// Sharded: the subject's hash picks one of a power-of-two number of shards, each a mutex
// and a flat hash map of subject -> that subject's counters. All limits of one request
// belong to one subject, so the all-or-nothing check takes exactly one shard lock; there is
// no global lock, and different subjects rarely contend.
// Memory: bounded by the subjects active within their windows. A counter whose state has
// expired is reused in place when touched; sweep() (the gateway calls it periodically)
// erases what no longer affects any decision. A restart forgets every counter (SPEC §7).
// Plan changes: a counter kept under another spec is adapted with limiter::carry_over()
// (same window and algorithm: spent units stay spent; otherwise it starts afresh).
// Thread-safety: every method may be called concurrently from any thread.
// Time: callers pass `now` (wall time, Unix nanoseconds); the store never reads a clock.
// Bounds: check(), check_immediately() and peek() refuse what the Redis store refuses
// (store/check_bounds.h: limits and costs up to limiter::kMaxLimit), so the two backends
// take exactly the same checks.
#pragma once

#include <cstddef>
#include <memory>

#include "store/counter_store.h"

namespace gw::store {

class MemoryCounterStore final : public CounterStore {
 public:
  static constexpr std::size_t kDefaultShardCount = 64;

  // `shard_count` is rounded up to a power of two (at least 1).
  explicit MemoryCounterStore(std::size_t shard_count = kDefaultShardCount);
  ~MemoryCounterStore() override;

  MemoryCounterStore(const MemoryCounterStore&) = delete;
  MemoryCounterStore& operator=(const MemoryCounterStore&) = delete;

  // The synchronous core of check() / peek(), for tests, benchmarks and the local fallback.
  // REQUIRES: request.limits.size() <= kMaxLimitsPerCheck, distinct limit names, cost >= 0
  // (a request with too many limits is rejected with no decisions; check() reports it as
  // a protocol_error instead).
  CheckResult check_now(const CheckRequest& request, core::UnixNanos now);
  // Never creates or changes a counter; decisions show the counters as they are.
  CheckResult peek_now(const CheckRequest& request, core::UnixNanos now) const;

  // CounterStore. Computed synchronously; `done` is posted to `executor`, never inline.
  void check(const CheckRequest& request, core::UnixNanos now,
             boost::asio::any_io_executor executor, CheckHandler done) override;
  void peek(const CheckRequest& request, core::UnixNanos now, boost::asio::any_io_executor executor,
            CheckHandler done) override;
  // Always answers: the check is check_now().
  std::optional<CheckOutcome> check_immediately(const CheckRequest& request,
                                                core::UnixNanos now) override;

  // Forgets expired counters, and subjects left with none; returns the number of subjects
  // erased. Locks one shard at a time, so checks on other shards go on meanwhile.
  std::size_t sweep(core::UnixNanos now);

  // Subjects held: live ones plus expired ones not yet swept. For tests and metrics.
  std::size_t size() const;

 private:
  struct Shard;
  struct Names;

  Shard& shard_for(std::size_t hash) const noexcept;

  std::size_t shard_mask_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<Names> names_;  // limit names, interned (see the .cpp)
};

}  // namespace gw::store

// OverLimitCache: the limits Redis has recently refused, so that a client that keeps
// calling while over its limit is refused locally instead of costing a round trip (and a
// script run) per request. RedisCounterStore keeps one per thread (check_immediately()).
//
// What it knows: an entry per (subject, limit name, spec: limit, window, algorithm,
// enforced; and the request's cost), learnt from one refusal Redis sent:
// - a *refusing* entry for each enforced limit that had no room, until the time that limit
//   said it would have room (retry_after). Sound: without new quota nothing frees a limit
//   before then, and a refusal charges nothing.
// - a *snapshot* entry for each other limit of that request (room, or shadow over), as
//   Redis reported it: used only to report that limit in a local refusal, and kept at most
//   until the refusal ends, its window resets, or (shadow over) its own retry_after.
// lookup() answers a refusal only if some enforced limit of the request has a live
// refusing entry AND every limit of the request has a live entry (so every decision it
// reports is one Redis gave, retry_after shortened by the time since); otherwise nullopt
// and the caller asks Redis. It never admits. Another spec (a plan change) or another cost
// is another key, so it misses. An admitted reply erases what it knew of those limits.
//
// Bounded: at most `capacity` entries; when full, expired entries are dropped, and if that
// is not enough, everything (it is only a shortcut).
// Time: steady time is passed in (tests drive it); `now` (wall) only places a limit's
// reset, which Redis gives in Unix seconds, on the steady clock.
// Thread-safety: none; one instance per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "core/clock.h"
#include "store/counter_store.h"

namespace gw::store::redis {

class OverLimitCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr std::size_t kDefaultCapacity = 4096;

  explicit OverLimitCache(std::size_t capacity = kDefaultCapacity);
  ~OverLimitCache();
  OverLimitCache(const OverLimitCache&) = delete;
  OverLimitCache& operator=(const OverLimitCache&) = delete;

  // Learns from Redis's answer `result` to `request`, checked at wall time `now`.
  // `sent_at`: steady time the request left; Redis decided at or after it, so deadlines
  // counted from it are never later than Redis's own.
  void record(const CheckRequest& request, const CheckResult& result, core::UnixNanos now,
              TimePoint sent_at);

  // The refusal of `request` at `steady_now`, if the cache can answer it (see above).
  std::optional<CheckResult> lookup(const CheckRequest& request, TimePoint steady_now);

  bool empty() const noexcept;
  std::size_t size() const noexcept;  // entries, live or not yet dropped

 private:
  struct Map;
  std::unique_ptr<Map> map_;
  std::size_t capacity_;
};

}  // namespace gw::store::redis

// Per-account allowed/denied request counts over the last 60 minutes, for the admin
// usage view (SPEC §6 GET /admin/v1/accounts/{id}/usage).
//
// Each account has a ring of 60 one-minute buckets aligned to the Unix minute; a bucket
// is reused (reset) when its minute comes round again, so "the last 60 minutes" is the
// current minute and the 59 before it. Counts are per gateway instance and are lost on
// restart: this is an operator's view, not billing.
//
// Thread-safe. record() is on the request path: one hash of the account id, one mutex of
// 16 shards, one map lookup, no allocation once the account is known. Memory is bounded
// by the accounts seen in the last hour: sweep() (call it every minute or so) drops the
// accounts with nothing in their window.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/string_map.h"

namespace gw::metrics {

struct UsageCounts {
  std::uint64_t allowed = 0;
  std::uint64_t denied = 0;
};

class UsageHistory {
 public:
  static constexpr std::size_t kMinutes = 60;

  UsageHistory() = default;
  UsageHistory(const UsageHistory&) = delete;
  UsageHistory& operator=(const UsageHistory&) = delete;

  // One decision for `account_id` at `now`: allowed (admitted, or shadow-denied) or denied.
  void record(std::string_view account_id, bool allowed, core::UnixNanos now);

  // The sums over the minute of `now` and the 59 minutes before it. Zero for an unknown
  // account. Buckets from minutes after `now` (a clock that stepped back) are not counted.
  UsageCounts last_60_minutes(std::string_view account_id, core::UnixNanos now) const;

  // Drops every account whose last record is 60 minutes or more before the minute of
  // `now` (its window is empty). Returns how many were dropped.
  std::size_t sweep(core::UnixNanos now);

  // Accounts currently held (for tests and a memory gauge).
  std::size_t size() const;

 private:
  struct Bucket {
    std::int64_t minute = INT64_MIN;  // Unix minute this bucket counts; INT64_MIN = unused
    std::uint64_t allowed = 0;
    std::uint64_t denied = 0;
  };
  struct Ring {
    std::array<Bucket, kMinutes> buckets{};
    std::int64_t last_minute = INT64_MIN;  // newest minute recorded
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Ring, core::StringHash, std::equal_to<>>
        accounts;  // guarded by mutex
  };
  static constexpr std::size_t kShards = 16;

  Shard& shard_for(std::string_view account_id) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace gw::metrics

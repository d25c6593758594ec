#include "metrics/usage_history.h"

#include <chrono>

namespace gw::metrics {
namespace {

constexpr std::int64_t kMinuteNs = std::chrono::nanoseconds(std::chrono::minutes(1)).count();

// Floor division, so instants before the epoch (only in tests) land in the right minute.
std::int64_t minute_of(core::UnixNanos now) {
  const std::int64_t ns = now.count();
  return ns >= 0 ? ns / kMinuteNs : -((-ns + kMinuteNs - 1) / kMinuteNs);
}

std::size_t slot_of(std::int64_t minute) {
  const auto n = static_cast<std::int64_t>(UsageHistory::kMinutes);
  return static_cast<std::size_t>(((minute % n) + n) % n);
}

}  // namespace

UsageHistory::Shard& UsageHistory::shard_for(std::string_view account_id) const {
  // The low bits of libstdc++'s string hash are well mixed; the map itself rehashes them.
  return shards_[core::StringHash{}(account_id) % kShards];
}

void UsageHistory::record(std::string_view account_id, bool allowed, core::UnixNanos now) {
  const std::int64_t minute = minute_of(now);
  Shard& shard = shard_for(account_id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.accounts.find(account_id);
  if (it == shard.accounts.end()) {
    it = shard.accounts.emplace(std::string(account_id), Ring{}).first;
  }
  Ring& ring = it->second;
  Bucket& bucket = ring.buckets[slot_of(minute)];
  if (bucket.minute != minute) {
    // The slot still holds the same minute of an earlier hour (or nothing): start over.
    bucket = Bucket{.minute = minute};
  }
  ++(allowed ? bucket.allowed : bucket.denied);
  if (minute > ring.last_minute) ring.last_minute = minute;
}

UsageCounts UsageHistory::last_60_minutes(std::string_view account_id, core::UnixNanos now) const {
  const std::int64_t current = minute_of(now);
  const std::int64_t oldest = current - static_cast<std::int64_t>(kMinutes) + 1;
  Shard& shard = shard_for(account_id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.accounts.find(account_id);
  if (it == shard.accounts.end()) return {};
  UsageCounts counts;
  for (const Bucket& bucket : it->second.buckets) {
    if (bucket.minute >= oldest && bucket.minute <= current) {
      counts.allowed += bucket.allowed;
      counts.denied += bucket.denied;
    }
  }
  return counts;
}

std::size_t UsageHistory::sweep(core::UnixNanos now) {
  const std::int64_t oldest = minute_of(now) - static_cast<std::int64_t>(kMinutes) + 1;
  std::size_t dropped = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    dropped += std::erase_if(shard.accounts,
                             [&](const auto& entry) { return entry.second.last_minute < oldest; });
  }
  return dropped;
}

std::size_t UsageHistory::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.accounts.size();
  }
  return n;
}

}  // namespace gw::metrics

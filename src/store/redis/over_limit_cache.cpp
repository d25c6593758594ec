#include "store/redis/over_limit_cache.h"

#include <algorithm>
#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace gw::store::redis {
namespace {

using Duration = OverLimitCache::TimePoint::duration;
using limiter::Decision;
using limiter::LimitSpec;

struct KeyView {
  std::string_view subject;
  std::string_view name;
  std::int64_t limit = 0;
  std::int64_t window_ns = 0;
  std::int64_t cost = 0;
  limiter::Algorithm algorithm{};
  bool enforced = true;
};

struct Key {
  std::string subject;
  std::string name;
  std::int64_t limit = 0;
  std::int64_t window_ns = 0;
  std::int64_t cost = 0;
  limiter::Algorithm algorithm{};
  bool enforced = true;

  KeyView view() const noexcept {
    return {subject, name, limit, window_ns, cost, algorithm, enforced};
  }
};

KeyView key_of(const CheckRequest& request, std::size_t i) noexcept {
  const LimitRef& ref = request.limits[i];
  const LimitSpec& spec = ref.spec;
  return {request.subject, ref.name,       spec.limit,   spec.window.count(),
          request.cost,    spec.algorithm, spec.enforced};
}

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const KeyView& k) const noexcept {
    std::size_t seed = std::hash<std::string_view>{}(k.subject);
    boost::hash_combine(seed, std::hash<std::string_view>{}(k.name));
    boost::hash_combine(seed, k.limit);
    boost::hash_combine(seed, k.window_ns);
    boost::hash_combine(seed, k.cost);
    boost::hash_combine(seed, static_cast<int>(k.algorithm) * 2 + (k.enforced ? 1 : 0));
    return seed;
  }
  std::size_t operator()(const Key& k) const noexcept { return (*this)(k.view()); }
};

struct KeyEqual {
  using is_transparent = void;
  static bool same(const KeyView& a, const KeyView& b) noexcept {
    return a.limit == b.limit && a.window_ns == b.window_ns && a.cost == b.cost &&
           a.algorithm == b.algorithm && a.enforced == b.enforced && a.name == b.name &&
           a.subject == b.subject;
  }
  bool operator()(const Key& a, const Key& b) const noexcept { return same(a.view(), b.view()); }
  bool operator()(const KeyView& a, const Key& b) const noexcept { return same(a, b.view()); }
  bool operator()(const Key& a, const KeyView& b) const noexcept { return same(a.view(), b); }
};

struct Entry {
  Decision decision;  // as Redis reported it
  OverLimitCache::TimePoint recorded_at;
  OverLimitCache::TimePoint expires_at;
  bool refusing = false;  // an enforced limit without room; else a snapshot (see header)
};

Duration to_steady(std::chrono::nanoseconds d) noexcept {
  return std::chrono::duration_cast<Duration>(d);
}

}  // namespace

struct OverLimitCache::Map {
  boost::unordered_flat_map<Key, Entry, KeyHash, KeyEqual> entries;
};

OverLimitCache::OverLimitCache(std::size_t capacity)
    : map_(std::make_unique<Map>()), capacity_(capacity) {}

OverLimitCache::~OverLimitCache() = default;

bool OverLimitCache::empty() const noexcept { return map_->entries.empty(); }

std::size_t OverLimitCache::size() const noexcept { return map_->entries.size(); }

void OverLimitCache::record(const CheckRequest& request, const CheckResult& result,
                            core::UnixNanos now, TimePoint sent_at) {
  auto& entries = map_->entries;
  const std::size_t n = request.limits.size();
  if (capacity_ == 0 || n == 0 || n > kMaxLimitsPerCheck || result.count != n) return;

  if (result.admitted) {
    // Whatever was known of these limits is wrong now (or was never used: snapshots).
    if (entries.empty()) return;
    for (std::size_t i = 0; i < n; ++i) {
      if (const auto it = entries.find(key_of(request, i)); it != entries.end()) {
        entries.erase(it);
      }
    }
    return;
  }

  // The refusal lasts until its last refusing limit has room.
  TimePoint refusal_end = sent_at;
  for (std::size_t i = 0; i < n; ++i) {
    const Decision& d = result.decisions[i];
    if (!d.allowed && d.retry_after.count() > 0) {
      refusal_end = std::max(refusal_end, sent_at + to_steady(d.retry_after));
    }
  }
  if (refusal_end == sent_at) return;  // no limit said when; nothing to go by

  for (std::size_t i = 0; i < n; ++i) {
    const Decision& d = result.decisions[i];
    const bool refusing = !d.allowed;
    TimePoint expires = refusing ? sent_at + to_steady(d.retry_after) : refusal_end;
    if (!refusing) {
      // A snapshot is stale once its window resets (or, shadow over, once it has room).
      const auto until_reset = std::chrono::seconds(d.reset_unix_s) - now;
      expires = std::min(expires, sent_at + to_steady(until_reset));
      if (d.over_limit) expires = std::min(expires, sent_at + to_steady(d.retry_after));
    }
    const KeyView key = key_of(request, i);
    const auto it = entries.find(key);
    if (expires <= sent_at) {
      if (it != entries.end()) entries.erase(it);
      continue;
    }
    const Entry entry{d, sent_at, expires, refusing};
    if (it != entries.end()) {
      it->second = entry;
      continue;
    }
    if (entries.size() >= capacity_) {
      boost::unordered::erase_if(
          entries, [sent_at](const auto& kv) { return kv.second.expires_at <= sent_at; });
      // Still full of live entries (a flood of refused subjects): start over rather than
      // scan on every insert.
      if (entries.size() >= capacity_) entries.clear();
    }
    entries.emplace(Key{std::string(key.subject), std::string(key.name), key.limit, key.window_ns,
                        key.cost, key.algorithm, key.enforced},
                    entry);
  }
}

std::optional<CheckResult> OverLimitCache::lookup(const CheckRequest& request,
                                                  TimePoint steady_now) {
  auto& entries = map_->entries;
  const std::size_t n = request.limits.size();
  if (entries.empty() || n == 0 || n > kMaxLimitsPerCheck) return std::nullopt;

  CheckResult result;
  result.admitted = false;
  result.count = n;
  bool refused = false;
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = entries.find(key_of(request, i));
    if (it == entries.end()) return std::nullopt;
    const Entry& entry = it->second;
    if (entry.expires_at <= steady_now) {
      entries.erase(it);
      return std::nullopt;
    }
    Decision d = entry.decision;
    if (d.over_limit) {
      // Still > 0: the entry expires no later than the wait Redis gave.
      d.retry_after -=
          std::chrono::duration_cast<std::chrono::nanoseconds>(steady_now - entry.recorded_at);
    }
    refused = refused || entry.refusing;
    result.decisions[i] = d;
  }
  if (!refused) return std::nullopt;
  return result;
}

}  // namespace gw::store::redis

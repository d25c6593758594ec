// Layout choices, for the hot path (one request = one hash, one lock, one probe, a short
// linear scan, the limiter's arithmetic):
// - The subject is hashed once; the same hash picks the shard (low bits) and, through a
//   transparent hasher, the slot in the shard's map (Boost post-mixes it, since we do not
//   declare it avalanching, so the shard bits do not cluster slots within a shard).
// - A subject's counters sit inline in its map slot (two before spilling to the heap):
//   the plan-wide limit and one group cover most subjects.
// - Subjects are boost::container::string: 24 bytes with up to 22 chars inline
//   (std::string: 32 and 15), so "<account>:live" and "ip:<IPv4>" keys are read from the
//   slot itself, without a dependent heap miss. Limit names are interned once per store.
// - A plain std::mutex per shard: uncontended it is two atomic operations, and under
//   contention it sleeps instead of burning one of the few cores.
#include "store/memory/memory_counter_store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <boost/container/small_vector.hpp>
#include <boost/container/string.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cassert>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/string_map.h"
#include "limiter/check.h"
#include "store/check_bounds.h"
#include "store/post_result.h"

namespace gw::store {
namespace {

using core::UnixNanos;
using limiter::CounterState;
using limiter::LimitSpec;

using SmallString = boost::container::string;

// One named counter of a subject, with the spec its state was kept under (for carry_over).
// 56 bytes: the name is interned (LimitNames), so a subject's key and two counters take
// 160 bytes of its map slot.
struct Counter {
  const std::string* name;
  LimitSpec spec;
  CounterState state;
};

using Counters = boost::container::small_vector<Counter, 2>;

// Every limit name the store has seen, each kept once for the store's life (there are as
// many as the configuration has groups, plus "api"). Node-based: addresses are stable.
class LimitNames {
 public:
  const std::string* intern(std::string_view name) {
    const std::lock_guard lock(mutex_);
    auto it = names_.find(name);
    if (it == names_.end()) it = names_.emplace(name).first;
    return &*it;
  }

 private:
  std::mutex mutex_;
  std::unordered_set<std::string, core::StringHash, std::equal_to<>> names_;  // guarded by mutex_
};

// A lookup key carrying its precomputed hash, so a check hashes the subject only once.
struct SubjectKey {
  std::string_view subject;
  std::size_t hash;
};

struct SubjectHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return hash_subject(s); }
  std::size_t operator()(const SubjectKey& k) const noexcept { return k.hash; }
};

struct SubjectEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const SubjectKey& a, std::string_view b) const noexcept { return a.subject == b; }
  bool operator()(std::string_view a, const SubjectKey& b) const noexcept { return a == b.subject; }
};

using SubjectMap = boost::unordered_flat_map<SmallString, Counters, SubjectHash, SubjectEqual>;

std::size_t subject_hash_of(const CheckRequest& request) noexcept {
  return request.subject_hash != 0 ? request.subject_hash : hash_subject(request.subject);
}

// Below this many slots a shard's table is never shrunk: not worth the rehash.
constexpr std::size_t kMinShrinkCapacity = 1024;

bool same_counter_spec(const LimitSpec& a, const LimitSpec& b) noexcept {
  return a.limit == b.limit && a.window == b.window && a.algorithm == b.algorithm;
}

const Counter* find_counter(const Counters& counters, std::string_view name) noexcept {
  for (const Counter& c : counters) {
    if (*c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

// Index of the counter `ref` names, adapted to the request's spec (a plan change since it
// was last touched); created if the subject has none by that name.
std::size_t counter_index(Counters& counters, const LimitRef& ref, UnixNanos now,
                          LimitNames& names) {
  for (std::size_t i = 0; i < counters.size(); ++i) {
    Counter& c = counters[i];
    if (*c.name == ref.name) {
      if (!same_counter_spec(c.spec, ref.spec)) {
        limiter::carry_over(c.spec, ref.spec, c.state, now);
        c.spec = ref.spec;
      }
      return i;
    }
  }
  counters.push_back(
      Counter{names.intern(ref.name), ref.spec, CounterState{}});
  return counters.size() - 1;
}

}  // namespace

struct MemoryCounterStore::Shard {
  // Shards sit side by side in one array: keep each lock on its own cache line.
  alignas(64) mutable std::mutex mutex;
  SubjectMap subjects;  // guarded by mutex
};

struct MemoryCounterStore::Names : LimitNames {};

MemoryCounterStore::MemoryCounterStore(std::size_t shard_count)
    : shard_mask_(std::bit_ceil(std::max<std::size_t>(shard_count, 1)) - 1),
      shards_(std::make_unique<Shard[]>(shard_mask_ + 1)),
      names_(std::make_unique<Names>()) {}

MemoryCounterStore::~MemoryCounterStore() = default;

MemoryCounterStore::Shard& MemoryCounterStore::shard_for(std::size_t hash) const noexcept {
  return shards_[hash & shard_mask_];
}

CheckResult MemoryCounterStore::check_now(const CheckRequest& request, UnixNanos now) {
  CheckResult result;
  const std::size_t n = request.limits.size();
  if (n > kMaxLimitsPerCheck) {
    assert(false && "more limits than kMaxLimitsPerCheck");
    return result;
  }
  result.count = n;
  if (n == 0) {
    result.admitted = true;  // nothing limits it; and no need to remember the subject
    return result;
  }

  std::array<LimitSpec, kMaxLimitsPerCheck> specs;
  std::array<std::size_t, kMaxLimitsPerCheck> slots;
  std::array<CounterState*, kMaxLimitsPerCheck> states;
  for (std::size_t i = 0; i < n; ++i) {
    specs[i] = request.limits[i].spec;
  }

  const std::size_t hash = subject_hash_of(request);
  Shard& shard = shard_for(hash);
  const std::lock_guard lock(shard.mutex);
  auto it = shard.subjects.find(SubjectKey{request.subject, hash});
  if (it == shard.subjects.end()) {
    it = shard.subjects.try_emplace(SmallString(request.subject.data(), request.subject.size()))
             .first;
  }
  Counters& counters = it->second;
  // Creating a counter may move the others (inline storage spills), so take the addresses
  // only once every counter exists.
  for (std::size_t i = 0; i < n; ++i) {
    slots[i] = counter_index(counters, request.limits[i], now, *names_);
  }
  for (std::size_t i = 0; i < n; ++i) {
    states[i] = &counters[slots[i]].state;
  }
  result.admitted = limiter::check_all({specs.data(), n}, {states.data(), n}, now, request.cost,
                                       {result.decisions.data(), n});
  return result;
}

CheckResult MemoryCounterStore::peek_now(const CheckRequest& request, UnixNanos now) const {
  CheckResult result;
  const std::size_t n = request.limits.size();
  if (n > kMaxLimitsPerCheck) {
    assert(false && "more limits than kMaxLimitsPerCheck");
    return result;
  }
  result.count = n;

  std::array<LimitSpec, kMaxLimitsPerCheck> specs;
  std::array<CounterState, kMaxLimitsPerCheck> states{};  // a counter never used is fresh
  for (std::size_t i = 0; i < n; ++i) {
    specs[i] = request.limits[i].spec;
  }
  {
    const std::size_t hash = subject_hash_of(request);
    const Shard& shard = shard_for(hash);
    const std::lock_guard lock(shard.mutex);
    const auto it = shard.subjects.find(SubjectKey{request.subject, hash});
    if (it != shard.subjects.end()) {
      for (std::size_t i = 0; i < n; ++i) {
        if (const Counter* c = find_counter(it->second, request.limits[i].name)) {
          states[i] = c->state;
          limiter::carry_over(c->spec, specs[i], states[i], now);  // on the copy
        }
      }
    }
  }
  // Decided on copies, outside the lock.
  result.admitted = limiter::peek_all({specs.data(), n}, {states.data(), n}, now, request.cost,
                                      {result.decisions.data(), n});
  return result;
}

void MemoryCounterStore::check(const CheckRequest& request, UnixNanos now,
                               boost::asio::any_io_executor executor, CheckHandler done) {
  if (auto error = check_bounds_error(request)) {
    post_result(executor, std::move(done), core::unexpected(std::move(*error)));
    return;
  }
  post_result(executor, std::move(done), check_now(request, now));
}

std::optional<CheckOutcome> MemoryCounterStore::check_immediately(const CheckRequest& request,
                                                                  UnixNanos now) {
  if (auto error = check_bounds_error(request)) return core::unexpected(std::move(*error));
  return CheckOutcome(check_now(request, now));
}

void MemoryCounterStore::peek(const CheckRequest& request, UnixNanos now,
                              boost::asio::any_io_executor executor, CheckHandler done) {
  if (auto error = check_bounds_error(request)) {
    post_result(executor, std::move(done), core::unexpected(std::move(*error)));
    return;
  }
  post_result(executor, std::move(done), peek_now(request, now));
}

std::size_t MemoryCounterStore::sweep(UnixNanos now) {
  std::size_t erased = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    Shard& shard = shards_[i];
    const std::lock_guard lock(shard.mutex);
    for (auto& entry : shard.subjects) {
      Counters& counters = entry.second;
      counters.erase(std::remove_if(counters.begin(), counters.end(),
                                    [now](const Counter& c) {
                                      return limiter::is_expired(c.spec, c.state, now);
                                    }),
                     counters.end());
    }
    erased += boost::unordered::erase_if(
        shard.subjects, [](const SubjectMap::value_type& entry) { return entry.second.empty(); });
    // A flat table never shrinks by itself; after a burst of subjects (an anonymous flood)
    // give the memory back, leaving room to double before the next rehash.
    const std::size_t capacity = shard.subjects.bucket_count();
    if (capacity > kMinShrinkCapacity && shard.subjects.size() * 8 < capacity) {
      shard.subjects.rehash(shard.subjects.size() * 2);
    }
  }
  return erased;
}

std::size_t MemoryCounterStore::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].subjects.size();
  }
  return total;
}

}  // namespace gw::store

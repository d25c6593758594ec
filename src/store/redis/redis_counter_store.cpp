#include "store/redis/redis_counter_store.h"

#include <array>
#include <atomic>
#include <boost/container/small_vector.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "store/post_result.h"
#include "store/redis/check_script.h"

namespace gw::store {
namespace {

using redis::OverLimitCache;

// A CheckRequest's contents, owned, for the reply's callback (the caller's request is gone
// by then). Small subjects and names stay inline: no allocation beyond the callback's own.
class RequestCopy {
 public:
  explicit RequestCopy(const CheckRequest& request)
      : subject_size_(request.subject.size()), count_(request.limits.size()), cost_(request.cost) {
    text_.insert(text_.end(), request.subject.begin(), request.subject.end());
    for (std::size_t i = 0; i < count_; ++i) {
      const LimitRef& ref = request.limits[i];
      name_sizes_[i] = ref.name.size();
      specs_[i] = ref.spec;
      text_.insert(text_.end(), ref.name.begin(), ref.name.end());
    }
  }

  std::size_t count() const noexcept { return count_; }

  // The request again, its limits in `storage`.
  CheckRequest view(std::array<LimitRef, kMaxLimitsPerCheck>& storage) const {
    const char* at = text_.data();
    const std::string_view subject(at, subject_size_);
    at += subject_size_;
    for (std::size_t i = 0; i < count_; ++i) {
      storage[i] = LimitRef{std::string_view(at, name_sizes_[i]), specs_[i]};
      at += name_sizes_[i];
    }
    return CheckRequest{subject, {storage.data(), count_}, cost_};
  }

 private:
  boost::container::small_vector<char, 64> text_;  // subject, then each name
  std::array<std::size_t, kMaxLimitsPerCheck> name_sizes_{};
  std::array<limiter::LimitSpec, kMaxLimitsPerCheck> specs_{};
  std::size_t subject_size_;
  std::size_t count_;
  std::int64_t cost_;
};

// This thread's cache for store `id`. A thread holds the caches of the last few stores it
// served (one, outside tests); a destroyed store's cache is dropped when a newer one needs
// the place, or with the thread.
OverLimitCache* local_cache(std::uint64_t id, std::size_t capacity) {
  if (capacity == 0) return nullptr;
  struct Slot {
    std::uint64_t store_id;
    std::unique_ptr<OverLimitCache> cache;
  };
  constexpr std::size_t kMaxStoresPerThread = 4;
  thread_local std::vector<Slot> slots;
  for (Slot& slot : slots) {
    if (slot.store_id == id) return slot.cache.get();
  }
  if (slots.size() >= kMaxStoresPerThread) slots.erase(slots.begin());
  slots.push_back(Slot{id, std::make_unique<OverLimitCache>(capacity)});
  return slots.back().cache.get();
}

CheckOutcome decode(const redis::ReplyResult& reply, std::size_t limit_count) {
  if (!reply) return core::unexpected(reply.error());
  return redis::decode_check_reply(*reply, limit_count);
}

std::uint64_t next_store_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

RedisCounterStore::RedisCounterStore(redis::RedisClient& client, RedisCounterStoreOptions options)
    : client_(client), options_(std::move(options)), id_(next_store_id()) {}

void RedisCounterStore::check(const CheckRequest& request, core::UnixNanos now,
                              boost::asio::any_io_executor executor, CheckHandler done) {
  if (auto error = redis::check_request_error(request)) {
    post_result(executor, std::move(done), core::unexpected(std::move(*error)));
    return;
  }
  if (request.limits.empty()) {
    post_result(executor, std::move(done), CheckResult{.admitted = true});
    return;
  }
  const redis::CheckCall call(request, redis::CheckMode::check);
  const std::size_t count = request.limits.size();
  if (options_.over_limit_cache_capacity == 0) {
    client_.eval(
        executor, redis::check_script(), call.keys(), call.args(),
        [done = std::move(done), count](redis::ReplyResult reply) { done(decode(reply, count)); });
    return;
  }
  // The callback runs on `executor`'s loop: it teaches that thread's cache.
  client_.eval(executor, redis::check_script(), call.keys(), call.args(),
               [done = std::move(done), copy = RequestCopy(request), now,
                sent_at = options_.clock->steady_now(), id = id_,
                capacity = options_.over_limit_cache_capacity](redis::ReplyResult reply) {
                 CheckOutcome outcome = decode(reply, copy.count());
                 if (outcome) {
                   std::array<LimitRef, kMaxLimitsPerCheck> storage;
                   local_cache(id, capacity)->record(copy.view(storage), *outcome, now, sent_at);
                 }
                 done(std::move(outcome));
               });
}

std::optional<CheckOutcome> RedisCounterStore::check_immediately(const CheckRequest& request,
                                                                 core::UnixNanos now) {
  (void)now;  // Redis's clock decides; the cache runs on steady time
  if (auto error = redis::check_request_error(request)) {
    return CheckOutcome(core::unexpected(std::move(*error)));
  }
  if (request.limits.empty()) return CheckOutcome(CheckResult{.admitted = true});
  OverLimitCache* cache = local_cache(id_, options_.over_limit_cache_capacity);
  if (cache == nullptr || cache->empty()) return std::nullopt;
  if (auto refused = cache->lookup(request, options_.clock->steady_now())) {
    return CheckOutcome(std::move(*refused));
  }
  return std::nullopt;
}

void RedisCounterStore::peek(const CheckRequest& request, core::UnixNanos now,
                             boost::asio::any_io_executor executor, CheckHandler done) {
  (void)now;
  if (auto error = redis::check_request_error(request)) {
    post_result(executor, std::move(done), core::unexpected(std::move(*error)));
    return;
  }
  if (request.limits.empty()) {
    post_result(executor, std::move(done), CheckResult{.admitted = true});
    return;
  }
  const redis::CheckCall call(request, redis::CheckMode::peek);
  client_.eval(executor, redis::check_script(), call.keys(), call.args(),
               [done = std::move(done), count = request.limits.size()](redis::ReplyResult reply) {
                 done(decode(reply, count));
               });
}

}  // namespace gw::store

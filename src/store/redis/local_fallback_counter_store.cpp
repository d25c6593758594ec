#include "store/redis/local_fallback_counter_store.h"

#include <array>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>

#include "store/check_bounds.h"

namespace gw::store {
namespace {

// What a check needs again if it has to be asked of the local store: the request refers
// to the caller's memory, which may be gone once check() has returned.
struct OwnedRequest {
  explicit OwnedRequest(const CheckRequest& request)
      : subject(request.subject), count(request.limits.size()), cost(request.cost) {
    for (std::size_t i = 0; i < count; ++i) {
      names[i] = std::string(request.limits[i].name);
      specs[i] = request.limits[i].spec;
    }
    for (std::size_t i = 0; i < count; ++i) refs[i] = LimitRef{names[i], specs[i]};
  }
  CheckRequest view() const { return CheckRequest{subject, {refs.data(), count}, cost}; }

  std::string subject;
  std::size_t count;
  std::int64_t cost;
  std::array<std::string, kMaxLimitsPerCheck> names;
  std::array<limiter::LimitSpec, kMaxLimitsPerCheck> specs{};
  std::array<LimitRef, kMaxLimitsPerCheck> refs{};
};

}  // namespace

LocalFallbackCounterStore::LocalFallbackCounterStore(CounterStore& remote, CounterStore& local,
                                                     std::function<void()> on_fallback)
    : remote_(remote), local_(local), on_fallback_(std::move(on_fallback)) {}

void LocalFallbackCounterStore::check(const CheckRequest& request, core::UnixNanos now,
                                      boost::asio::any_io_executor executor, CheckHandler done) {
  run(true, request, now, std::move(executor), std::move(done));
}

std::optional<CheckOutcome> LocalFallbackCounterStore::check_immediately(
    const CheckRequest& request, core::UnixNanos now) {
  return remote_.check_immediately(request, now);
}

void LocalFallbackCounterStore::peek(const CheckRequest& request, core::UnixNanos now,
                                     boost::asio::any_io_executor executor, CheckHandler done) {
  run(false, request, now, std::move(executor), std::move(done));
}

void LocalFallbackCounterStore::run(bool charge, const CheckRequest& request, core::UnixNanos now,
                                    boost::asio::any_io_executor executor, CheckHandler done) {
  // What no store takes is refused here as every store refuses it, before the copy (which
  // holds at most kMaxLimitsPerCheck limits) is made.
  if (auto error = check_bounds_error(request)) {
    boost::asio::post(executor, [done = std::move(done), error = std::move(*error)]() mutable {
      done(core::unexpected(std::move(error)));
    });
    return;
  }
  // Kept for the fallback only; the copy is the price of not knowing in advance.
  auto owned = std::make_shared<OwnedRequest>(request);
  auto on_remote = [this, charge, owned, now, executor,
                    done = std::move(done)](CheckOutcome outcome) mutable {
    if (outcome || !outcome.error().transient) return done(std::move(outcome));
    if (on_fallback_) on_fallback_();
    // The local store completes on `executor` too, never inline.
    auto finish = [owned, done = std::move(done)](CheckOutcome local) mutable {
      done(std::move(local));
    };
    if (charge) {
      local_.check(owned->view(), now, executor, std::move(finish));
    } else {
      local_.peek(owned->view(), now, executor, std::move(finish));
    }
  };
  if (charge) {
    remote_.check(request, now, executor, std::move(on_remote));
  } else {
    remote_.peek(request, now, executor, std::move(on_remote));
  }
}

}  // namespace gw::store

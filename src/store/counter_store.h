// Where rate-limit counters live. Implementations: MemoryCounterStore (store/memory/), and
// RedisCounterStore (store/redis/), which runs the same check as one atomic script call.
//
// A check names one *subject* (the counters of one account and environment, e.g.
// "acct_42:live") and up to kMaxLimitsPerCheck limits of that subject. All limits of one
// subject live together (one shard in memory, one hash tag in Redis), so the all-or-nothing
// check is one atomic step.
//
// Thread-safety: every method may be called from any thread.
// Completion: `done` runs exactly once, on `executor`, never inline from the call.
// Lifetime: the call copies what it needs from the request before it returns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "core/result.h"
#include "limiter/limit.h"

namespace gw::store {

inline constexpr std::size_t kMaxLimitsPerCheck = 4;

// One limit of a subject. `name` identifies the counter within the subject ("api" for the
// plan-wide limit, else the group name).
struct LimitRef {
  std::string_view name;
  limiter::LimitSpec spec;
};

// The hash a store files `subject` under. Callers that check the same subject again and
// again (the proxy's cached callers) compute it once and pass it in CheckRequest.
inline std::uint64_t hash_subject(std::string_view subject) noexcept {
  return std::hash<std::string_view>{}(subject);
}

struct CheckRequest {
  std::string_view subject;
  std::span<const LimitRef> limits;  // size <= kMaxLimitsPerCheck
  std::int64_t cost = 1;
  // hash_subject(subject), or 0 for "not computed" (the store then computes it; a subject
  // whose hash really is 0 is merely hashed twice).
  std::uint64_t subject_hash = 0;
};

struct CheckResult {
  bool admitted = false;
  std::size_t count = 0;  // decisions[0..count) match the request's limits, in order
  std::array<limiter::Decision, kMaxLimitsPerCheck> decisions;

  std::span<const limiter::Decision> view() const { return {decisions.data(), count}; }
};

enum class StoreErrc { unavailable, timeout, protocol_error };

struct StoreError {
  StoreErrc code = StoreErrc::unavailable;
  bool transient = true;  // retrying later may succeed
  std::string detail;     // for logs and metrics; never sent to clients
};

using CheckOutcome = core::Result<CheckResult, StoreError>;
using CheckHandler = std::function<void(CheckOutcome)>;

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // The all-or-nothing check: charges every limit if the request is admitted, nothing
  // otherwise. `now` is the gateway's clock; a store with its own clock may ignore it.
  virtual void check(const CheckRequest& request, core::UnixNanos now,
                     boost::asio::any_io_executor executor, CheckHandler done) = 0;

  // The check, answered synchronously when the store can do so without I/O (the memory
  // store always; a remote store for a key it knows to be over its limit). nullopt means
  // "ask check()". Saves the request path a completion round trip through its event loop.
  virtual std::optional<CheckOutcome> check_immediately(const CheckRequest& request,
                                                        core::UnixNanos now) {
    (void)request;
    (void)now;
    return std::nullopt;
  }

  // The same decisions without charging anything (GET /v1/rate_limits, admin usage).
  virtual void peek(const CheckRequest& request, core::UnixNanos now,
                    boost::asio::any_io_executor executor, CheckHandler done) = 0;
};

}  // namespace gw::store

// The rate-limit check as one Redis Lua script: limiter::check_all() (or peek_all()) over
// the limits of one subject, with limiter::carry_over() for a counter kept under another
// spec, in one atomic step on the subject's hash (counters_key(), redis_keys.h).
//
// Semantics: those of MemoryCounterStore, decision for decision (the differential test in
// check_script_test.cpp holds the two together), with two differences of units:
// - Time is Redis's own clock (TIME), in whole microseconds: every gateway sees the same
//   windows, whatever its own clock says. Lua numbers are doubles, exact below 2^53; now in
//   microseconds is about 1.8e15. Products beyond 2^53 (a large limit times a window) are
//   computed digit by digit, so every result is exact within the bounds below.
// - retry_after travels in microseconds, rounded up (the limiter's is in nanoseconds).
// The one knowing deviation: the limiter caps a GCRA debt rescaled by a steep plan
// downgrade at 2^61 - 1 ns (73 years); the script caps it at that, in whole microseconds.
//
// Call:  EVALSHA <sha> 1 <counters_key(subject)>
//          <mode c|p> <now_us, 0 = TIME> <cost> <n>  then per limit:
//          <name> <algorithm f|s|g> <limit> <window_us> <enforced 1|0>
// Reply: one string of big-endian doubles (all whole numbers, exact below 2^53):
//        admitted, now_us, then per limit: allowed, over_limit, limit, remaining, used,
//        reset_unix_s, retry_after_us. (One bulk reply instead of an array of 2 + 7n
//        integers: hiredis allocated an object for each of those, ~6k instructions a call.)
// State: one hash field per limit name, struct-packed: the algorithm, limit and window_us
// it was kept under, then CounterState in microseconds. A check
// writes only what it charges and the counters it carried over; the key expires when no
// counter written in it matters any more (its TTL is only ever extended).
#pragma once

#include <hiredis/hiredis.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "limiter/limit_bounds.h"
#include "store/counter_store.h"
#include "store/redis/script.h"

namespace gw::store::redis {

// What the script's arithmetic is exact for. Limits and costs are held to
// limiter::kMaxLimit (1e9) like every store's (store/check_bounds.h), far inside the 2^40
// the script could take; windows (the policy's are a minute and a second) to 2^40 us.
inline constexpr std::int64_t kMaxScriptUnits = std::int64_t{1} << 40;
static_assert(limiter::kMaxLimit <= kMaxScriptUnits && limiter::kMaxCost <= kMaxScriptUnits);
inline constexpr std::chrono::nanoseconds kMaxScriptWindow =
    std::chrono::microseconds(std::int64_t{1} << 40);  // about 12.7 days

// The script, built once. Give it to ClientOptions::scripts so connections preload it.
const Script& check_script();

enum class CheckMode : std::uint8_t {
  check,  // check_all(): charges when admitted
  peek,   // peek_all(): writes nothing
};

// Why the script cannot take `request`: what every store refuses (check_bounds_error():
// more than kMaxLimitsPerCheck limits, a cost or limit out of [0, limiter::kMaxLimit]), or
// a window that is not a whole number of microseconds in (0, kMaxScriptWindow]. A
// programming error (config and admin input are bounded alike): not transient.
std::optional<StoreError> check_request_error(const CheckRequest& request);

// KEYS and ARGV of one script call. Numbers are written into the object itself and limit
// names are views into the request, so encoding allocates nothing (but for a subject too
// long for the inline key buffer). Keep `request` alive while the views are used; the
// object refers to itself, so it can be neither copied nor moved.
class CheckCall {
 public:
  // REQUIRES: !check_request_error(request). `now_us` 0 lets the script read Redis's
  // clock (what the store does); tests pass a time to compare with the limiter exactly.
  CheckCall(const CheckRequest& request, CheckMode mode, std::int64_t now_us = 0);
  CheckCall(const CheckCall&) = delete;
  CheckCall& operator=(const CheckCall&) = delete;

  std::span<const std::string_view> keys() const noexcept { return {&key_, 1}; }
  std::span<const std::string_view> args() const noexcept { return {args_.data(), arg_count_}; }

 private:
  static constexpr std::size_t kMaxArgs = 4 + 5 * kMaxLimitsPerCheck;
  static constexpr std::size_t kMaxNumbers = 3 + 2 * kMaxLimitsPerCheck;

  void add_number(std::int64_t value) noexcept;

  std::array<char, 96> key_buffer_;
  std::string long_key_;                        // only for subjects that do not fit key_buffer_
  std::array<char, 20 * kMaxNumbers> numbers_;  // 20: the longest int64, with its sign
  std::size_t numbers_used_ = 0;
  std::string_view key_;
  std::array<std::string_view, kMaxArgs> args_;
  std::size_t arg_count_ = 0;
};

// The script's reply as decisions for `limit_count` limits (retry_after in nanoseconds).
// Anything else is a protocol_error; an error reply's text is in the detail, and errors
// Redis will get over by itself (LOADING, BUSY, TRYAGAIN, ...) are transient.
core::Result<CheckResult, StoreError> decode_check_reply(const redisReply* reply,
                                                         std::size_t limit_count);

}  // namespace gw::store::redis

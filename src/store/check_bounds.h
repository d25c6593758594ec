// The checks every CounterStore refuses, alike: more than kMaxLimitsPerCheck limits, a
// cost outside [0, limiter::kMaxCost], a limit outside [0, limiter::kMaxLimit], or a
// window that is not positive. Configuration and admin input are held to the same bounds
// (limiter/limit_bounds.h), so a refusal here is a programming error: a non-transient
// protocol_error, never a decision. Pure.
#pragma once

#include <optional>
#include <string>

#include "limiter/limit_bounds.h"
#include "store/counter_store.h"

namespace gw::store {

inline std::optional<StoreError> check_bounds_error(const CheckRequest& request) {
  const auto error = [](std::string detail) {
    return StoreError{
        .code = StoreErrc::protocol_error, .transient = false, .detail = std::move(detail)};
  };
  if (request.limits.size() > kMaxLimitsPerCheck) {
    return error("check of " + std::to_string(request.limits.size()) + " limits (at most " +
                 std::to_string(kMaxLimitsPerCheck) + ")");
  }
  if (request.cost < 0 || request.cost > limiter::kMaxCost) {
    return error("check cost " + std::to_string(request.cost) + " out of range [0, " +
                 std::to_string(limiter::kMaxCost) + "]");
  }
  for (const LimitRef& ref : request.limits) {
    if (!limiter::is_valid_limit(ref.spec.limit)) {
      return error("limit '" + std::string(ref.name) + "' of " + std::to_string(ref.spec.limit) +
                   " out of range [0, " + std::to_string(limiter::kMaxLimit) + "]");
    }
    if (ref.spec.window <= limiter::UnixNanos::zero()) {
      return error("limit '" + std::string(ref.name) + "' has a window of " +
                   std::to_string(ref.spec.window.count()) + " ns");
    }
  }
  return std::nullopt;
}

}  // namespace gw::store

// What the decision reads of the configuration: how unknown keys and store failures are
// answered, which rate-limit fields an answer carries, how long callers are cached.
// Plain value; config/ fills it from the configuration in force. Thread-safety: plain
// value, read concurrently once built.
#pragma once

#include <chrono>

#include "decision/rate_limit_fields.h"

namespace gw::decision {

// SPEC §3 `unknown_key`: an unknown or missing key is refused (401), or limited as the
// `anonymous` plan by client address.
enum class UnknownKey { reject, anonymous };

// SPEC §3 `store.on_failure`: when the counters cannot answer, admit (degraded), refuse
// (503), or (`local`) let a local fallback store answer; what even that cannot answer is
// admitted.
enum class OnStoreFailure { fail_open, fail_closed, local };

struct DecisionSettings {
  UnknownKey unknown_key = UnknownKey::reject;
  OnStoreFailure on_failure = OnStoreFailure::fail_open;
  RateLimitFieldOptions fields;
  std::chrono::seconds caller_cache_ttl{60};  // accounts.cache_seconds
};

}  // namespace gw::decision

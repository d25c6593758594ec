// A decision asked for by another proxy rather than taken for a request the gateway
// carries itself (SPEC §8): who is calling, the limits it names one by one, and the cost.
// The decision service's transports (Envoy's ShouldRateLimit over gRPC, POST /v1/check)
// translate their requests into a CheckQuery and run_check() (check_runner.h) answers it
// with the proxy's own decision path. Plain values; thread-safety: plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ip_network.h"
#include "decision/decision.h"
#include "decision/rate_limit_fields.h"
#include "policy/policy.h"
#include "store/account_store.h"

namespace gw::decision {

// One limit a query names (as one Envoy descriptor does).
struct LimitSelector {
  enum class Kind {
    plan,   // the plan-wide limit ("api")
    group,  // the limit of the endpoint group `group`
    route,  // the limit of the group `method` `path` is in (none outside any group)
  };
  Kind kind = Kind::plan;
  std::string group;   // Kind::group: the group's configured name
  std::string method;  // Kind::route
  std::string path;    // Kind::route: a request-target as sent (normalized like the proxy's)
};

struct CheckQuery {
  enum class By { key, account };
  By by = By::key;
  PresentedCredential::Kind key_kind = PresentedCredential::Kind::none;  // By::key
  std::string key;                                                       // Kind::key
  std::string account_id;                                                // By::account
  store::KeyEnvironment environment = store::KeyEnvironment::live;       // By::account
  // The client's address, for `unknown_key: anonymous` (limited by address as the proxy
  // limits an anonymous client). nullopt: no address known, so no anonymous caller.
  std::optional<core::IpBytes> client;
  std::vector<LimitSelector> selectors;
  std::int64_t cost = 1;  // units every named limit is charged (1 … limiter::kMaxCost)
};

// What a query came to. Either a refusal before any counter was touched (identity,
// invalid query), or a verdict over `limits`, the distinct limits the selectors named.
struct CheckAnswer {
  std::shared_ptr<const Caller> caller;  // null when identity refused
  std::optional<Refusal> refusal;        // 400, 401, 429, 503: what the proxy would answer
  LimitSet limits;                       // names point into `policy`
  Verdict verdict;                       // meaningful when limits.count > 0 and no refusal
                                         // came before the check
  bool checked = false;                  // the counters were asked (limits.count > 0)
  // Per selector: the index in `limits` of the limit it named; nullopt when it named none
  // (a route in no group, a group the caller's plan does not limit).
  std::vector<std::optional<std::size_t>> selected;
  std::size_t selectors = 0;  // how many the query named (the size of `selected` once checked)
  std::shared_ptr<const policy::Policy> policy;  // keeps the limits' names alive
  core::UnixNanos now{};                         // when the check was taken
  RateLimitFieldOptions fields;                  // which rate-limit fields to send
};

// The 400 refusal of a query that cannot be checked as asked (invalid_request_error): for
// run_check() and for the transports' own readers.
inline Refusal invalid_query(std::string_view code, std::string message) {
  return Refusal{
      .status = 400, .type = "invalid_request_error", .code = code, .message = std::move(message)};
}

}  // namespace gw::decision

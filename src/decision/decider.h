// Decider: the one decision path. It turns a presented credential, a request's method and
// canonical path, and a cost into who is calling (Identity), which limits apply (LimitSet)
// and what the all-or-nothing check says (Verdict), recording the decision's metrics and
// the account's usage on the way. The proxy and the decision service call it alike; it
// knows no transport.
//
// The three steps are separate because the proxy does work between them (the
// self-service status route after identity, a session slot before the check). Each
// asynchronous step has a `_now` form that answers without a coroutine frame when no
// store round trip is needed (a cached caller, the memory store): callers try it first
// and co_await the other form only on nullopt.
//
// Thread-safety: as its CallerCache's: none for a worker's (one Decider per worker, used
// from that worker's thread); any thread for one on a shared cache (CallerCache::Sharing).
// The stores and metrics it borrows are thread-safe, and it has no state of its own.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ip_network.h"
#include "decision/caller_cache.h"
#include "decision/decision.h"
#include "decision/decision_settings.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "policy/policy.h"
#include "store/account_store.h"
#include "store/counter_store.h"

namespace gw::decision {

// The configuration a decision is taken under: one snapshot, held for the request.
struct DecisionContext {
  std::shared_ptr<const policy::Policy> policy;
  std::uint64_t policy_version = 0;  // moves with every new policy (caller cache)
  DecisionSettings settings;
};

class Decider {
 public:
  Decider(CallerCache& callers, store::AccountStore& accounts, store::CounterStore& counters,
          metrics::GatewayMetrics& metrics, metrics::UsageHistory& usage, const core::Clock& clock);

  // Who presents `credential` (from `client`). nullopt: a store lookup is needed.
  std::optional<Identity> identify_now(const PresentedCredential& credential,
                                       const core::IpBytes& client, const DecisionContext& context);
  // REQUIRES: credential.key outlives the call (it points into the request).
  boost::asio::awaitable<Identity> identify(PresentedCredential credential, core::IpBytes client,
                                            const DecisionContext& context);

  // The caller an account acts as in one environment (a session's creator, a proxy that
  // authenticated the caller itself); a null caller when the account is gone. nullopt:
  // a store lookup is needed.
  std::optional<Identity> identify_account_now(std::string_view account_id,
                                               store::KeyEnvironment environment,
                                               const DecisionContext& context);
  boost::asio::awaitable<Identity> identify_account(std::string account_id,
                                                    store::KeyEnvironment environment,
                                                    const DecisionContext& context);

  // The limits of a request to `method` `path` (canonical, no query) by `caller`.
  static LimitSet limits(const Caller& caller, std::string_view method, std::string_view path,
                         const policy::Policy& policy);
  // The limits of `caller` in `group` (nullopt: the plan-wide limit only).
  static LimitSet limits_in_group(const Caller& caller, std::optional<std::size_t> group,
                                  const policy::Policy& policy);

  // The all-or-nothing check of `limits` at `cost` units. nullopt: the store answers
  // asynchronously. `limits` names must stay valid (the context's policy) until the end.
  std::optional<Verdict> check_now(const Caller& caller, const LimitSet& limits, std::int64_t cost,
                                   core::UnixNanos now, const DecisionContext& context);
  boost::asio::awaitable<Verdict> check(std::shared_ptr<const Caller> caller, LimitSet limits,
                                        std::int64_t cost, core::UnixNanos now,
                                        const DecisionContext& context);

  CallerCache& callers() noexcept { return callers_; }

 private:
  Identity identity_of(const PresentedCredential& credential, std::shared_ptr<const Caller> caller,
                       const core::IpBytes& client, const DecisionContext& context);
  Identity store_unavailable(std::string_view detail);
  Verdict verdict_of(const Caller& caller, const LimitSet& limits,
                     std::optional<store::CheckOutcome> outcome, core::UnixNanos now,
                     const DecisionContext& context);

  CallerCache& callers_;
  store::AccountStore& accounts_;
  store::CounterStore& counters_;
  metrics::GatewayMetrics& metrics_;
  metrics::UsageHistory& usage_;
  const core::Clock& clock_;  // steady time: decision latency
};

// The refusals every path answers alike.
Refusal rate_limiter_unavailable();

}  // namespace gw::decision

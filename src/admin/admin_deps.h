// What the admin API works with. Every reference must outlive the AdminServer and every
// connection it accepted (the app owns them all and stops the io_context before they go).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/keyed_hash.h"
#include "decision/decider.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "policy/policy.h"
#include "store/account_store.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::admin {

struct AdminDeps {
  store::AccountStore& accounts;
  store::CounterStore& counters;
  // Concurrent-session slots: listed and freed by /sessions, counted by /usage.
  store::SessionStore& sessions;
  metrics::GatewayMetrics& metrics;
  metrics::UsageHistory& usage;
  const core::Clock& clock;
  // The current policy snapshot; nullptr answers 503 (no configuration loaded).
  std::function<std::shared_ptr<const policy::Policy>()> policy;
  // The admin token's digest (admin_auth.h); nullopt disables the admin API (every
  // /admin/ request gets 401).
  std::optional<core::KeyedDigest> admin_token;
  std::function<bool()> ready;  // GET /readyz; empty = always ready
  // Whether the shared store answers (/readyz "store"); empty = a local store, always ok.
  std::function<bool()> store_healthy;
  // A store that does not answer makes /readyz 503 (on_failure: fail_closed, where every
  // request would get 503); otherwise the gateway still serves and reports "degraded".
  bool store_required = false;
  std::function<void()> on_accounts_changed;  // after every successful account/key write
  // Decides POST /v1/check (SPEC §8) on the admin listener's own thread, as a worker's
  // Decider decides its requests. Null (or no decision_context) answers /v1/check 503.
  decision::Decider* decider = nullptr;
  // The configuration a check is decided under (the snapshot in force); called on the
  // admin listener's thread only.
  std::function<decision::DecisionContext()> decision_context;
};

}  // namespace gw::admin

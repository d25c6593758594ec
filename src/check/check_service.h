// CheckService: where gRPC's ShouldRateLimit calls are decided. It has a caller cache
// shared by the threads that ask (CallerCache::Sharing::threads) and a Decider over the
// proxy's stores and metrics: a check and a proxied request draw from the same counters,
// and an account or policy change reaches both on the next decision.
//
// A transport first tries decide_now() on its own thread: with a cached caller and the
// memory store (or any refusal) the answer is there at once, with no thread hop (on this
// machine, two hops cost more than the decision and gRPC together). Otherwise it
// submit()s the query to the service's own thread and io_context, where the store round
// trips are awaited; each such answer arrives exactly once, on that thread, or on the
// thread that stops the service for a query it never got to (503
// rate_limiter_unavailable).
//
// Thread-safety: decide_now() and submit() from any thread; the rest from one control
// thread (app/).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "config/running_config.h"
#include "core/beast.h"
#include "core/clock.h"
#include "decision/caller_cache.h"
#include "decision/check_query.h"
#include "decision/decider.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "store/account_store.h"
#include "store/counter_store.h"

namespace gw::check {

// What the service borrows from the composition root; everything outlives it.
struct CheckDeps {
  store::CounterStore& counters;
  store::AccountStore& accounts;
  metrics::GatewayMetrics& metrics;
  metrics::UsageHistory& usage;
  const core::Clock& clock;
  config::ConfigSource& running;
};

class CheckService {
 public:
  using Done = std::function<void(decision::CheckAnswer)>;

  explicit CheckService(const CheckDeps& deps);
  ~CheckService();  // stop()
  CheckService(const CheckService&) = delete;
  CheckService& operator=(const CheckService&) = delete;

  void start();  // runs the service's thread
  // Ends the thread and answers every query still queued 503. Idempotent.
  void stop();

  // The answer, if it needs no store round trip; nullopt: submit() it (nothing was
  // charged). Thread-safe.
  std::optional<decision::CheckAnswer> decide_now(const decision::CheckQuery& query);

  // Decides `query` and calls `done` with the answer. Thread-safe.
  void submit(decision::CheckQuery query, Done done);

 private:
  net::awaitable<void> decide(decision::CheckQuery query, Done done);
  decision::DecisionContext context() const;  // the configuration in force

  CheckDeps deps_;
  decision::CallerCache callers_{deps_.accounts, deps_.clock,
                                 decision::CallerCache::Sharing::threads};
  decision::Decider decider_{callers_,      deps_.accounts, deps_.counters,
                             deps_.metrics, deps_.usage,    deps_.clock};
  // Declared after the decider so it goes first: destroying it answers the queries whose
  // coroutines it still holds.
  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  std::atomic<bool> stopping_{false};  // set once, by stop()
};

// The answer of a query that was never decided (the service stopped first).
decision::CheckAnswer service_stopped_answer();

}  // namespace gw::check

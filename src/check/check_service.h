// CheckService: where the decision service's transports (gRPC ShouldRateLimit, POST
// /v1/check) have their queries decided. It owns one thread with its own io_context,
// caller cache and Decider, on the proxy's stores and metrics: a check and a proxied
// request draw from the same counters, and an account or policy change reaches both on
// the next decision. Transports call submit() from their own threads; each query's answer
// arrives, exactly once, on the service's thread, or on the thread that stops the service
// for a query it never got to (answered 503 rate_limiter_unavailable).
//
// Thread-safety: submit() from any thread; the rest from one control thread (app/).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
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

  // Decides `query` and calls `done` with the answer. Thread-safe.
  void submit(decision::CheckQuery query, Done done);

 private:
  net::awaitable<void> decide(decision::CheckQuery query, Done done);

  CheckDeps deps_;
  decision::CallerCache callers_{deps_.accounts, deps_.clock};
  decision::Decider decider_{callers_,      deps_.accounts, deps_.counters,
                             deps_.metrics, deps_.usage,    deps_.clock};
  // Declared after the decider so it goes first: destroying it answers the queries whose
  // coroutines it still holds.
  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

// The answer of a query that was never decided (the service stopped first).
decision::CheckAnswer service_stopped_answer();

}  // namespace gw::check

// The stores a gateway runs with, as store.backend says (SPEC §7):
//   memory: counters in process memory; accounts, keys and session slots in SQLite
//           (accounts.path), so they survive a restart.
//   redis:  counters, session slots, accounts and keys in Redis (standalone or Cluster),
//           shared by every instance; on_failure: local adds per-instance memory counters
//           that decide while Redis does not answer.
// Used from the main thread; the stores themselves are thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "config/gateway_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "metrics/gateway_metrics.h"
#include "store/account_store.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::app {

class StoreBackend {
 public:
  static core::Result<std::unique_ptr<StoreBackend>, std::string> open(
      const config::GatewayConfig& config, const core::Clock& clock,
      metrics::GatewayMetrics& metrics);
  virtual ~StoreBackend() = default;

  virtual store::CounterStore& counters() = 0;
  virtual store::SessionStore& sessions() = 0;
  virtual store::AccountStore& accounts() = 0;

  // Periodic upkeep on the control loop (every second): reclaiming expired state,
  // health probes, gauges.
  virtual void tick(core::UnixNanos now, const boost::asio::any_io_executor& control) = 0;

  // Whether the shared store answers (for /readyz). A local store always does.
  virtual bool healthy() const = 0;

  // Closes remote connections. Call once no event loop runs any more (after the workers
  // and the control loop have stopped), before those loops are destroyed.
  virtual void shutdown() = 0;
};

}  // namespace gw::app

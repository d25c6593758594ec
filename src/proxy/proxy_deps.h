// What the proxy borrows from the composition root (app/). Everything here outlives the
// proxy and is safe to use from every worker thread.
#pragma once

#include "config/running_config.h"
#include "core/clock.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "store/account_store.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::proxy {

struct ProxyDeps {
  store::CounterStore& counters;
  store::SessionStore& sessions;
  store::AccountStore& accounts;
  metrics::GatewayMetrics& metrics;
  metrics::UsageHistory& usage;
  const core::Clock& clock;
  config::ConfigSource& running;  // the configuration in force, replaced on SIGHUP
};

}  // namespace gw::proxy

// What a session stream borrows from the worker that runs it. Everything here outlives
// the stream and is used only from that worker's thread (the stores, metrics and budget
// are thread-safe besides).
#pragma once

#include <boost/asio/io_context.hpp>
#include <unordered_set>

#include "config/running_config.h"
#include "core/clock.h"
#include "decision/decider.h"
#include "metrics/gateway_metrics.h"
#include "store/session_store.h"
#include "stream/message_budget.h"

namespace gw::stream {

class StreamRelay;

struct StreamDeps {
  boost::asio::io_context& io;
  config::ConfigSource& running;  // the configuration in force (websocket.*, leases)
  store::SessionStore& sessions;
  metrics::GatewayMetrics& metrics;
  const core::Clock& clock;
  decision::Decider& decider;  // the caller again after a plan or account change
  MessageBudget& budget;       // unfinished client messages, all streams of the listener
  std::unordered_set<StreamRelay*>& open;  // the worker's open streams (drain)
};

}  // namespace gw::stream

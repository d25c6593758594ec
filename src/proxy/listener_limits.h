// The resource caps one listener's workers share (SPEC §3 http.max_connections...,
// websocket.max_streams..., max_buffered_bytes). Owned by ProxyServer, outliving every
// worker; each part is thread-safe on its own.
#pragma once

#include "proxy/connection_limits.h"
#include "stream/message_budget.h"
#include "stream/stream_admission.h"

namespace gw::proxy {

struct ListenerLimits {
  ConnectionLimits connections;
  stream::StreamAdmission streams;
  stream::MessageBudget messages;
};

}  // namespace gw::proxy

// The public listener: one Worker per thread, all bound to the same address with
// SO_REUSEPORT. start() binds and runs; drain() stops accepting and waits (bounded) for
// in-flight requests; stop() ends the threads. Used from one control thread (app/).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/gateway_config.h"
#include "core/result.h"
#include "proxy/listener_limits.h"
#include "proxy/proxy_deps.h"

namespace gw::proxy {

class Worker;

class ProxyServer {
 public:
  ProxyServer(const ProxyDeps& deps, std::size_t threads);
  ~ProxyServer();

  // Binds every worker to `address` (port 0 = one ephemeral port shared by all) and runs
  // them. Returns the bound port.
  core::Result<std::uint16_t, std::string> start(const config::ListenAddress& address);

  // Stops accepting, lets in-flight requests finish for at most `grace`, then closes open
  // streams with 1001 (waiting at most kStreamCloseGrace for their close handshakes), then
  // stops.
  void drain_and_stop(std::chrono::milliseconds grace);

  static constexpr std::chrono::milliseconds kStreamCloseGrace{2000};

 private:
  ProxyDeps deps_;
  ListenerLimits limits_;  // shared by the workers; declared before them, outlives them
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopped_ = false;
};

}  // namespace gw::proxy

// The composition root of `serve` and `demo`: builds the stores, the policy, the proxy
// workers and the admin listener from one configuration, and runs them until a signal.
// SIGHUP reloads the configuration file (an invalid file is logged and ignored); SIGTERM
// and SIGINT drain in-flight requests for at most shutdown_grace_ms and return 0.
// Used from the main thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/gateway_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/account_store.h"

namespace gw::app {

struct GatewayOptions {
  std::string config_path;  // reloaded on SIGHUP; empty: nothing to reload (demo)
  std::string admin_token;  // overrides admin.token_env when not empty (demo)
  std::size_t threads = 0;  // 0: one worker per core
};

class GatewayApp {
 public:
  static core::Result<std::unique_ptr<GatewayApp>, std::string> create(
      std::shared_ptr<const config::GatewayConfig> config, GatewayOptions options,
      const core::Clock& clock);
  ~GatewayApp();

  // Binds the public and admin listeners and starts serving.
  core::Result<bool, std::string> start();
  std::uint16_t port() const noexcept;
  std::uint16_t admin_port() const noexcept;
  std::uint16_t grpc_port() const noexcept;  // 0: decision.grpc_listen is off

  store::AccountStore& accounts();

  // Serves until SIGTERM/SIGINT, then drains. Returns the process exit code.
  int run_until_signalled();

 private:
  struct Impl;
  explicit GatewayApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::app

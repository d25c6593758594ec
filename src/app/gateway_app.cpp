#include "app/gateway_app.h"

#include <sched.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <optional>
#include <thread>

#include "admin/admin_server.h"
#include "app/open_file_limit.h"
#include "app/store_backend.h"
#include "check/check_service.h"
#include "config/config_loader.h"
#include "config/running_config.h"
#include "decision/caller_cache.h"
#include "decision/decider.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "policy/policy.h"
#include "proxy/proxy_server.h"
#include "rls/rls_server.h"

namespace gw::app {

namespace net = boost::asio;

namespace {

constexpr auto kTickInterval = std::chrono::seconds(1);
constexpr auto kUsageSweepInterval = std::chrono::seconds(10);

// One worker per core the process may run on (taskset and cgroup cpusets shrink this).
std::size_t usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(CPU_COUNT(&set), 1);
  }
  return std::max<std::size_t>(std::thread::hardware_concurrency(), 1);
}

}  // namespace

struct GatewayApp::Impl {
  GatewayOptions options;
  const core::Clock& clock;
  std::shared_ptr<const config::GatewayConfig> config;

  metrics::GatewayMetrics metrics;
  metrics::UsageHistory usage;
  std::unique_ptr<config::ConfigSource> running;

  // The control thread (main) runs signals, the periodic upkeep and the admin listener.
  net::io_context control{1};
  std::unique_ptr<StoreBackend> stores;  // after `control`: its connections use that loop
  std::unique_ptr<admin::AdminServer> admin;
  std::unique_ptr<proxy::ProxyServer> proxy;
  // POST /v1/check is decided on the control thread, by its own caller cache and Decider.
  std::unique_ptr<decision::CallerCache> admin_callers;
  std::unique_ptr<decision::Decider> admin_decider;
  decision::DecisionContext admin_context;      // the snapshot admin_decider last decided under
  std::unique_ptr<check::CheckService> checks;  // ShouldRateLimit's decisions
  std::unique_ptr<rls::RlsServer> rls;          // decision.grpc_listen; null when off
  std::uint16_t grpc_port = 0;
  net::steady_timer tick_timer{control};
  core::UnixNanos last_usage_sweep{};
  // Installed by start(), before the listeners open, so no signal finds default handlers.
  std::optional<net::signal_set> signals;
  bool stopping = false;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;

  Impl(GatewayOptions opts, const core::Clock& c, std::shared_ptr<const config::GatewayConfig> cfg)
      : options(std::move(opts)), clock(c), config(std::move(cfg)) {}

  void schedule_tick() {
    tick_timer.expires_after(kTickInterval);
    tick_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const auto now = clock.now();
      stores->tick(now, control.get_executor());
      if (now - last_usage_sweep >= kUsageSweepInterval) {
        last_usage_sweep = now;
        usage.sweep(now);
      }
      schedule_tick();
    });
  }

  // Stops everything that runs on an event loop, then closes the stores' connections
  // (they belong to those loops and must go before the loops do).
  void stop_all(std::chrono::milliseconds grace) {
    if (rls) rls->stop(grace);
    if (proxy) proxy->drain_and_stop(grace);
    if (admin) admin->stop();
    if (checks) checks->stop();
    if (stores) stores->shutdown();
  }

  void wait_for_signal() {
    signals->async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reload();
        wait_for_signal();
        return;
      }
      spdlog::info("signal {}: draining (at most {} ms)", signal, config->shutdown_grace.count());
      stopping = true;
      control.stop();
    });
  }

  void reload() {
    if (options.config_path.empty()) {
      spdlog::info("SIGHUP: no configuration file to reload");
      return;
    }
    auto loaded = config::load_config_file(options.config_path);
    if (!loaded) {
      for (const auto& error : loaded.error())
        spdlog::error("reload rejected: {}", error.to_string());
      spdlog::error("reload rejected: keeping the configuration in force");
      metrics.config_reload(false);
      return;
    }
    const auto& next = **loaded;
    if (next.listen.host != config->listen.host || next.listen.port != config->listen.port ||
        next.admin.listen.port != config->admin.listen.port ||
        next.decision.grpc_listen != config->decision.grpc_listen ||
        next.accounts.path != config->accounts.path ||
        next.store.backend != config->store.backend) {
      spdlog::warn(
          "reload: listen addresses (public, admin, decision.grpc_listen), accounts.path and "
          "store.backend change only on restart");
    }
    config = *loaded;
    running->publish(std::make_shared<const config::RunningConfig>(config));
    metrics.config_reload(true);
    spdlog::info("configuration reloaded from {}", options.config_path);
  }
};

GatewayApp::GatewayApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayApp::~GatewayApp() { impl_->stop_all(std::chrono::milliseconds(0)); }

core::Result<std::unique_ptr<GatewayApp>, std::string> GatewayApp::create(
    std::shared_ptr<const config::GatewayConfig> config, GatewayOptions options,
    const core::Clock& clock) {
  auto impl = std::make_unique<Impl>(std::move(options), clock, config);
  auto stores = StoreBackend::open(*config, clock, impl->metrics);
  if (!stores) return core::unexpected(std::move(stores.error()));
  impl->stores = std::move(*stores);
  impl->running =
      std::make_unique<config::ConfigSource>(std::make_shared<const config::RunningConfig>(config));

  std::string token = impl->options.admin_token;
  if (token.empty()) {
    if (const char* from_env = std::getenv(config->admin.token_env.c_str())) token = from_env;
  }
  if (token.empty()) {
    spdlog::warn("{} is not set: the admin API answers 401 to every request",
                 config->admin.token_env);
  }

  impl->checks =
      std::make_unique<check::CheckService>(check::CheckDeps{.counters = impl->stores->counters(),
                                                             .accounts = impl->stores->accounts(),
                                                             .metrics = impl->metrics,
                                                             .usage = impl->usage,
                                                             .clock = clock,
                                                             .running = *impl->running});
  if (config->decision.grpc_listen) impl->rls = std::make_unique<rls::RlsServer>(*impl->checks);

  // The admin listener runs on the control thread alone (admin_server.h).
  impl->admin_callers = std::make_unique<decision::CallerCache>(impl->stores->accounts(), clock);
  impl->admin_decider = std::make_unique<decision::Decider>(
      *impl->admin_callers, impl->stores->accounts(), impl->stores->counters(), impl->metrics,
      impl->usage, clock);

  Impl* raw = impl.get();
  impl->admin = std::make_unique<admin::AdminServer>(
      impl->control,
      admin::AdminDeps{
          .accounts = impl->stores->accounts(),
          .counters = impl->stores->counters(),
          .sessions = impl->stores->sessions(),
          .metrics = impl->metrics,
          .usage = impl->usage,
          .clock = clock,
          .policy = [raw] { return raw->running->current()->shared_policy(); },
          .admin_token = token.empty() ? std::nullopt : std::optional(core::KeyedDigest::of(token)),
          .ready = [raw] { return raw->proxy != nullptr; },
          .store_healthy = [raw] { return raw->stores->healthy(); },
          .store_required = config->store.on_failure == config::OnStoreFailure::fail_closed,
          .on_accounts_changed = {},
          .decider = impl->admin_decider.get(),
          .decision_context =
              [raw] {
                // Re-read only after a reload, as the workers do (versioned_source.h).
                const std::uint64_t version = raw->running->version();
                if (version != raw->admin_context.policy_version || !raw->admin_context.policy) {
                  const auto running = raw->running->current();
                  raw->admin_context = decision::DecisionContext{running->shared_policy(), version,
                                                                 running->decision()};
                }
                return raw->admin_context;
              }});

  const std::size_t threads = impl->options.threads ? impl->options.threads : usable_cores();
  impl->proxy =
      std::make_unique<proxy::ProxyServer>(proxy::ProxyDeps{.counters = impl->stores->counters(),
                                                            .sessions = impl->stores->sessions(),
                                                            .accounts = impl->stores->accounts(),
                                                            .metrics = impl->metrics,
                                                            .usage = impl->usage,
                                                            .clock = clock,
                                                            .running = *impl->running},
                                           threads);
  return std::unique_ptr<GatewayApp>(new GatewayApp(std::move(impl)));
}

core::Result<bool, std::string> GatewayApp::start() {
  impl_->signals.emplace(impl_->control, SIGINT, SIGTERM, SIGHUP);
  impl_->wait_for_signal();
  auto admin_port = impl_->admin->listen(impl_->config->admin.listen);
  if (!admin_port) return core::unexpected("admin listener: " + admin_port.error());
  impl_->admin_port = *admin_port;
  warn_if_descriptors_short(raise_open_file_limit(), impl_->config->http.max_connections);
  impl_->checks->start();
  auto port = impl_->proxy->start(impl_->config->listen);
  if (!port) return core::unexpected("listener: " + port.error());
  impl_->port = *port;
  if (impl_->rls) {
    const config::ListenAddress& address = *impl_->config->decision.grpc_listen;
    auto grpc_port = impl_->rls->start(address);
    if (!grpc_port) return core::unexpected("decision service: " + grpc_port.error());
    impl_->grpc_port = *grpc_port;
    spdlog::info("decision service (gRPC) listening on {}:{}", address.host, impl_->grpc_port);
  }
  // A first health probe now, so /readyz knows the store before the first tick.
  impl_->stores->tick(impl_->clock.now(), impl_->control.get_executor());
  impl_->schedule_tick();
  spdlog::info("kallglot-gateway listening on {}:{} (admin {}:{}), upstream {}",
               impl_->config->listen.host, impl_->port, impl_->config->admin.listen.host,
               impl_->admin_port, impl_->config->upstream.url);
  return true;
}

std::uint16_t GatewayApp::port() const noexcept { return impl_->port; }
std::uint16_t GatewayApp::admin_port() const noexcept { return impl_->admin_port; }
std::uint16_t GatewayApp::grpc_port() const noexcept { return impl_->grpc_port; }
store::AccountStore& GatewayApp::accounts() { return impl_->stores->accounts(); }

int GatewayApp::run_until_signalled() {
  Impl& impl = *impl_;
  impl.control.run();
  if (!impl.stopping) return 1;
  impl.stop_all(impl.config->shutdown_grace);
  spdlog::info("stopped");
  return 0;
}

}  // namespace gw::app

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
#include "config/config_loader.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "policy/policy.h"
#include "policy/policy_source.h"
#include "proxy/proxy_server.h"
#include "store/memory/memory_counter_store.h"
#include "store/memory/memory_session_store.h"
#include "store/keys/key_hash.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::app {

namespace net = boost::asio;

namespace {

constexpr auto kSweepInterval = std::chrono::seconds(10);

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
  store::MemoryCounterStore counters;
  std::unique_ptr<store::SqliteAccountStore> accounts;
  std::unique_ptr<store::MemorySessionStore> sessions;
  std::unique_ptr<policy::PolicySource> policy;

  // The control thread (main) runs signals, the periodic sweep and the admin listener.
  net::io_context control{1};
  std::unique_ptr<admin::AdminServer> admin;
  std::unique_ptr<proxy::ProxyServer> proxy;
  net::steady_timer sweep_timer{control};
  // Installed by start(), before the listeners open, so no signal finds default handlers.
  std::optional<net::signal_set> signals;
  bool stopping = false;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;

  Impl(GatewayOptions opts, const core::Clock& c, std::shared_ptr<const config::GatewayConfig> cfg)
      : options(std::move(opts)), clock(c), config(std::move(cfg)) {}

  void schedule_sweep() {
    sweep_timer.expires_after(kSweepInterval);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const auto now = clock.now();
      counters.sweep(now);
      sessions->sweep(now);
      metrics.active_sessions(static_cast<std::int64_t>(sessions->slot_count()));
      usage.sweep(now);
      schedule_sweep();
    });
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
        next.accounts.path != config->accounts.path ||
        next.store.backend != config->store.backend) {
      spdlog::warn(
          "reload: listen addresses, accounts.path and store.backend change only on restart");
    }
    config = *loaded;
    policy->publish(std::make_shared<const policy::Policy>(config));
    metrics.config_reload(true);
    spdlog::info("configuration reloaded from {}", options.config_path);
  }
};

GatewayApp::GatewayApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayApp::~GatewayApp() {
  if (impl_->proxy) impl_->proxy->drain_and_stop(std::chrono::milliseconds(0));
}

core::Result<std::unique_ptr<GatewayApp>, std::string> GatewayApp::create(
    std::shared_ptr<const config::GatewayConfig> config, GatewayOptions options,
    const core::Clock& clock) {
  if (config->store.backend != config::StoreBackend::memory) {
    return core::unexpected(std::string("store.backend: redis is not available in this build yet"));
  }
  auto impl = std::make_unique<Impl>(std::move(options), clock, config);
  auto accounts = store::SqliteAccountStore::open(config->accounts.path, clock);
  if (!accounts) {
    return core::unexpected("accounts.path " + config->accounts.path + ": " +
                            accounts.error().detail);
  }
  impl->accounts = std::move(*accounts);
  auto sessions = store::MemorySessionStore::open(config->accounts.path, clock.now());
  if (!sessions) {
    return core::unexpected("accounts.path " + config->accounts.path + ": " + sessions.error());
  }
  impl->sessions = std::move(*sessions);
  impl->policy =
      std::make_unique<policy::PolicySource>(std::make_shared<const policy::Policy>(config));

  std::string token = impl->options.admin_token;
  if (token.empty()) {
    if (const char* from_env = std::getenv(config->admin.token_env.c_str())) token = from_env;
  }
  if (token.empty()) {
    spdlog::warn("{} is not set: the admin API answers 401 to every request",
                 config->admin.token_env);
  }

  Impl* raw = impl.get();
  impl->admin = std::make_unique<admin::AdminServer>(
      impl->control, admin::AdminDeps{.accounts = *impl->accounts,
                                      .counters = impl->counters,
                                      .sessions = *impl->sessions,
                                      .metrics = impl->metrics,
                                      .usage = impl->usage,
                                      .clock = clock,
                                      .policy = [raw] { return raw->policy->current(); },
                                      .admin_token_sha256 =
                                          token.empty() ? std::string() : store::sha256_hex(token),
                                      .ready = [raw] { return raw->proxy != nullptr; },
                                      .on_accounts_changed = {}});

  const std::size_t threads = impl->options.threads ? impl->options.threads : usable_cores();
  impl->proxy = std::make_unique<proxy::ProxyServer>(proxy::ProxyDeps{.counters = impl->counters,
                                                                      .sessions = *impl->sessions,
                                                                      .accounts = *impl->accounts,
                                                                      .metrics = impl->metrics,
                                                                      .usage = impl->usage,
                                                                      .clock = clock,
                                                                      .policy = *impl->policy},
                                                     threads);
  return std::unique_ptr<GatewayApp>(new GatewayApp(std::move(impl)));
}

core::Result<bool, std::string> GatewayApp::start() {
  impl_->signals.emplace(impl_->control, SIGINT, SIGTERM, SIGHUP);
  impl_->wait_for_signal();
  auto admin_port = impl_->admin->listen(impl_->config->admin.listen);
  if (!admin_port) return core::unexpected("admin listener: " + admin_port.error());
  impl_->admin_port = *admin_port;
  auto port = impl_->proxy->start(impl_->config->listen);
  if (!port) return core::unexpected("listener: " + port.error());
  impl_->port = *port;
  impl_->schedule_sweep();
  spdlog::info("kallglot-gateway listening on {}:{} (admin {}:{}), upstream {}",
               impl_->config->listen.host, impl_->port, impl_->config->admin.listen.host,
               impl_->admin_port, impl_->config->upstream.url);
  return true;
}

std::uint16_t GatewayApp::port() const noexcept { return impl_->port; }
std::uint16_t GatewayApp::admin_port() const noexcept { return impl_->admin_port; }
store::AccountStore& GatewayApp::accounts() { return *impl_->accounts; }

int GatewayApp::run_until_signalled() {
  Impl& impl = *impl_;
  impl.control.run();
  if (!impl.stopping) return 1;
  impl.proxy->drain_and_stop(impl.config->shutdown_grace);
  impl.admin->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace gw::app

#include "app/store_backend.h"

#include <spdlog/spdlog.h>

#include "store/memory/memory_counter_store.h"
#include "store/memory/memory_session_store.h"
#include "store/redis/check_script.h"
#include "store/redis/local_fallback_counter_store.h"
#include "store/redis/redis_account_store.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_counter_store.h"
#include "store/redis/redis_session_store.h"
#include "store/redis_url.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::app {
namespace {

constexpr auto kSweepEvery = std::chrono::seconds(10);

class MemoryBackend final : public StoreBackend {
 public:
  MemoryBackend(std::unique_ptr<store::SqliteAccountStore> accounts,
                std::unique_ptr<store::MemorySessionStore> sessions,
                metrics::GatewayMetrics& metrics)
      : accounts_(std::move(accounts)), sessions_(std::move(sessions)), metrics_(metrics) {}

  store::CounterStore& counters() override { return counters_; }
  store::SessionStore& sessions() override { return *sessions_; }
  store::AccountStore& accounts() override { return *accounts_; }

  void tick(core::UnixNanos now, const boost::asio::any_io_executor&) override {
    if (now - last_sweep_ < kSweepEvery) return;
    last_sweep_ = now;
    counters_.sweep(now);
    sessions_->sweep(now);
    metrics_.active_sessions(static_cast<std::int64_t>(sessions_->slot_count()));
  }
  bool healthy() const override { return true; }
  void shutdown() override {}

 private:
  store::MemoryCounterStore counters_;
  std::unique_ptr<store::SqliteAccountStore> accounts_;
  std::unique_ptr<store::MemorySessionStore> sessions_;
  metrics::GatewayMetrics& metrics_;
  core::UnixNanos last_sweep_{};
};

class RedisBackend final : public StoreBackend {
 public:
  RedisBackend(const config::GatewayConfig& config, store::redis::ClientOptions options,
               metrics::GatewayMetrics& metrics, const core::Clock& clock)
      : metrics_(metrics),
        client_(std::make_unique<store::redis::RedisClient>(options)),
        redis_counters_(*client_, {.clock = &clock}),
        sessions_(*client_),
        accounts_(std::make_unique<store::redis::RedisAccountStore>(*client_, options,
                                                                    config.accounts.cache, clock)) {
    counters_ = &redis_counters_;
    if (config.store.on_failure == config::OnStoreFailure::local) {
      local_ = std::make_unique<store::MemoryCounterStore>();
      fallback_ = std::make_unique<store::LocalFallbackCounterStore>(
          redis_counters_, *local_, [this] { metrics_.store_error(); });
      counters_ = fallback_.get();
    }
  }

  store::CounterStore& counters() override { return *counters_; }
  store::SessionStore& sessions() override { return sessions_; }
  store::AccountStore& accounts() override { return *accounts_; }

  void tick(core::UnixNanos now, const boost::asio::any_io_executor& control) override {
    // A PING from the control loop keeps the health (and /readyz) current even when no
    // request is running, and its connection reconnects by itself like the workers'.
    const std::string_view ping[] = {"PING"};
    client_->command(control, "", ping, [](store::redis::ReplyResult) {});
    if (local_ && now - last_sweep_ >= kSweepEvery) {
      last_sweep_ = now;
      local_->sweep(now);
    }
    report_client_stats();
  }

  bool healthy() const override { return client_->healthy(); }

  void shutdown() override {
    accounts_.reset();  // its own loop and connections first
    client_->shutdown();
  }

 private:
  void report_client_stats() {
    const auto& stats = client_->stats();
    metrics_.redis_client(stats.commands.load(), stats.writes.load(), stats.timeouts.load(),
                          stats.redirects.load(), stats.reconnects.load());
  }

  metrics::GatewayMetrics& metrics_;
  std::unique_ptr<store::redis::RedisClient> client_;
  store::RedisCounterStore redis_counters_;
  store::RedisSessionStore sessions_;
  std::unique_ptr<store::redis::RedisAccountStore> accounts_;
  std::unique_ptr<store::MemoryCounterStore> local_;
  std::unique_ptr<store::LocalFallbackCounterStore> fallback_;
  store::CounterStore* counters_ = nullptr;
  core::UnixNanos last_sweep_{};
};

core::Result<std::unique_ptr<StoreBackend>, std::string> open_memory(
    const config::GatewayConfig& config, const core::Clock& clock,
    metrics::GatewayMetrics& metrics) {
  auto accounts = store::SqliteAccountStore::open(config.accounts.path, clock);
  if (!accounts) {
    return core::unexpected("accounts.path " + config.accounts.path + ": " +
                            accounts.error().detail);
  }
  auto sessions = store::MemorySessionStore::open(config.accounts.path, clock.now());
  if (!sessions) {
    return core::unexpected("accounts.path " + config.accounts.path + ": " + sessions.error());
  }
  return std::unique_ptr<StoreBackend>(
      new MemoryBackend(std::move(*accounts), std::move(*sessions), metrics));
}

core::Result<std::unique_ptr<StoreBackend>, std::string> open_redis(
    const core::Clock& clock, const config::GatewayConfig& config,
    metrics::GatewayMetrics& metrics) {
  store::redis::ClientOptions options;
  for (const std::string& text : config.store.redis_urls) {
    auto url = store::parse_redis_url(text);
    if (!url) return core::unexpected("store.redis.url: " + url.error());
    options.seeds.push_back(std::move(*url));
  }
  if (options.seeds.empty()) return core::unexpected(std::string("store.redis.url: no URL"));
  options.timeout = config.store.redis_timeout;
  options.scripts = store::RedisSessionStore::scripts();
  options.scripts.push_back(&store::redis::check_script());
  spdlog::info("store: redis at {} ({} seed{}), timeout {} ms, on_failure {}",
               options.seeds.front().address(), options.seeds.size(),
               options.seeds.size() == 1 ? "" : "s", options.timeout.count(),
               config.store.on_failure == config::OnStoreFailure::fail_open     ? "fail_open"
               : config.store.on_failure == config::OnStoreFailure::fail_closed ? "fail_closed"
                                                                                : "local");
  return std::unique_ptr<StoreBackend>(
      new RedisBackend(config, std::move(options), metrics, clock));
}

}  // namespace

core::Result<std::unique_ptr<StoreBackend>, std::string> StoreBackend::open(
    const config::GatewayConfig& config, const core::Clock& clock,
    metrics::GatewayMetrics& metrics) {
  if (config.store.backend == config::StoreBackend::redis)
    return open_redis(clock, config, metrics);
  return open_memory(config, clock, metrics);
}

}  // namespace gw::app

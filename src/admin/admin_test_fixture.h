// Test support for admin/ (included by *_test.cpp only): an AdminDeps over an in-memory
// SqliteAccountStore, a scripted CounterStore, an in-memory MemorySessionStore and a Policy
// built from a hand-made configuration with the published plans; answer() runs a request
// through an AdminRouter.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_deps.h"
#include "admin/admin_router.h"
#include "config/gateway_config.h"
#include "core/fake_clock.h"
#include "metrics/gateway_metrics.h"
#include "metrics/usage_history.h"
#include "policy/policy.h"
#include "store/memory/memory_session_store.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::admin::testing {

inline constexpr std::string_view kAdminToken = "admin-secret-token";
inline constexpr std::int64_t kResetS = 1'700'000'040;

// Answers every peek/check with `used` units spent per limit, after a posted hop.
class FakeCounterStore final : public store::CounterStore {
 public:
  struct Seen {
    std::string subject;
    std::vector<std::string> names;
    std::vector<std::int64_t> limits;
    std::int64_t cost = 0;
  };

  void check(const store::CheckRequest& request, core::UnixNanos now,
             boost::asio::any_io_executor executor, store::CheckHandler done) override {
    peek(request, now, std::move(executor), std::move(done));
  }

  void peek(const store::CheckRequest& request, core::UnixNanos,
            boost::asio::any_io_executor executor, store::CheckHandler done) override {
    Seen seen{.subject = std::string(request.subject), .cost = request.cost};
    store::CheckResult result{.admitted = true, .count = request.limits.size()};
    for (std::size_t i = 0; i < request.limits.size(); ++i) {
      const auto& ref = request.limits[i];
      seen.names.emplace_back(ref.name);
      seen.limits.push_back(ref.spec.limit);
      const std::int64_t used = std::min<std::int64_t>(used_, ref.spec.limit);
      result.decisions[i] = limiter::Decision{.allowed = true,
                                              .limit = ref.spec.limit,
                                              .remaining = ref.spec.limit - used,
                                              .used = used,
                                              .reset_unix_s = kResetS};
    }
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(std::move(seen));
    }
    const bool fail = fail_;
    boost::asio::post(executor, [done = std::move(done), result, fail] {
      if (fail) {
        done(core::unexpected(store::StoreError{.detail = "injected failure"}));
      } else {
        done(result);
      }
    });
  }

  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void set_used(std::int64_t used) { used_ = used; }
  void set_failing(bool fail) { fail_ = fail; }

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<bool> fail_{false};
};

inline policy::PlanLimits plan(std::int64_t api, std::optional<std::int64_t> sessions,
                               std::int64_t messages, std::int64_t audio,
                               std::map<std::string, std::int64_t, std::less<>> groups) {
  return {.api_requests_per_minute = api,
          .concurrent_sessions = sessions,
          .ws_messages_per_second = messages,
          .ws_audio_bytes_per_second = audio,
          .groups = std::move(groups)};
}

// The published policy (SPEC §1), with two of its groups.
inline std::shared_ptr<const config::GatewayConfig> test_config() {
  auto config = std::make_shared<config::GatewayConfig>();
  config->plans.emplace("free",
                        plan(60, 2, 100, 32768, {{"sessions_write", 30}, {"analysis", 15}}));
  config->plans.emplace("starter",
                        plan(120, 10, 500, 65536, {{"sessions_write", 60}, {"analysis", 30}}));
  config->plans.emplace("pro",
                        plan(600, 50, 1000, 131072, {{"sessions_write", 300}, {"analysis", 150}}));
  config->plans.emplace("enterprise", plan(600, std::nullopt, 1000, 131072, {}));
  config->groups.push_back(
      {.name = "sessions_write", .routes = {"POST /v1/sessions", "POST /v1/sessions/{id}/end"}});
  config->groups.push_back(
      {.name = "analysis", .routes = {"* /v1/sessions/{id}/analysis*", "* /v1/analysis/*"}});
  return config;
}

struct AdminWorld {
  explicit AdminWorld(std::optional<core::KeyedDigest> token = core::KeyedDigest::of(kAdminToken))
      : accounts(store::SqliteAccountStore::open(":memory:", clock).value()),
        sessions(store::MemorySessionStore::open(":memory:", clock.now()).value()),
        policy(std::make_shared<const policy::Policy>(test_config())),
        token(token) {}

  AdminDeps deps() {
    return AdminDeps{.accounts = *accounts,
                     .counters = counters,
                     .sessions = *sessions,
                     .metrics = metrics,
                     .usage = usage,
                     .clock = clock,
                     .policy = [this] { return policy; },
                     .admin_token = token,
                     .ready = [this] { return ready.load(); },
                     .on_accounts_changed = [this] { ++changes; }};
  }

  core::FakeClock clock{core::UnixNanos{std::chrono::seconds(1'700'000'000)}};
  std::unique_ptr<store::SqliteAccountStore> accounts;
  std::unique_ptr<store::MemorySessionStore> sessions;
  FakeCounterStore counters;
  metrics::GatewayMetrics metrics;
  metrics::UsageHistory usage;
  std::shared_ptr<const policy::Policy> policy;
  std::optional<core::KeyedDigest> token;
  std::atomic<bool> ready{true};
  std::atomic<int> changes{0};
};

// The router's answer to `request`, given at once or through `done` once `io` has run:
// exactly one of the two, and `done` never inline.
inline Response answer(const AdminRouter& router, Request request, boost::asio::io_context& io) {
  std::optional<Response> later;
  int calls = 0;
  std::optional<Response> now =
      router.handle(std::move(request), io.get_executor(), [&](Response res) {
        ++calls;
        later = std::move(res);
      });
  EXPECT_EQ(calls, 0) << "completion ran inline";
  io.restart();
  io.run();
  EXPECT_EQ(calls, now ? 0 : 1);
  if (now) return std::move(*now);
  return later.value_or(Response{});
}

}  // namespace gw::admin::testing

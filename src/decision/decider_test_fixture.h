// The world the decision module's tests decide in: a fake clock 20 s into a minute (every
// window ends 40 s later), an in-memory SQLite account store, the memory counter store,
// metrics, usage, a caller cache and a Decider under a small policy:
//   groups   analysis (`* /v1/analysis*`), voice (`POST /v1/voice`)
//   plans    free: 3 per minute, analysis 2 (voice not limited); pro: 10, analysis 2;
//            anonymous: 1
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/fake_clock.h"
#include "decision/decider.h"
#include "store/memory/memory_counter_store.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::decision::testing {

inline std::shared_ptr<const policy::PolicyConfig> small_policy() {
  auto c = std::make_shared<policy::PolicyConfig>();
  c->groups = {{"analysis", {"* /v1/analysis*"}, false}, {"voice", {"POST /v1/voice"}, false}};
  policy::PlanLimits free;
  free.api_requests_per_minute = 3;
  free.groups = {{"analysis", 2}};
  c->plans.emplace("free", free);
  policy::PlanLimits pro = free;
  pro.api_requests_per_minute = 10;
  c->plans.emplace("pro", pro);
  policy::PlanLimits anonymous;
  anonymous.api_requests_per_minute = 1;
  c->plans.emplace("anonymous", anonymous);
  return c;
}

class DeciderFixture : public ::testing::Test {
 protected:
  core::FakeClock clock{
      core::UnixNanos(std::chrono::seconds(1'800'000'000 - 1'800'000'000 % 60 + 20))};
  std::unique_ptr<store::SqliteAccountStore> accounts =
      *store::SqliteAccountStore::open(":memory:", clock);
  store::MemoryCounterStore counters;
  metrics::GatewayMetrics metrics;
  metrics::UsageHistory usage;
  CallerCache callers{*accounts, clock};
  Decider decider{callers, *accounts, counters, metrics, usage, clock};
  DecisionContext context{std::make_shared<const policy::Policy>(small_policy()), 1, {}};

  // A new account on `plan` and its live key.
  std::string new_key(const std::string& account, const std::string& plan) {
    accounts->put_account({account, plan, {}});
    return accounts->create_key(account, store::KeyEnvironment::live)->key;
  }
};

}  // namespace gw::decision::testing

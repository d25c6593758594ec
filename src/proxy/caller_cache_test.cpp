#include "proxy/caller_cache.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "core/fake_clock.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::proxy {
namespace {

using namespace std::chrono_literals;

class CallerCacheTest : public ::testing::Test {
 protected:
  core::FakeClock clock{core::UnixNanos(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<store::SqliteAccountStore> accounts =
      *store::SqliteAccountStore::open(":memory:", clock);
  std::shared_ptr<const config::GatewayConfig> config = config::default_config();
  policy::Policy policy{config};
  CallerCache cache{*accounts, clock};

  std::string new_key(const std::string& account, const std::string& plan,
                      store::KeyEnvironment environment = store::KeyEnvironment::live) {
    accounts->put_account({account, plan, {}});
    return accounts->create_key(account, environment)->key;
  }
};

TEST_F(CallerCacheTest, UnknownKeyIsNullAndKnownKeyCarriesItsPlan) {
  const std::string key = new_key("acme", "pro");
  auto unknown = cache.find("sk_live_nope", policy, 1);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(*unknown, nullptr);

  auto caller = cache.find(key, policy, 1);
  ASSERT_TRUE(caller.has_value());
  ASSERT_NE(*caller, nullptr);
  EXPECT_EQ((*caller)->account_id, "acme");
  EXPECT_EQ((*caller)->plan_name, "pro");
  EXPECT_EQ((*caller)->subject, "acme:live");
  EXPECT_EQ((*caller)->limits.api_requests_per_minute, 600);
}

TEST_F(CallerCacheTest, TestKeysUseTheFreePlanOnTheirOwnCounters) {
  const std::string key = new_key("acme", "pro", store::KeyEnvironment::test);
  auto caller = cache.find(key, policy, 1);
  ASSERT_TRUE(caller.has_value() && *caller);
  EXPECT_EQ((*caller)->plan_name, "free");
  EXPECT_EQ((*caller)->subject, "acme:test");
  EXPECT_EQ((*caller)->limits.api_requests_per_minute, 60);
}

TEST_F(CallerCacheTest, AStoreChangeAppliesToTheNextLookup) {
  const std::string key = new_key("acme", "free");
  EXPECT_EQ((*cache.find(key, policy, 1))->limits.api_requests_per_minute, 60);
  accounts->put_account({"acme", "starter", {}});
  EXPECT_EQ((*cache.find(key, policy, 1))->limits.api_requests_per_minute, 120);

  const auto records = *accounts->list_keys("acme");
  ASSERT_EQ(records.size(), 1u);
  accounts->revoke_key(records[0].key_id);
  EXPECT_EQ(*cache.find(key, policy, 1), nullptr);
}

TEST_F(CallerCacheTest, ANewPolicyVersionRebuildsCallers) {
  const std::string key = new_key("acme", "free");
  auto first = *cache.find(key, policy, 1);
  EXPECT_EQ(*cache.find(key, policy, 1), first);  // cached: the same snapshot
  EXPECT_NE(*cache.find(key, policy, 2), first);  // rebuilt for the new policy
}

TEST_F(CallerCacheTest, EntriesExpireAfterCacheSeconds) {
  const std::string key = new_key("acme", "free");
  auto first = *cache.find(key, policy, 1);
  clock.advance(config->accounts.cache - 1ns);
  EXPECT_EQ(*cache.find(key, policy, 1), first);
  clock.advance(1ns);
  EXPECT_NE(*cache.find(key, policy, 1), first);
}

TEST_F(CallerCacheTest, AnonymousCallersAreLimitedByAddress) {
  auto a = cache.anonymous(*core::parse_ip("10.0.0.1"), policy, 1);
  EXPECT_TRUE(a->anonymous);
  EXPECT_EQ(a->subject, "ip:10.0.0.1");
  EXPECT_EQ(a->plan_name, "anonymous");
  EXPECT_NE(cache.anonymous(*core::parse_ip("10.0.0.2"), policy, 1)->subject, a->subject);
}

}  // namespace
}  // namespace gw::proxy

#include "decision/caller_cache.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "core/fake_clock.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::decision {
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

TEST_F(CallerCacheTest, MalformedKeysAreNeitherLookedUpNorCached) {
  for (std::string_view key : {"sk_live_nope", "sk_live_", "Bearer", "sk_live_0123456789abcdefghij",
                               "sk_live_0123456789012345678901234567890123456789012+"}) {
    EXPECT_EQ(*cache.find(key, policy, 1), nullptr) << key;
  }
  const auto sizes = cache.sizes();
  EXPECT_EQ(sizes.known_keys + sizes.unknown_keys, 0u);
}

TEST_F(CallerCacheTest, AFloodOfMadeUpKeysNeverEvictsAKnownCaller) {
  const std::string key = new_key("acme", "pro");
  const auto known = *cache.find(key, policy, 1);
  ASSERT_NE(known, nullptr);
  std::string made_up = "sk_live_" + std::string(43, 'a');
  for (int i = 0; i < 3 * static_cast<int>(CallerCache::kMaxUnknownKeys); ++i) {
    std::string digits = std::to_string(i);
    made_up.replace(made_up.size() - digits.size(), digits.size(), digits);
    ASSERT_EQ(*cache.find(made_up, policy, 1), nullptr);
    ASSERT_LE(cache.sizes().unknown_keys, CallerCache::kMaxUnknownKeys);
  }
  // Still the same cached caller: a hit, not a new lookup.
  auto hit = cache.cached_key(key, 1);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, known);
  EXPECT_EQ(cache.sizes().known_keys, 1u);
}

TEST_F(CallerCacheTest, AnUnknownKeyIsRememberedAsUnknownUntilTheStoreChanges) {
  const std::string never_issued = "sk_live_" + std::string(43, 'Z');
  EXPECT_EQ(*cache.find(never_issued, policy, 1), nullptr);
  auto hit = cache.cached_key(never_issued, 1);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, nullptr);
  new_key("acme", "free");  // any change to the store: the unknown may have become known
  EXPECT_FALSE(cache.cached_key(never_issued, 1).has_value());
}

TEST_F(CallerCacheTest, AnIpv6ClientIsAnonymousPerSlash64) {
  auto a = cache.anonymous(*core::parse_ip("2001:db8:1:2::1"), policy, 1);
  auto b = cache.anonymous(*core::parse_ip("2001:db8:1:2:ffff::2"), policy, 1);
  EXPECT_EQ(a->subject, "ip:2001:db8:1:2::/64");
  EXPECT_EQ(a->subject, b->subject);
  EXPECT_NE(cache.anonymous(*core::parse_ip("2001:db8:1:3::1"), policy, 1)->subject, a->subject);
}

TEST_F(CallerCacheTest, AnonymousCallersAreLimitedByAddress) {
  auto a = cache.anonymous(*core::parse_ip("10.0.0.1"), policy, 1);
  EXPECT_TRUE(a->anonymous);
  EXPECT_EQ(a->subject, "ip:10.0.0.1");
  EXPECT_EQ(a->plan_name, "anonymous");
  EXPECT_NE(cache.anonymous(*core::parse_ip("10.0.0.2"), policy, 1)->subject, a->subject);
}

}  // namespace
}  // namespace gw::decision

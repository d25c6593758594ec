// What only RedisAccountStore does: its key layout, the outage cache of verified keys,
// change notices between instances and resubscription, Redis Cluster. The AccountStore
// contract it shares with the SQLite store is redis_account_store_contract_test.cpp
// (store/testing/account_store_contract.h).
#include "store/redis/redis_account_store.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

#include "store/keys/key_hash.h"
#include "testing/redis_cluster.h"
#include "testing/redis_server.h"

namespace gw::store::redis {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

ClientOptions options_for(const std::vector<std::string>& urls) {
  ClientOptions options;
  for (const auto& url : urls) options.seeds.push_back(*parse_redis_url(url));
  options.timeout = 500ms;
  return options;
}

// A gateway instance's view: the shared client, a worker loop, and the account store.
class Instance {
 public:
  explicit Instance(const std::vector<std::string>& urls)
      : client_(std::make_unique<RedisClient>(options_for(urls))),
        store_(std::make_unique<RedisAccountStore>(*client_, options_for(urls))),
        thread_([this] { io_.run(); }) {}
  ~Instance() {
    guard_.reset();
    io_.stop();
    thread_.join();
    store_.reset();
    client_.reset();
  }

  RedisAccountStore& store() { return *store_; }

  AccountResult<KeyLookup> lookup(std::string key) {
    std::promise<AccountResult<KeyLookup>> answer;
    store_->lookup_key(key, io_.get_executor(), [&](AccountResult<KeyLookup> result) {
      answer.set_value(std::move(result));
    });
    return answer.get_future().get();
  }

  // Waits (polling, bounded) until version() differs from `seen`.
  bool version_moves_from(std::uint64_t seen) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (store_->version() != seen) return true;
      std::this_thread::sleep_for(1ms);  // poll interval
    }
    return false;
  }

  bool subscribed() {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!store_->subscribed() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);  // poll interval
    }
    return store_->subscribed();
  }

 private:
  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<RedisAccountStore> store_;
  std::thread thread_;
};

// Revoking deletes a key's records and deleting an account deletes it and its keys: no
// key is left in Redis (the SQLite store keeps revoked rows for audit).
TEST(RedisAccountStore, DeletingAnAccountLeavesNothingBehind) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  RedisAccountStore& store = gateway.store();
  ASSERT_TRUE(store.put_account({"acme", "pro", {{"api_requests_per_minute", 5000}}}));
  auto live = *store.create_key("acme", KeyEnvironment::live);
  ASSERT_TRUE(store.create_key("acme", KeyEnvironment::test));
  EXPECT_EQ(server.command({"EXISTS", "kg:key:" + sha256_hex(live.key)}), "1");
  EXPECT_TRUE(*store.revoke_key(live.record.key_id));
  EXPECT_EQ(server.command({"EXISTS", "kg:key:" + sha256_hex(live.key)}), "0");
  EXPECT_TRUE(*store.delete_account("acme"));
  EXPECT_EQ(server.command({"DBSIZE"}), "0");
}

// A key whose account vanished without a word (its hash deleted behind the store's back,
// so the key's records stay) resolves to nothing; an unreachable Redis is an error, never
// "unknown key".
TEST(RedisAccountStore, LookupsOfAVanishedAccountAndDuringAnOutage) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.store().put_account({"acme", "pro", {}}));
  auto created = *gateway.store().create_key("acme", KeyEnvironment::test);
  ASSERT_TRUE(gateway.lookup(created.key)->record);

  ASSERT_TRUE(server.command({"DEL", "kg:account:{acme}"}) == "1");
  auto orphan = gateway.lookup(created.key);
  ASSERT_TRUE(orphan);
  EXPECT_FALSE(orphan->record);
  EXPECT_FALSE(gateway.store().find_key(created.key).value());

  server.kill();
  EXPECT_FALSE(gateway.lookup(created.key));  // an error, not "unknown key"
}

TEST(RedisAccountStore, RecentlyVerifiedKeysKeepWorkingDuringAnOutage) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.store().put_account({"acme", "pro", {}}));
  auto used = *gateway.store().create_key("acme", KeyEnvironment::live);
  auto unused = *gateway.store().create_key("acme", KeyEnvironment::live);
  ASSERT_TRUE(gateway.lookup(used.key)->record);

  server.kill();
  auto during = gateway.lookup(used.key);
  ASSERT_TRUE(during) << during.error().detail;
  ASSERT_TRUE(during->account);
  EXPECT_EQ(during->account->plan, "pro");
  EXPECT_FALSE(gateway.lookup(unused.key));  // never verified: cannot be vouched for
}

TEST(RedisAccountStore, AChangeForgetsWhatWasVerified) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.store().put_account({"acme", "pro", {}}));
  auto key = *gateway.store().create_key("acme", KeyEnvironment::live);
  ASSERT_TRUE(gateway.lookup(key.key)->record);
  ASSERT_TRUE(*gateway.store().revoke_key(key.record.key_id));
  server.kill();
  EXPECT_FALSE(gateway.lookup(key.key));  // revoked before the outage: not served from memory
}

TEST(RedisAccountStore, ChangesOnOneInstanceMoveTheOthersVersion) {
  testing::RedisServer server;
  Instance a({server.url()});
  Instance b({server.url()});
  ASSERT_TRUE(b.subscribed());
  const std::uint64_t before = b.store().version();
  ASSERT_TRUE(a.store().put_account({"acme", "pro", {}}));
  EXPECT_TRUE(b.version_moves_from(before));

  const std::uint64_t after_put = b.store().version();
  auto key = *a.store().create_key("acme", KeyEnvironment::live);
  EXPECT_TRUE(b.version_moves_from(after_put));
  EXPECT_TRUE(b.store().find_key(key.key).value());  // and B reads what A wrote
}

TEST(RedisAccountStore, ResubscribingAfterAnOutageMovesTheVersion) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.subscribed());
  const std::uint64_t before = gateway.store().version();
  server.kill();
  server.restart();
  // Changes may have been missed while disconnected: the version must move.
  EXPECT_TRUE(gateway.version_moves_from(before));
  EXPECT_TRUE(gateway.subscribed());
}

TEST(RedisAccountStore, WorksOnRedisCluster) {
  testing::RedisCluster cluster;
  Instance a({cluster.urls().front()});
  Instance b({cluster.urls().back()});
  ASSERT_TRUE(b.subscribed());
  for (int i = 0; i < 20; ++i) {
    const std::string id = "acct_" + std::to_string(i);
    ASSERT_TRUE(a.store().put_account({id, "starter", {}}).has_value()) << id;
    auto key = a.store().create_key(id, KeyEnvironment::live);
    ASSERT_TRUE(key.has_value()) << key.error().detail;
    auto found = b.lookup(key->key);
    ASSERT_TRUE(found.has_value()) << found.error().detail;
    ASSERT_TRUE(found->account);
    EXPECT_EQ(found->account->plan, "starter");
    EXPECT_EQ(*b.store().delete_account(id), true);
  }
}

}  // namespace
}  // namespace gw::store::redis

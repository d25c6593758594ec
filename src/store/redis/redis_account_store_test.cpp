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

TEST(RedisAccountStore, AccountsAndKeysRoundTrip) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  RedisAccountStore& store = gateway.store();

  EXPECT_EQ(*store.get_account("acme"), std::nullopt);
  EXPECT_TRUE(*store.put_account({"acme", "starter", {}}));
  boost::json::object overrides{{"api_requests_per_minute", 5000}};
  EXPECT_FALSE(*store.put_account({"acme", "pro", overrides}));  // updated
  auto account = *store.get_account("acme");
  ASSERT_TRUE(account);
  EXPECT_EQ(account->plan, "pro");
  EXPECT_EQ(account->overrides, overrides);

  auto live = *store.create_key("acme", KeyEnvironment::live);
  auto test = *store.create_key("acme", KeyEnvironment::test);
  EXPECT_TRUE(live.key.starts_with("sk_live_"));
  EXPECT_TRUE(test.key.starts_with("sk_test_"));
  EXPECT_FALSE(store.create_key("nobody", KeyEnvironment::live));

  auto found = *store.find_key(live.key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key_id, live.record.key_id);
  EXPECT_EQ(found->account_id, "acme");
  EXPECT_EQ(found->environment, KeyEnvironment::live);
  EXPECT_EQ(*store.find_key("sk_live_unknown"), std::nullopt);
  EXPECT_EQ(*store.find_key("not-a-key"), std::nullopt);

  auto keys = *store.list_keys("acme");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key_id, live.record.key_id);  // in creation order
  EXPECT_EQ(keys[1].environment, KeyEnvironment::test);

  EXPECT_TRUE(*store.revoke_key(live.record.key_id));
  EXPECT_FALSE(*store.revoke_key(live.record.key_id));
  EXPECT_EQ(*store.find_key(live.key), std::nullopt);
  EXPECT_EQ(store.list_keys("acme")->size(), 1u);

  EXPECT_TRUE(*store.delete_account("acme"));
  EXPECT_FALSE(*store.delete_account("acme"));
  EXPECT_EQ(*store.find_key(test.key), std::nullopt);
  EXPECT_EQ(server.command({"DBSIZE"}), "0");  // nothing left behind
}

TEST(RedisAccountStore, OnlyHashesOfKeysAreStored) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.store().put_account({"acme", "free", {}}));
  auto created = *gateway.store().create_key("acme", KeyEnvironment::live);
  EXPECT_EQ(server.command({"EXISTS", "kg:key:" + sha256_hex(created.key)}), "1");
  EXPECT_EQ(server.command({"EXISTS", "kg:key:" + created.key}), "0");
  // Scan every value for the plain secret.
  redisContext* c = server.connect();
  auto* keys = static_cast<redisReply*>(redisCommand(c, "KEYS *"));
  for (std::size_t i = 0; i < keys->elements; ++i) {
    const std::string key(keys->element[i]->str, keys->element[i]->len);
    EXPECT_EQ(key.find(created.key), std::string::npos);
    auto* type = static_cast<redisReply*>(redisCommand(c, "TYPE %s", key.c_str()));
    if (std::string(type->str) == "hash") {
      auto* values = static_cast<redisReply*>(redisCommand(c, "HVALS %s", key.c_str()));
      for (std::size_t v = 0; v < values->elements; ++v) {
        EXPECT_EQ(std::string(values->element[v]->str).find(created.key), std::string::npos);
      }
      freeReplyObject(values);
    }
    freeReplyObject(type);
  }
  freeReplyObject(keys);
  redisFree(c);
}

TEST(RedisAccountStore, LooksKeysUpWithoutBlocking) {
  testing::RedisServer server;
  Instance gateway({server.url()});
  ASSERT_TRUE(gateway.store().put_account({"acme", "pro", {}}));
  auto created = *gateway.store().create_key("acme", KeyEnvironment::test);

  auto found = gateway.lookup(created.key);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->record && found->account);
  EXPECT_EQ(found->record->environment, KeyEnvironment::test);
  EXPECT_EQ(found->account->plan, "pro");

  auto unknown = gateway.lookup("sk_live_nope");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->record);

  // A key whose account was deleted meanwhile resolves to nothing.
  ASSERT_TRUE(server.command({"DEL", "kg:account:{acme}"}) == "1");
  auto orphan = gateway.lookup(created.key);
  ASSERT_TRUE(orphan);
  EXPECT_FALSE(orphan->record);

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

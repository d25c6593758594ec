#include "store/redis/redis_client.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "store/redis/resp.h"
#include "testing/loop_thread.h"
#include "testing/redis_cluster.h"
#include "testing/redis_server.h"

namespace gw::store::redis {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

std::string describe(const redisReply* reply);

// What a command came back with, as text: the reply's text or integer, or "error:<code>".
std::string describe(const ReplyResult& result) {
  if (!result) {
    switch (result.error().code) {
      case StoreErrc::timeout:
        return "error:timeout";
      case StoreErrc::unavailable:
        return "error:unavailable";
      case StoreErrc::protocol_error:
        return "error:protocol";
    }
  }
  return describe(*result);
}

std::string describe(const redisReply* reply) {
  if (reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
  if (reply->type == REDIS_REPLY_NIL) return "(nil)";
  if (reply->type == REDIS_REPLY_ERROR) return "ERR:" + std::string(reply_text(reply));
  if (reply->type == REDIS_REPLY_ARRAY) {
    std::string joined;
    for (std::size_t i = 0; i < reply->elements; ++i) {
      joined += (i ? "," : "") + describe(reply->element[i]);
    }
    return joined;
  }
  return std::string(reply_text(reply));
}

using Loop = testing::LoopThread;  // one event loop on its own thread, like a worker

class RedisClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    loop_.stop();  // the loop first: shutdown() must not race it
    client_.reset();
  }

  void make_client(std::vector<std::string> urls, std::chrono::milliseconds timeout = 200ms,
                   std::vector<const Script*> scripts = {}) {
    ClientOptions options;
    for (const auto& url : urls) options.seeds.push_back(*parse_redis_url(url));
    options.timeout = timeout;
    options.scripts = std::move(scripts);
    client_ = std::make_unique<RedisClient>(std::move(options));
  }

  std::string run(std::vector<std::string> args, std::string key = "") {
    std::promise<std::string> answer;
    std::vector<std::string_view> views(args.begin(), args.end());
    client_->command(loop_.executor(), key, views,
                     [&](ReplyResult result) { answer.set_value(describe(result)); });
    return answer.get_future().get();
  }

  std::string eval(const Script& script, std::vector<std::string> keys,
                   std::vector<std::string> args) {
    std::promise<std::string> answer;
    std::vector<std::string_view> k(keys.begin(), keys.end());
    std::vector<std::string_view> a(args.begin(), args.end());
    client_->eval(loop_.executor(), script, k, a,
                  [&](ReplyResult result) { answer.set_value(describe(result)); });
    return answer.get_future().get();
  }

  // Polls (with a deadline) until `args` answers `expected`: for reconnects.
  bool eventually(std::vector<std::string> args, std::string expected) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (run(args) == expected) return true;
      std::this_thread::sleep_for(20ms);  // poll interval while the client reconnects
    }
    return false;
  }

  Loop loop_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, SendsCommandsAndReadsReplies) {
  testing::RedisServer server;
  make_client({server.url()});
  EXPECT_EQ(run({"PING"}), "PONG");
  EXPECT_EQ(run({"SET", "k", std::string("a\0b\r\n", 5)}), "OK");
  EXPECT_EQ(run({"GET", "k"}), std::string("a\0b\r\n", 5));
  EXPECT_EQ(run({"GET", "missing"}), "(nil)");
  EXPECT_EQ(run({"INCRBY", "n", "41"}), "41");
  EXPECT_EQ(run({"NOSUCHCOMMAND"}).rfind("ERR:ERR unknown command", 0), 0u);
  EXPECT_TRUE(client_->healthy());
}

TEST_F(RedisClientTest, SelectsTheDatabaseOfTheUrl) {
  testing::RedisServer server;
  make_client({server.url() + "/3"});
  EXPECT_EQ(run({"SET", "in3", "yes"}), "OK");
  EXPECT_EQ(server.command({"GET", "in3"}), "(nil)");  // db 0
  EXPECT_EQ(run({"GET", "in3"}), "yes");
}

TEST_F(RedisClientTest, AuthenticatesWithThePassword) {
  testing::RedisServer server({"--requirepass", "s3cret"});
  make_client({"redis://:s3cret@127.0.0.1:" + std::to_string(server.port())});
  EXPECT_EQ(run({"PING"}), "PONG");
}

TEST_F(RedisClientTest, PipelinesEverythingIssuedInOneLoopTurn) {
  testing::RedisServer server;
  make_client({server.url()});
  ASSERT_EQ(run({"PING"}), "PONG");  // connected: later writes are ours alone
  const auto writes_before = client_->stats().writes.load();
  const auto commands_before = client_->stats().commands.load();

  constexpr int kCommands = 200;
  std::vector<std::promise<std::string>> answers(kCommands);
  net::post(loop_.executor(), [&] {
    for (int i = 0; i < kCommands; ++i) {
      const std::string_view args[] = {"INCR", "counter"};
      client_->command(loop_.executor(), "", args,
                       [&answers, i](ReplyResult r) { answers[i].set_value(describe(r)); });
    }
  });
  for (int i = 0; i < kCommands; ++i) {
    EXPECT_EQ(answers[i].get_future().get(), std::to_string(i + 1));  // in order
  }
  EXPECT_EQ(client_->stats().commands.load() - commands_before, kCommands);
  EXPECT_EQ(client_->stats().writes.load() - writes_before, 1u);
}

TEST_F(RedisClientTest, RunsScriptsAndReloadsThemAfterAFlush) {
  testing::RedisServer server;
  static const Script script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
  make_client({server.url()}, 200ms, {&script});
  ASSERT_EQ(run({"PING"}), "PONG");
  EXPECT_EQ(eval(script, {"{a}x"}, {"hello"}), "{a}x,hello,1");
  // Loaded at connect, so the EVALSHA needed no EVAL.
  std::string stats = server.command({"INFO", "commandstats"});
  EXPECT_NE(stats.find("cmdstat_evalsha:calls=1,"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("cmdstat_eval:"), std::string::npos) << stats;

  EXPECT_EQ(server.command({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(eval(script, {"{a}x"}, {"again"}), "{a}x,again,2");  // NOSCRIPT: EVAL instead
  EXPECT_EQ(server.command({"GET", "{a}x"}), "2");
}

TEST_F(RedisClientTest, TimesOutWhileTheServerIsPausedThenRecovers) {
  testing::RedisServer server;
  make_client({server.url()}, 50ms);
  ASSERT_EQ(run({"PING"}), "PONG");
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"PING"}), "error:timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_GE(client_->stats().timeouts.load(), 1u);
  // Later commands queue behind the abandoned one; each still gets its answer on time.
  for (int i = 0; i < 3; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    EXPECT_EQ(run({"PING"}), "error:timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 300ms) << "command " << i;
  }
  server.resume();
  // The late PONG is dropped; the next command gets its own reply.
  EXPECT_EQ(run({"ECHO", "mine"}), "mine");
}

TEST_F(RedisClientTest, FailsFastWhileDownAndReconnectsByItself) {
  testing::RedisServer server;
  make_client({server.url()});
  ASSERT_EQ(run({"SET", "k", "v"}), "OK");
  EXPECT_TRUE(client_->healthy());
  server.kill();
  const std::string first = run({"PING"});
  EXPECT_TRUE(first == "error:unavailable") << first;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"PING"}), "error:unavailable");  // while down: no waiting
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);
  EXPECT_FALSE(client_->healthy());

  server.restart();
  EXPECT_TRUE(eventually({"PING"}, "PONG"));
  EXPECT_TRUE(client_->healthy());
  EXPECT_GE(client_->stats().reconnects.load(), 1u);
}

TEST_F(RedisClientTest, HashSlotsFollowRedisCluster) {
  EXPECT_EQ(key_slot("foo"), 12182);  // values from the Redis Cluster specification
  EXPECT_EQ(key_slot("123456789"), 0x31C3 & 16383);
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));  // an empty tag hashes the whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST_F(RedisClientTest, RoutesByHashSlotAcrossAClusterAndFollowsMoved) {
  testing::RedisCluster cluster;
  make_client({cluster.urls().front()});  // one seed: the rest is discovered
  constexpr int kKeys = 120;
  std::vector<std::promise<std::string>> answers(kKeys);
  // Issued before the slot map is known: keys of other nodes come back MOVED.
  net::post(loop_.executor(), [&] {
    for (int i = 0; i < kKeys; ++i) {
      const std::string key = "{acct:" + std::to_string(i) + "}:k";
      const std::string value = std::to_string(i);
      const std::string_view args[] = {"SET", key, value};
      client_->command(loop_.executor(), key, args,
                       [&answers, i](ReplyResult r) { answers[i].set_value(describe(r)); });
    }
  });
  for (auto& answer : answers) EXPECT_EQ(answer.get_future().get(), "OK");
  EXPECT_GT(client_->stats().redirects.load(), 0u);

  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "{acct:" + std::to_string(i) + "}:k";
    EXPECT_EQ(run({"GET", key}, key), std::to_string(i));
  }
  // Every master holds some of them.
  for (std::size_t n = 0; n < cluster.size(); ++n) {
    EXPECT_NE(cluster.node(n).command({"DBSIZE"}), "0") << "node " << n;
  }
  const auto redirects = client_->stats().redirects.load();
  EXPECT_EQ(run({"GET", "{acct:7}:k"}, "{acct:7}:k"), "7");
  EXPECT_EQ(client_->stats().redirects.load(), redirects);  // the map is learnt
}

// A slot moving between masters while the client uses it: ASK during the migration (one
// command to the importing node, after ASKING), MOVED once it is done (the map learns it).
TEST_F(RedisClientTest, FollowsAskDuringASlotMigrationAndMovedAfterIt) {
  testing::RedisCluster cluster;
  make_client(cluster.urls());
  const std::string key = "{mig}k";
  ASSERT_EQ(run({"SET", key, "v1"}, key), "OK");

  const int slot = key_slot(key);
  std::size_t from = cluster.size();
  for (std::size_t n = 0; n < cluster.size(); ++n) {
    if (cluster.node(n).command({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == "1") {
      from = n;
    }
  }
  ASSERT_LT(from, cluster.size());
  const std::size_t to = (from + 1) % cluster.size();
  const std::string from_id = cluster.node(from).command({"CLUSTER", "MYID"});
  const std::string to_id = cluster.node(to).command({"CLUSTER", "MYID"});
  ASSERT_EQ(
      cluster.node(to).command({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id}),
      "OK");
  ASSERT_EQ(
      cluster.node(from).command({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id}),
      "OK");

  // Keys the old owner no longer has are asked of the new one.
  const auto redirects = client_->stats().redirects.load();
  EXPECT_EQ(run({"SET", "{mig}new", "v2"}, "{mig}new"), "OK");
  EXPECT_GT(client_->stats().redirects.load(), redirects);
  EXPECT_EQ(run({"GET", key}, key), "v1");  // still on the old owner

  // Finish the migration: the key moves, every node learns the slot's new owner.
  ASSERT_EQ(
      cluster.node(from).command({"MIGRATE", "127.0.0.1", std::to_string(cluster.node(to).port()),
                                  "", "0", "5000", "KEYS", key}),
      "OK");
  for (std::size_t n = 0; n < cluster.size(); ++n) {
    ASSERT_EQ(cluster.node(n).command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id}),
              "OK");
  }
  EXPECT_EQ(run({"GET", key}, key), "v1");  // MOVED, followed
  EXPECT_EQ(run({"GET", "{mig}new"}, "{mig}new"), "v2");
  const auto learnt = client_->stats().redirects.load();
  EXPECT_EQ(run({"GET", key}, key), "v1");
  EXPECT_EQ(client_->stats().redirects.load(), learnt);  // the map knows the new owner
}

// --- Failover: a master that dies or hangs never answers MOVED ---------------------------

// A key whose slot master `master` of `cluster` serves.
std::string key_on(const testing::RedisCluster& cluster, std::size_t master, std::string_view tag) {
  for (int i = 0; i < 1000; ++i) {
    std::string key = "{" + std::string(tag) + std::to_string(i) + "}k";
    if (cluster.master_of(key_slot(key), master) == master) return key;
  }
  throw std::runtime_error("key_on: no key found");
}

class RedisClientFailoverTest : public RedisClientTest {
 protected:
  // Three masters with a replica each, failing over quickly (node timeout 500 ms).
  void SetUp() override {
    cluster_ = std::make_unique<testing::RedisCluster>(3, 1, 500);
    for (std::size_t i = 0; i < cluster_->size(); ++i) {
      if (cluster_->is_master(i)) masters_.push_back(i);
    }
    ASSERT_EQ(masters_.size(), 3u);
    victim_ = masters_[1];  // not the first seed
    replica_ = *cluster_->replica_of(victim_);
    std::vector<std::string> seeds;
    for (std::size_t m : masters_) seeds.push_back(cluster_->node(m).url());
    make_client(seeds, 200ms);
  }

  // Issues GET `key` every 5 ms (traffic for the node that failed) until it answers
  // `expected`, noting when the cluster was first seen ok again with the replica promoted.
  // Returns how long after that the client answered (negative: before it was seen).
  std::chrono::steady_clock::duration follow(const std::string& key, const std::string& expected) {
    std::optional<std::chrono::steady_clock::time_point> ok_at;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!ok_at && cluster_->is_master(replica_) && cluster_->all_ok()) {
        ok_at = std::chrono::steady_clock::now();
      }
      const std::string answer = run({"GET", key}, key);
      if (answer == expected) {
        const auto now = std::chrono::steady_clock::now();
        if (!ok_at) {
          // Followed before the test saw the cluster ok: it must become so all the same.
          testing::RedisCluster::wait_for(
              [&] { return cluster_->is_master(replica_) && cluster_->all_ok(); }, "cluster ok");
          return -1ms;
        }
        return now - *ok_at;
      }
      // Until the promotion has spread, a node may answer CLUSTERDOWN: a transient reply
      // the stores treat as unavailable, passed on as it came.
      EXPECT_TRUE(answer == "error:unavailable" || answer == "error:timeout" ||
                  answer.starts_with("ERR:CLUSTERDOWN"))
          << answer;
      std::this_thread::sleep_for(5ms);  // request pacing: ~200 commands a second
    }
    ADD_FAILURE() << "the client never reached the promoted replica";
    return 30s;
  }

  bool eventually_healthy() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!client_->healthy()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);  // poll interval
    }
    return true;
  }

  std::unique_ptr<testing::RedisCluster> cluster_;
  std::vector<std::size_t> masters_;
  std::size_t victim_ = 0;
  std::size_t replica_ = 0;
};

TEST_F(RedisClientFailoverTest, FollowsThePromotedReplicaOfAKilledMaster) {
  const std::string key = key_on(*cluster_, victim_, "killed");
  ASSERT_EQ(run({"SET", key, "kept"}, key), "OK");
  const std::string other = key_on(*cluster_, masters_[0], "alive");
  ASSERT_EQ(run({"SET", other, "here"}, other), "OK");
  testing::RedisCluster::wait_for([&] { return cluster_->replicas_in_sync(); }, "replicas in sync");
  ASSERT_TRUE(client_->healthy());
  const long long refreshes_before = cluster_->cluster_slots_calls(victim_);

  cluster_->kill(victim_);
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"GET", other}, other), "here");  // the other masters are not disturbed
  const auto after_ok = follow(key, "kept");
  const auto followed_at = std::chrono::steady_clock::now();
  EXPECT_LT(after_ok, 1s);
  EXPECT_EQ(run({"SET", key, "new"}, key), "OK");
  EXPECT_EQ(cluster_->node(replica_).command({"GET", key}), "new");

  // ~200 failed commands a second for the dead node: refreshes at most one per 200 ms
  // (counted on every node that answers; the first seed's and the learnt masters').
  const long long refreshes = cluster_->cluster_slots_calls() - refreshes_before;
  EXPECT_LE(refreshes, (followed_at - killed_at) / 200ms + 2) << refreshes;
  EXPECT_GE(refreshes, 1);

  // The dead master (a seed, so still tried now and then) serves nothing: it no longer
  // counts against the client's health.
  EXPECT_TRUE(eventually_healthy());
}

TEST_F(RedisClientFailoverTest, FollowsThePromotedReplicaOfAMasterThatStoppedAnswering) {
  const std::string key = key_on(*cluster_, victim_, "paused");
  ASSERT_EQ(run({"SET", key, "kept"}, key), "OK");
  testing::RedisCluster::wait_for([&] { return cluster_->replicas_in_sync(); }, "replicas in sync");

  // SIGSTOP: connections stay open and nothing answers; only timeouts tell.
  cluster_->pause(victim_);
  const auto after_ok = follow(key, "kept");
  EXPECT_LT(after_ok, 1s);
  EXPECT_TRUE(eventually_healthy());
  cluster_->resume(victim_);  // it rejoins as a replica; the client stays with the new master
  EXPECT_EQ(run({"SET", key, "new"}, key), "OK");
  EXPECT_EQ(cluster_->node(replica_).command({"GET", key}), "new");
}

}  // namespace
}  // namespace gw::store::redis

// What only RedisSessionStore does, through the real client against a real redis-server
// (and a 3-node cluster): several gateways sharing slots, the session key and its TTL,
// reservation ids, a session id bound in two subjects, error replies, an unreachable
// Redis, Cluster slots. The SessionStore contract it shares with MemorySessionStore is
// redis_session_store_contract_test.cpp (store/testing/session_store_contract.h), run with
// the caller's time and with Redis's.
#include "store/redis/redis_session_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/redis/redis_keys.h"
#include "testing/loop_thread.h"
#include "testing/redis_cluster.h"
#include "testing/redis_server.h"

namespace gw::store {
namespace {

using redis::ClientOptions;
using redis::parse_redis_url;
using redis::RedisClient;
using redis::session_key;
using redis::session_records_key;
using redis::session_slots_key;

namespace net = boost::asio;
using namespace std::chrono_literals;
using core::UnixNanos;
using Time = RedisSessionStore::Time;

constexpr UnixNanos kT0 = 1'700'000'000s;
constexpr std::chrono::seconds kLease = 100s;
constexpr std::string_view kLive = "acct_1:live";
constexpr std::string_view kTest = "acct_1:test";

using Loop = testing::LoopThread;  // one event loop on its own thread, like a worker

// One gateway instance: its loop, its client, its store.
struct Gateway {
  Gateway(const std::vector<std::string>& urls, Time time) {
    ClientOptions options;
    for (const auto& url : urls) options.seeds.push_back(*parse_redis_url(url));
    options.timeout = 2s;  // generous: a slow CI machine must not turn into failures
    options.scripts = RedisSessionStore::scripts();
    client = std::make_unique<RedisClient>(std::move(options));
    store = std::make_unique<RedisSessionStore>(*client, time);
  }
  ~Gateway() {
    loop.stop();  // first: the client must not be torn down under a running loop
    store.reset();
    client.reset();
  }

  // Runs one store operation and waits for its completion.
  template <typename T, typename Start>
  SessionOutcome<T> wait(Start start) {
    std::promise<SessionOutcome<T>> answer;
    start(loop.executor(),
          [&](SessionOutcome<T> outcome) { answer.set_value(std::move(outcome)); });
    return answer.get_future().get();
  }

  SessionOutcome<SlotGrant> acquire(std::string_view subject, std::optional<std::int64_t> limit,
                                    UnixNanos now = kT0, std::chrono::seconds lease = kLease) {
    return wait<SlotGrant>([&](auto ex, auto done) {
      store->acquire(subject, "acct_1", limit, now, lease, ex, std::move(done));
    });
  }
  SessionOutcome<bool> bind(std::string_view subject, std::string_view reservation,
                            std::string_view session_id, UnixNanos now = kT0,
                            std::chrono::seconds lease = kLease) {
    return wait<bool>([&](auto ex, auto done) {
      store->bind(subject, reservation, session_id, now, lease, ex, std::move(done));
    });
  }
  SessionOutcome<bool> cancel(std::string_view subject, std::string_view reservation) {
    return wait<bool>(
        [&](auto ex, auto done) { store->cancel(subject, reservation, ex, std::move(done)); });
  }
  SessionOutcome<bool> release(std::string_view subject, std::string_view session_id) {
    return wait<bool>(
        [&](auto ex, auto done) { store->release(subject, session_id, ex, std::move(done)); });
  }
  SessionOutcome<std::optional<SessionRecord>> find(std::string_view session_id,
                                                    UnixNanos now = kT0) {
    return wait<std::optional<SessionRecord>>(
        [&](auto ex, auto done) { store->find(session_id, now, ex, std::move(done)); });
  }
  SessionOutcome<bool> renew(std::string_view session_id, UnixNanos now,
                             std::chrono::seconds lease = kLease) {
    return wait<bool>(
        [&](auto ex, auto done) { store->renew(session_id, now, lease, ex, std::move(done)); });
  }
  SessionOutcome<SessionStore::Listing> list(std::string_view subject, UnixNanos now = kT0) {
    return wait<SessionStore::Listing>(
        [&](auto ex, auto done) { store->list(subject, now, ex, std::move(done)); });
  }

  // Shorthands for outcomes that must have succeeded.
  SlotGrant granted(std::string_view subject, std::optional<std::int64_t> limit,
                    UnixNanos now = kT0, std::chrono::seconds lease = kLease) {
    auto grant = acquire(subject, limit, now, lease);
    EXPECT_TRUE(grant.has_value()) << (grant ? "" : grant.error().detail);
    return grant ? *grant : SlotGrant{};
  }
  std::int64_t active(std::string_view subject, UnixNanos now = kT0) {
    auto listing = list(subject, now);
    EXPECT_TRUE(listing.has_value()) << (listing ? "" : listing.error().detail);
    return listing ? listing->active : -1;
  }
  std::optional<SessionRecord> found(std::string_view session_id, UnixNanos now = kT0) {
    auto record = find(session_id, now);
    EXPECT_TRUE(record.has_value()) << (record ? "" : record.error().detail);
    return record ? *record : std::nullopt;
  }
  // Reserves and binds one session; the slot is held afterwards.
  void create_session(std::string_view subject, std::string_view session_id, UnixNanos now = kT0) {
    const SlotGrant grant = granted(subject, std::nullopt, now);
    ASSERT_TRUE(grant.acquired);
    auto bound = bind(subject, grant.reservation, session_id, now);
    ASSERT_TRUE(bound.has_value() && *bound) << (bound ? "false" : bound.error().detail);
  }

  Loop loop;
  std::unique_ptr<RedisClient> client;
  std::unique_ptr<RedisSessionStore> store;
};

bool ok_true(const SessionOutcome<bool>& outcome) { return outcome.has_value() && *outcome; }
bool ok_false(const SessionOutcome<bool>& outcome) { return outcome.has_value() && !*outcome; }

class RedisSessionStoreTest : public ::testing::Test {
 protected:
  testing::RedisServer server_;
  Gateway redis_time_{{server_.url()}, Time::redis};
};

// Reservations live in Redis, where another gateway's must not collide with this one's:
// 16 random hex digits, never a counter.
TEST_F(RedisSessionStoreTest, ReservationIdsAreSixteenRandomHexDigits) {
  Gateway& gw = redis_time_;
  const SlotGrant first = gw.granted(kLive, std::nullopt);
  const SlotGrant second = gw.granted(kLive, std::nullopt);
  ASSERT_TRUE(first.acquired && second.acquired);
  for (const std::string& id : {first.reservation, second.reservation}) {
    EXPECT_EQ(id.size(), 16u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_NE(first.reservation, second.reservation);
}

// Unlike the memory store (which keeps the first binding), a session id bound in two
// subjects (an upstream bug) holds a slot in each; find() answers the later binding, and
// releasing it in one subject never forgets the other's.
TEST_F(RedisSessionStoreTest, ASessionIdBoundInTwoSubjectsHoldsASlotInEach) {
  Gateway& gw = redis_time_;
  gw.create_session(kLive, "sess_1");
  gw.create_session("acct_2:live", "sess_1");
  EXPECT_EQ(gw.active(kLive), 1);
  EXPECT_EQ(gw.active("acct_2:live"), 1);
  auto record = gw.found("sess_1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->subject, "acct_2:live");

  ASSERT_TRUE(ok_true(gw.release(kLive, "sess_1")));
  EXPECT_EQ(gw.active(kLive), 0);
  record = gw.found("sess_1");
  ASSERT_TRUE(record);  // the other subject's binding and its key stay
  EXPECT_EQ(record->subject, "acct_2:live");
  EXPECT_TRUE(ok_true(gw.release("acct_2:live", "sess_1")));
  EXPECT_FALSE(gw.found("sess_1"));
}

TEST_F(RedisSessionStoreTest, TheSessionKeyLivesAsLongAsTheLease) {
  Gateway& gw = redis_time_;
  gw.create_session(kLive, "sess_1");
  const std::int64_t ttl = std::stoll(server_.command({"PTTL", session_key("sess_1")}));
  EXPECT_LE(ttl, 100'000);
  EXPECT_GT(ttl, 95'000);
  // Renewed with a longer lease, it follows.
  ASSERT_TRUE(ok_true(gw.renew("sess_1", kT0, 300s)));
  EXPECT_GT(std::stoll(server_.command({"PTTL", session_key("sess_1")})), 295'000);
  const auto record = gw.found("sess_1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->lease_expires - gw.list(kLive)->sessions.at(0).lease_expires, 0ns);
  // Released: the key and the subject's keys are gone.
  ASSERT_TRUE(ok_true(gw.release(kLive, "sess_1")));
  EXPECT_EQ(server_.command({"EXISTS", session_key("sess_1"), session_slots_key(kLive),
                             session_records_key(kLive)}),
            "0");
}

TEST_F(RedisSessionStoreTest, TwoGatewaysShareSlotsAndSessions) {
  Gateway& a = redis_time_;
  Gateway b({server_.url()}, Time::redis);
  const SlotGrant first = a.granted(kLive, 2);
  ASSERT_TRUE(first.acquired);
  const SlotGrant second = b.granted(kLive, 2);
  ASSERT_TRUE(second.acquired);
  EXPECT_EQ(second.active, 2);
  EXPECT_NE(first.reservation, second.reservation);
  EXPECT_FALSE(a.granted(kLive, 2).acquired);
  EXPECT_FALSE(b.granted(kLive, 2).acquired);

  // Created through B, streamed through A, ended through A.
  ASSERT_TRUE(ok_true(b.bind(kLive, second.reservation, "sess_1")));
  const auto record = a.found("sess_1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->account_id, "acct_1");
  EXPECT_TRUE(ok_true(a.renew("sess_1", kT0)));
  EXPECT_TRUE(ok_true(a.release(kLive, "sess_1")));
  EXPECT_FALSE(b.found("sess_1"));
  EXPECT_TRUE(ok_true(b.cancel(kLive, first.reservation)));  // A's reservation, B's cancel
  EXPECT_EQ(b.active(kLive), 0);
}

TEST_F(RedisSessionStoreTest, ConcurrentAcquiresFromTwoGatewaysAdmitExactlyTheLimit) {
  Gateway& a = redis_time_;
  Gateway b({server_.url()}, Time::redis);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  constexpr std::int64_t kLimit = 23;
  std::atomic<int> admitted{0};
  std::atomic<int> failures{0};
  std::atomic<int> pending{kThreads * kPerThread};
  std::promise<void> all_done;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Every call is issued without waiting for any answer, so they overlap for real.
    threads.emplace_back([&, t] {
      Gateway& gw = t % 2 ? b : a;
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        gw.store->acquire(kLive, "acct_1", kLimit, kT0, kLease, gw.loop.executor(),
                          [&](SessionOutcome<SlotGrant> grant) {
                            if (!grant) {
                              ++failures;
                            } else if (grant->acquired) {
                              ++admitted;
                            }
                            if (pending.fetch_sub(1) == 1) all_done.set_value();
                          });
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  all_done.get_future().get();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(admitted.load(), kLimit);
  EXPECT_EQ(a.active(kLive), kLimit);
}

TEST_F(RedisSessionStoreTest, ErrorRepliesAreProtocolErrors) {
  Gateway& gw = redis_time_;
  ASSERT_EQ(server_.command({"SET", session_slots_key(kLive), "not a sorted set"}), "OK");
  auto grant = gw.acquire(kLive, 1);
  ASSERT_FALSE(grant.has_value());
  EXPECT_EQ(grant.error().code, StoreErrc::protocol_error);
  EXPECT_NE(grant.error().detail.find("WRONGTYPE"), std::string::npos) << grant.error().detail;

  ASSERT_EQ(server_.command({"SET", session_key("sess_x"), "{\"subject\":1}"}), "OK");
  auto found = gw.find("sess_x");
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().code, StoreErrc::protocol_error);
  EXPECT_FALSE(gw.renew("sess_x", kT0).has_value());
}

TEST_F(RedisSessionStoreTest, AnUnreachableRedisIsATransientError) {
  Gateway& gw = redis_time_;
  ASSERT_TRUE(gw.granted(kLive, 1).acquired);  // connected
  server_.kill();
  auto grant = gw.acquire(kLive, 1);
  ASSERT_FALSE(grant.has_value());
  EXPECT_NE(grant.error().code, StoreErrc::protocol_error);
  EXPECT_TRUE(grant.error().transient);
  auto found = gw.find("sess_1");
  ASSERT_FALSE(found.has_value());
  EXPECT_TRUE(found.error().transient);
}

TEST(RedisSessionStoreCluster, EveryOperationStaysInOneSlotPerCall) {
  // Subject keys and session keys live on different nodes of a real cluster: a script
  // touching keys of two slots would fail with CROSSSLOT.
  testing::RedisCluster cluster;
  Gateway gw(cluster.urls(), Time::redis);
  Gateway other(cluster.urls(), Time::redis);
  for (int i = 0; i < 6; ++i) {
    const std::string subject = "acct_" + std::to_string(i) + ":live";
    const std::string session_id = "sess_" + std::to_string(i);
    const SlotGrant grant = gw.granted(subject, 1);
    ASSERT_TRUE(grant.acquired);
    EXPECT_FALSE(other.granted(subject, 1).acquired);
    ASSERT_TRUE(ok_true(gw.bind(subject, grant.reservation, session_id)));
    const auto record = other.found(session_id);
    ASSERT_TRUE(record) << session_id;
    EXPECT_EQ(record->subject, subject);
    EXPECT_TRUE(ok_true(other.renew(session_id, kT0)));
    EXPECT_EQ(other.list(subject)->sessions.size(), 1u);
    EXPECT_TRUE(ok_true(other.release(subject, session_id)));
    EXPECT_FALSE(gw.found(session_id));
    EXPECT_TRUE(ok_false(gw.cancel(subject, grant.reservation)));
  }
}

}  // namespace
}  // namespace gw::store

// RedisSessionStore through the real client against a real redis-server (and a 3-node
// cluster): the SessionStore contract as MemorySessionStore's tests state it, plus what
// only a shared store has (several gateways, Redis's clock, the session key).
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
#include "testing/redis_cluster.h"
#include "testing/loop_thread.h"
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
  Gateway caller_time_{{server_.url()}, Time::caller};
};

TEST_F(RedisSessionStoreTest, ReserveBindFindRelease) {
  Gateway& gw = redis_time_;
  const SlotGrant grant = gw.granted(kLive, 1);
  ASSERT_TRUE(grant.acquired);
  EXPECT_EQ(grant.active, 1);
  EXPECT_EQ(grant.limit, 1);
  EXPECT_EQ(grant.reservation.size(), 16u);

  // A reservation is held but not listed, and no stream can find it.
  auto listing = gw.list(kLive);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 1);
  EXPECT_TRUE(listing->sessions.empty());
  EXPECT_FALSE(gw.found("sess_1"));

  const SlotGrant refused = gw.granted(kLive, 1);
  EXPECT_FALSE(refused.acquired);
  EXPECT_TRUE(refused.reservation.empty());
  EXPECT_EQ(refused.active, 1);
  EXPECT_EQ(refused.limit, 1);

  ASSERT_TRUE(ok_true(gw.bind(kLive, grant.reservation, "sess_1")));
  const auto record = gw.found("sess_1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->session_id, "sess_1");
  EXPECT_EQ(record->subject, kLive);
  EXPECT_EQ(record->account_id, "acct_1");
  // Created when reserved; the lease runs from the bind, a moment later.
  EXPECT_GE(record->lease_expires - record->created, kLease);
  EXPECT_LT(record->lease_expires - record->created, kLease + 5s);
  // Redis's clock, not the `now` passed (kT0, years ago).
  EXPECT_GT(record->created, kT0 + 24h * 365);
  listing = gw.list(kLive);
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->sessions.size(), 1u);
  EXPECT_EQ(listing->sessions[0].created, record->created);
  EXPECT_EQ(listing->sessions[0].lease_expires, record->lease_expires);

  // The reservation is consumed by bind.
  EXPECT_TRUE(ok_false(gw.bind(kLive, grant.reservation, "sess_2")));
  EXPECT_TRUE(ok_false(gw.cancel(kLive, grant.reservation)));

  EXPECT_TRUE(ok_true(gw.release(kLive, "sess_1")));
  EXPECT_TRUE(ok_false(gw.release(kLive, "sess_1")));  // ending twice frees one
  EXPECT_FALSE(gw.found("sess_1"));
  EXPECT_EQ(gw.active(kLive), 0);
  EXPECT_TRUE(gw.granted(kLive, 1).acquired);
}

TEST_F(RedisSessionStoreTest, UnlimitedIsCountedAndZeroAdmitsNothing) {
  Gateway& gw = redis_time_;
  for (std::int64_t limit : {0, -1}) {
    const SlotGrant grant = gw.granted(kLive, limit);
    EXPECT_FALSE(grant.acquired);
    EXPECT_EQ(grant.active, 0);
  }
  for (std::int64_t i = 1; i <= 30; ++i) {
    const SlotGrant grant = gw.granted(kLive, std::nullopt);
    ASSERT_TRUE(grant.acquired);
    EXPECT_EQ(grant.active, i);
    EXPECT_FALSE(grant.limit.has_value());
  }
  EXPECT_FALSE(gw.granted(kLive, 30).acquired);
  EXPECT_EQ(gw.active(kTest), 0);  // the test environment counts apart
}

TEST_F(RedisSessionStoreTest, CancelGivesTheReservationBack) {
  Gateway& gw = redis_time_;
  const SlotGrant grant = gw.granted(kLive, 1);
  ASSERT_TRUE(grant.acquired);
  EXPECT_TRUE(ok_false(gw.cancel(kTest, grant.reservation)));  // another subject's
  EXPECT_TRUE(ok_true(gw.cancel(kLive, grant.reservation)));
  EXPECT_TRUE(ok_false(gw.cancel(kLive, grant.reservation)));  // idempotent
  EXPECT_TRUE(ok_false(gw.bind(kLive, grant.reservation, "sess_1")));
  EXPECT_EQ(server_.command({"EXISTS", session_slots_key(kLive)}), "0");
  EXPECT_TRUE(gw.granted(kLive, 1).acquired);
}

TEST_F(RedisSessionStoreTest, BindRefusesUnknownReservationsAndEmptyIds) {
  Gateway& gw = redis_time_;
  const SlotGrant grant = gw.granted(kLive, 5);
  for (std::string_view bad : {"", "rsv_1", "0123456789abcdef"}) {
    EXPECT_TRUE(ok_false(gw.bind(kLive, bad, "sess_1"))) << bad;
  }
  EXPECT_TRUE(ok_false(gw.bind(kTest, grant.reservation, "sess_1")));
  // An empty session id binds nothing and keeps the reservation for a cancel().
  EXPECT_TRUE(ok_false(gw.bind(kLive, grant.reservation, "")));
  EXPECT_EQ(gw.active(kLive), 1);
  EXPECT_FALSE(gw.found("sess_1"));
  EXPECT_TRUE(ok_true(gw.cancel(kLive, grant.reservation)));
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

TEST_F(RedisSessionStoreTest, ReleaseIsPerSubject) {
  Gateway& gw = redis_time_;
  gw.create_session(kLive, "sess_1");
  gw.create_session(kLive, "sess_2");
  EXPECT_TRUE(ok_false(gw.release(kTest, "sess_1")));  // another subject's: kept
  EXPECT_TRUE(ok_false(gw.release("acct_2:live", "sess_1")));
  EXPECT_TRUE(ok_false(gw.release(kLive, "sess_unknown")));
  EXPECT_EQ(gw.active(kLive), 2);
  const auto record = gw.found("sess_1");
  ASSERT_TRUE(record);  // its key too
  EXPECT_EQ(record->subject, kLive);

  EXPECT_TRUE(ok_true(gw.release(kLive, "sess_1")));
  EXPECT_EQ(gw.active(kLive), 1);
  EXPECT_FALSE(gw.found("sess_1"));
  EXPECT_TRUE(gw.found("sess_2"));
}

TEST_F(RedisSessionStoreTest, ABoundIdBoundAgainKeepsOneSlot) {
  Gateway& gw = caller_time_;
  gw.create_session(kLive, "sess_1", kT0);
  const SlotGrant again = gw.granted(kLive, 5, kT0 + 10s);
  ASSERT_TRUE(again.acquired);
  EXPECT_EQ(again.active, 2);
  EXPECT_TRUE(ok_true(gw.bind(kLive, again.reservation, "sess_1", kT0 + 10s)));
  EXPECT_EQ(gw.active(kLive, kT0 + 10s), 1);
  const auto record = gw.found("sess_1", kT0 + 10s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->created, kT0);                       // the slot that stayed
  EXPECT_EQ(record->lease_expires, kT0 + 10s + kLease);  // with a fresh lease
}

TEST_F(RedisSessionStoreTest, LeaseRunsOutExactlyAtItsEnd) {
  Gateway& gw = caller_time_;
  gw.create_session(kLive, "sess_1", kT0);
  const SlotGrant reserved = gw.granted(kLive, 2, kT0);
  ASSERT_TRUE(reserved.acquired);
  const UnixNanos end = kT0 + kLease;

  // One millisecond before the end (Redis keeps milliseconds) both slots are held.
  EXPECT_TRUE(gw.found("sess_1", end - 1ms));
  EXPECT_FALSE(gw.granted(kLive, 2, end - 1ms).acquired);
  EXPECT_EQ(gw.active(kLive, end - 1ms), 2);

  // At the end they are free.
  EXPECT_FALSE(gw.found("sess_1", end));
  EXPECT_TRUE(ok_false(gw.renew("sess_1", end)));
  const SlotGrant after = gw.granted(kLive, 2, end);
  EXPECT_TRUE(after.acquired);
  EXPECT_EQ(after.active, 1);  // both old slots freed, the new one held
  EXPECT_TRUE(ok_false(gw.bind(kLive, reserved.reservation, "sess_2", end)));
  EXPECT_TRUE(ok_false(gw.release(kLive, "sess_1")));
  EXPECT_EQ(gw.active(kLive, end), 1);
}

TEST_F(RedisSessionStoreTest, ReservationThatExpiredCannotBeBound) {
  Gateway& gw = caller_time_;
  const SlotGrant grant = gw.granted(kLive, 1, kT0, 10s);
  ASSERT_TRUE(grant.acquired);
  EXPECT_TRUE(ok_false(gw.bind(kLive, grant.reservation, "sess_1", kT0 + 10s)));
  EXPECT_FALSE(gw.found("sess_1", kT0 + 10s));
  EXPECT_EQ(server_.command({"EXISTS", session_key("sess_1")}), "0");
  EXPECT_EQ(gw.active(kLive, kT0 + 10s), 0);
}

TEST_F(RedisSessionStoreTest, RenewExtendsTheLease) {
  Gateway& gw = caller_time_;
  gw.create_session(kLive, "sess_1", kT0);
  EXPECT_TRUE(ok_true(gw.renew("sess_1", kT0 + 90s)));
  const auto record = gw.found("sess_1", kT0 + 90s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->lease_expires, kT0 + 190s);
  EXPECT_EQ(record->created, kT0);
  // Held past the original end, free at the new one.
  EXPECT_EQ(gw.active(kLive, kT0 + 189s), 1);
  EXPECT_FALSE(gw.granted(kLive, 1, kT0 + 189s).acquired);
  EXPECT_TRUE(gw.granted(kLive, 1, kT0 + 190s).acquired);
  EXPECT_TRUE(ok_false(gw.renew("sess_unknown", kT0)));

  gw.create_session(kLive, "sess_2", kT0 + 190s);
  ASSERT_TRUE(ok_true(gw.release(kLive, "sess_2")));
  EXPECT_TRUE(ok_false(gw.renew("sess_2", kT0 + 191s)));
}

TEST_F(RedisSessionStoreTest, ListShowsBoundSessionsOldestFirst) {
  Gateway& gw = caller_time_;
  gw.create_session(kLive, "sess_b", kT0 + 2s);
  gw.create_session(kLive, "sess_c", kT0 + 1s);
  gw.create_session(kLive, "sess_a", kT0 + 2s);
  gw.create_session(kTest, "sess_t", kT0);
  ASSERT_TRUE(gw.granted(kLive, std::nullopt, kT0 + 3s).acquired);  // reserved only

  auto listing = gw.list(kLive, kT0 + 3s);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 4);
  std::vector<std::string> ids;
  for (const auto& s : listing->sessions) {
    ids.push_back(s.session_id);
    EXPECT_EQ(s.subject, kLive);
    EXPECT_EQ(s.account_id, "acct_1");
    EXPECT_EQ(s.lease_expires, s.created + kLease);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"sess_c", "sess_a", "sess_b"}));
  EXPECT_EQ(gw.active("nobody:live"), 0);
  EXPECT_TRUE(gw.list("nobody:live")->sessions.empty());
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

TEST_F(RedisSessionStoreTest, CompletionsRunOnTheExecutorNeverInline) {
  // A loop this thread runs by hand: nothing can complete until it does.
  net::io_context io;
  {
    ClientOptions options;
    options.seeds.push_back(*parse_redis_url(server_.url()));
    options.timeout = 2s;
    options.scripts = RedisSessionStore::scripts();
    RedisClient client(std::move(options));
    RedisSessionStore store(client);
    int calls = 0;
    std::optional<SessionOutcome<SlotGrant>> grant;
    store.acquire(kLive, "acct_1", 1, kT0, kLease, io.get_executor(),
                  [&](SessionOutcome<SlotGrant> o) {
                    grant = std::move(o);
                    ++calls;
                  });
    // bind() without a session id answers without Redis, and still not inline.
    store.bind(kLive, "r", "", kT0, kLease, io.get_executor(), [&](SessionOutcome<bool> o) {
      EXPECT_TRUE(ok_false(o));
      ++calls;
    });
    store.find("sess_1", kT0, io.get_executor(),
               [&](SessionOutcome<std::optional<SessionRecord>> o) {
                 EXPECT_TRUE(o.has_value() && !o->has_value());
                 ++calls;
               });
    EXPECT_EQ(calls, 0);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (calls < 3 && std::chrono::steady_clock::now() < deadline) io.run_one_for(1s);
    EXPECT_EQ(calls, 3);
    ASSERT_TRUE(grant && grant->has_value());
    EXPECT_TRUE((*grant)->acquired);
  }
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

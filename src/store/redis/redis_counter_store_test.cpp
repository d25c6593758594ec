// What only RedisCounterStore does: the over-limit cache, Redis's error replies and the
// client's errors, several gateways sharing one Redis. The CounterStore contract it shares
// with the other backends is redis_counter_store_contract_test.cpp
// (store/testing/counter_store_contract.h).
#include "store/redis/redis_counter_store.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/fake_clock.h"
#include "store/redis/check_script.h"
#include "store/redis/redis_keys.h"
#include "testing/redis_server.h"

namespace gw::store {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using limiter::Algorithm;
using limiter::LimitSpec;

constexpr core::UnixNanos kNow = 1'700'000'010s;  // the gateway's clock; Redis's decides

// The longest window the script takes: a test run never straddles one of its boundaries
// (1 in ~10^6 runs might), and GCRA refills one unit per ~6 hours at these limits.
LimitSpec long_window(std::int64_t limit, Algorithm algorithm = Algorithm::fixed_window) {
  return LimitSpec{.limit = limit, .window = redis::kMaxScriptWindow, .algorithm = algorithm};
}

std::unique_ptr<redis::RedisClient> make_client(const testing::RedisServer& server) {
  redis::ClientOptions options;
  options.seeds.push_back(*redis::parse_redis_url(server.url()));
  options.timeout = 2s;  // generous: a loaded 2-core CI machine must not time out
  options.scripts = {&redis::check_script()};
  return std::make_unique<redis::RedisClient>(std::move(options));
}

// One gateway whose event loop runs on the test's own thread, so check_immediately() and
// the replies' callbacks share one thread's over-limit cache, as on a gateway worker.
class RedisCounterStoreTest : public ::testing::Test {
 protected:
  RedisCounterStoreTest() : client_(make_client(server_)) {
    options_.clock = &clock_;
    store_ = std::make_unique<RedisCounterStore>(*client_, options_);
  }
  ~RedisCounterStoreTest() override {
    io_.stop();
    store_.reset();
    client_->shutdown();
  }

  // Runs the loop until `done` has been called (or fails after a deadline).
  CheckOutcome wait(std::optional<CheckOutcome>& outcome) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!outcome && std::chrono::steady_clock::now() < deadline) {
      if (io_.run_one_for(100ms) == 0 && io_.stopped()) io_.restart();
    }
    if (!outcome) {
      ADD_FAILURE() << "no completion";
      return core::unexpected(StoreError{.detail = "no completion"});
    }
    return std::move(*outcome);
  }

  CheckOutcome check(const CheckRequest& request) {
    std::optional<CheckOutcome> outcome;
    store_->check(request, kNow, io_.get_executor(),
                  [&outcome](CheckOutcome o) { outcome = std::move(o); });
    EXPECT_FALSE(outcome) << "completed inline";
    return wait(outcome);
  }

  CheckOutcome peek(const CheckRequest& request) {
    std::optional<CheckOutcome> outcome;
    store_->peek(request, kNow, io_.get_executor(),
                 [&outcome](CheckOutcome o) { outcome = std::move(o); });
    EXPECT_FALSE(outcome) << "completed inline";
    return wait(outcome);
  }

  // What the proxy does: the immediate answer if there is one, else the round trip.
  CheckOutcome decide(const CheckRequest& request) {
    if (auto immediate = store_->check_immediately(request, kNow)) return std::move(*immediate);
    return check(request);
  }

  std::uint64_t commands() const { return client_->stats().commands.load(); }

  testing::RedisServer server_;
  net::io_context io_{1};  // outlives the client, whose connections it runs
  std::unique_ptr<redis::RedisClient> client_;
  RedisCounterStoreOptions options_;
  core::FakeClock clock_;
  std::unique_ptr<RedisCounterStore> store_;
};

TEST_F(RedisCounterStoreTest, RefusesFromTheCacheWithoutARoundTripUntilTheWaitIsOver) {
  const std::vector<LimitRef> limits{{"api", long_window(2, Algorithm::gcra)}};
  const CheckRequest request{"acct_1:live", limits, 1};
  EXPECT_FALSE(store_->check_immediately(request, kNow));  // nothing known yet
  ASSERT_TRUE(decide(request)->admitted);
  ASSERT_TRUE(decide(request)->admitted);
  EXPECT_FALSE(store_->check_immediately(request, kNow));  // admissions teach nothing

  const CheckOutcome refused = check(request);
  ASSERT_TRUE(refused);
  ASSERT_FALSE(refused->admitted);
  const auto wait = refused->decisions[0].retry_after;  // half the window: one unit's worth
  EXPECT_GT(wait, 1h);

  const std::uint64_t before = commands();
  clock_.advance(1h);
  const auto local = store_->check_immediately(request, kNow);
  ASSERT_TRUE(local);
  ASSERT_TRUE(*local);
  EXPECT_FALSE((*local)->admitted);
  EXPECT_FALSE((*local)->decisions[0].allowed);
  EXPECT_TRUE((*local)->decisions[0].over_limit);
  EXPECT_EQ((*local)->decisions[0].retry_after, wait - 1h);
  EXPECT_EQ((*local)->decisions[0].reset_unix_s, refused->decisions[0].reset_unix_s);
  EXPECT_EQ(commands(), before);  // no round trip

  // A peek always asks Redis.
  ASSERT_TRUE(peek(request));
  EXPECT_EQ(commands(), before + 1);

  // A plan upgrade is another spec: never refused from the cache; Redis admits it.
  const std::vector<LimitRef> upgraded{{"api", long_window(10, Algorithm::gcra)}};
  EXPECT_FALSE(store_->check_immediately({"acct_1:live", upgraded, 1}, kNow));
  EXPECT_TRUE(check({"acct_1:live", upgraded, 1})->admitted);

  // Once the wait Redis gave is over, the cache has nothing to say.
  clock_.advance(wait);
  EXPECT_FALSE(store_->check_immediately(request, kNow));
}

TEST_F(RedisCounterStoreTest, CacheIsPerStore) {
  const std::vector<LimitRef> limits{{"api", long_window(0)}};
  const CheckRequest request{"acct_1:live", limits, 1};
  ASSERT_FALSE(check(request)->admitted);
  EXPECT_TRUE(store_->check_immediately(request, kNow));

  // Another store on this thread (another Redis, another test) knows nothing of it.
  RedisCounterStore other(*client_, options_);
  EXPECT_FALSE(other.check_immediately(request, kNow));
  // And a store without a cache never answers from one.
  RedisCounterStore uncached(*client_, RedisCounterStoreOptions{.over_limit_cache_capacity = 0});
  EXPECT_FALSE(uncached.check_immediately(request, kNow));
}

TEST_F(RedisCounterStoreTest, AnswersWhatNeedsNoRedis) {
  const std::vector<LimitRef> none;
  const auto empty = store_->check_immediately({"acct_1:live", none, 1}, kNow);
  ASSERT_TRUE(empty && *empty);
  EXPECT_TRUE((*empty)->admitted);
  EXPECT_EQ((*empty)->count, 0u);

  const std::vector<LimitRef> five{{"a", long_window(1)},
                                   {"b", long_window(1)},
                                   {"c", long_window(1)},
                                   {"d", long_window(1)},
                                   {"e", long_window(1)}};
  const std::uint64_t before = commands();
  const CheckOutcome invalid = check({"acct_1:live", five, 1});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, StoreErrc::protocol_error);
  EXPECT_FALSE(invalid.error().transient);
  const auto immediate = store_->check_immediately({"acct_1:live", five, 1}, kNow);
  ASSERT_TRUE(immediate);
  EXPECT_FALSE(*immediate);
  EXPECT_EQ(commands(), before);
}

TEST_F(RedisCounterStoreTest, AnErrorReplyIsAProtocolError) {
  // Something else wrote a string where the counters hash belongs.
  ASSERT_EQ(server_.command({"SET", redis::counters_key("acct_1:live"), "x"}), "OK");
  const std::vector<LimitRef> limits{{"api", long_window(3)}};
  const CheckOutcome outcome = check({"acct_1:live", limits, 1});
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, StoreErrc::protocol_error);
  EXPECT_FALSE(outcome.error().transient);
  EXPECT_NE(outcome.error().detail.find("WRONGTYPE"), std::string::npos) << outcome.error().detail;
}

TEST_F(RedisCounterStoreTest, ClientErrorsPassThrough) {
  const std::vector<LimitRef> limits{{"api", long_window(3)}};
  ASSERT_TRUE(check({"acct_1:live", limits, 1}));
  server_.kill();
  const CheckOutcome outcome = check({"acct_1:live", limits, 1});
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().code == StoreErrc::unavailable ||
              outcome.error().code == StoreErrc::timeout)
      << outcome.error().detail;
  EXPECT_TRUE(outcome.error().transient);
}

// Two gateways (each its own loop, thread, client and store) share one Redis and fire
// their requests at once: exactly `limit` are admitted in all, for every algorithm.
class TwoGateways : public ::testing::TestWithParam<Algorithm> {};

TEST_P(TwoGateways, AdmitExactlyTheLimitBetweenThem) {
  constexpr std::int64_t kLimit = 50;
  constexpr int kRequestsEach = 120;
  testing::RedisServer server;
  const std::vector<LimitRef> limits{{"api", long_window(kLimit, GetParam())},
                                     {"shadow", LimitSpec{.limit = 10,
                                                          .window = redis::kMaxScriptWindow,
                                                          .algorithm = GetParam(),
                                                          .enforced = false}}};
  const CheckRequest request{"acct_1:live", limits, 1};

  struct Gateway {
    net::io_context io{1};
    std::unique_ptr<redis::RedisClient> client;
    std::unique_ptr<RedisCounterStore> store;
    int admitted = 0;
    int refused = 0;
    int errors = 0;
    int local = 0;  // refused from the over-limit cache
  };
  std::vector<std::unique_ptr<Gateway>> gateways;
  for (int i = 0; i < 2; ++i) {
    auto g = std::make_unique<Gateway>();
    g->client = make_client(server);
    g->store = std::make_unique<RedisCounterStore>(*g->client);
    gateways.push_back(std::move(g));
  }

  // Two waves: the first all in flight at once (pipelined); the second after its replies,
  // when each gateway's cache knows the limit is spent.
  std::latch start(2);
  std::vector<std::thread> threads;
  for (auto& gp : gateways) {
    threads.emplace_back([&request, &start, g = gp.get()] {
      const auto tally = [g](const CheckOutcome& outcome) {
        if (!outcome) {
          ++g->errors;
        } else {
          ++(outcome->admitted ? g->admitted : g->refused);
        }
      };
      for (int wave = 0; wave < 2; ++wave) {
        int pending = 0;
        if (wave == 0) start.arrive_and_wait();
        for (int i = 0; i < kRequestsEach / 2; ++i) {
          if (auto immediate = g->store->check_immediately(request, kNow)) {
            tally(*immediate);
            ++g->local;
            continue;
          }
          ++pending;
          g->store->check(request, kNow, g->io.get_executor(), [&, g](CheckOutcome outcome) {
            tally(outcome);
            if (--pending == 0) g->io.stop();
          });
        }
        if (pending > 0) g->io.run();
        g->io.restart();
      }
    });
  }
  for (auto& t : threads) t.join();

  int admitted = 0;
  int total = 0;
  for (auto& g : gateways) {
    EXPECT_EQ(g->errors, 0);
    admitted += g->admitted;
    total += g->admitted + g->refused;
  }
  EXPECT_EQ(total, 2 * kRequestsEach);
  EXPECT_EQ(admitted, kLimit);
  // The limit was spent in the first wave (120 > 50), so each gateway's second wave was
  // answered by its own cache from the first refusal it saw.
  for (auto& g : gateways) EXPECT_EQ(g->local, kRequestsEach / 2);

  // And Redis agrees: nothing left.
  const std::vector<LimitRef> api_only{limits[0]};
  Gateway& first = *gateways[0];
  std::optional<CheckOutcome> seen;
  first.store->peek({"acct_1:live", api_only, 1}, kNow, first.io.get_executor(),
                    [&](CheckOutcome o) {
                      seen = std::move(o);
                      first.io.stop();
                    });
  first.io.run();
  ASSERT_TRUE(seen && *seen);
  EXPECT_EQ((*seen)->decisions[0].remaining, 0);
  EXPECT_EQ((*seen)->decisions[0].used, kLimit);

  for (auto& g : gateways) {
    g->store.reset();
    g->client->shutdown();
  }
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, TwoGateways,
                         ::testing::Values(Algorithm::fixed_window, Algorithm::sliding_window,
                                           Algorithm::gcra),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return info.param == Algorithm::fixed_window     ? std::string("Fixed")
                                  : info.param == Algorithm::sliding_window ? std::string("Sliding")
                                                                            : std::string("Gcra");
                         });

}  // namespace
}  // namespace gw::store

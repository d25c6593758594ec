// What only MemoryCounterStore does: shards, sweeping expired counters, the check decided
// synchronously at the call. The CounterStore contract it shares with the other backends is
// memory_counter_store_contract_test.cpp (store/testing/counter_store_contract.h).
#include "store/memory/memory_counter_store.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using limiter::Algorithm;
using limiter::LimitSpec;

constexpr core::UnixNanos kMinute0 = 1'700'000'040s;  // a minute boundary

LimitSpec per_minute(std::int64_t limit, Algorithm algorithm = Algorithm::fixed_window) {
  return LimitSpec{.limit = limit, .window = 60s, .algorithm = algorithm};
}

// api + one group for subject "acct_1:live", as the gateway asks.
struct Request {
  std::string subject = "acct_1:live";
  std::vector<LimitRef> limits;
  std::int64_t cost = 1;

  CheckRequest view() const { return CheckRequest{subject, limits, cost}; }
};

Request api_and_group(std::int64_t api, std::int64_t group) {
  return Request{
      .limits = {LimitRef{"api", per_minute(api)}, LimitRef{"analysis", per_minute(group)}}};
}

TEST(MemoryCounterStore, ExactUnderConcurrencyAcrossSubjects) {
  constexpr int kThreads = 8;
  constexpr int kSubjects = 64;
  constexpr std::int64_t kLimit = 50;
  MemoryCounterStore store(8);
  std::atomic<std::int64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 100; ++round) {
        for (int s = 0; s < kSubjects; ++s) {
          Request r{.subject = "acct_" + std::to_string(s),
                    .limits = {LimitRef{"api", per_minute(kLimit)}}};
          if (store.check_now(r.view(), kMinute0).admitted) {
            admitted.fetch_add(1);
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(admitted.load(), kSubjects * kLimit);
}

TEST(MemoryCounterStore, SweepReclaimsExpiredSubjects) {
  MemoryCounterStore store;
  for (int i = 0; i < 5000; ++i) {
    Request r{.subject = "acct_" + std::to_string(i), .limits = {LimitRef{"api", per_minute(5)}}};
    store.check_now(r.view(), kMinute0 + 10s);
  }
  Request sliding{.subject = "sliding",
                  .limits = {LimitRef{"api", per_minute(5, Algorithm::sliding_window)}},
                  .cost = 5};
  store.check_now(sliding.view(), kMinute0 + 10s);
  sliding.cost = 1;
  ASSERT_EQ(store.size(), 5001u);

  EXPECT_EQ(store.sweep(kMinute0 + 60s - 1ns), 0u);
  EXPECT_EQ(store.size(), 5001u);
  // The fixed windows are over; the sliding one still weighs on the next minute.
  EXPECT_EQ(store.sweep(kMinute0 + 60s), 5000u);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.peek_now(sliding.view(), kMinute0 + 70s).decisions[0].used, 5);  // ceil(5*50/60)
  EXPECT_EQ(store.sweep(kMinute0 + 120s), 1u);
  EXPECT_EQ(store.size(), 0u);

  // And the store works as before once emptied.
  EXPECT_EQ(store.check_now(sliding.view(), kMinute0 + 121s).decisions[0].remaining, 4);
}

TEST(MemoryCounterStore, SweepDropsExpiredCountersOfALiveSubject) {
  MemoryCounterStore store;
  Request both = api_and_group(5, 5);
  both.limits[1].spec.window = 1s;  // the group counter expires first
  store.check_now(both.view(), kMinute0);
  EXPECT_EQ(store.sweep(kMinute0 + 2s), 0u);
  EXPECT_EQ(store.size(), 1u);
  const CheckResult res = store.peek_now(both.view(), kMinute0 + 2s);
  EXPECT_EQ(res.decisions[0].used, 1);
  EXPECT_EQ(res.decisions[1].used, 0);
}

TEST(MemoryCounterStore, RejectedChecksOfUnknownSubjectsDoNotPinMemory) {
  MemoryCounterStore store;
  Request zero{.limits = {LimitRef{"api", per_minute(0)}}};
  EXPECT_FALSE(store.check_now(zero.view(), kMinute0).admitted);
  EXPECT_EQ(store.sweep(kMinute0), 1u);  // held nothing worth keeping
  EXPECT_EQ(store.size(), 0u);
}

TEST(MemoryCounterStore, ShardCountIsRoundedUpToAPowerOfTwo) {
  for (std::size_t shards : {0u, 1u, 3u, 64u, 100u}) {
    MemoryCounterStore store(shards);
    for (int i = 0; i < 100; ++i) {
      Request r{.subject = std::to_string(i), .limits = {LimitRef{"api", per_minute(1)}}};
      ASSERT_TRUE(store.check_now(r.view(), kMinute0).admitted);
      ASSERT_FALSE(store.check_now(r.view(), kMinute0).admitted);
    }
    EXPECT_EQ(store.size(), 100u);
  }
}

// check() decides when it is called (its completion only carries the answer): two checks
// are decided in call order, before the loop has run either completion.
TEST(MemoryCounterStore, DecidesAtTheCallInCallOrder) {
  MemoryCounterStore store;
  boost::asio::io_context ioc;
  const Request r = api_and_group(1, 5);
  std::optional<CheckOutcome> first;
  std::optional<CheckOutcome> second;
  store.check(r.view(), kMinute0, ioc.get_executor(), [&](CheckOutcome o) { first = o; });
  store.check(r.view(), kMinute0, ioc.get_executor(), [&](CheckOutcome o) { second = o; });
  EXPECT_EQ(store.peek_now(r.view(), kMinute0).decisions[0].used, 1);  // already charged
  EXPECT_FALSE(first || second);
  EXPECT_EQ(ioc.run(), 2u);
  ASSERT_TRUE(first && *first && second && *second);
  EXPECT_TRUE((*first)->admitted);
  EXPECT_FALSE((*second)->admitted);
}

TEST(MemoryCounterStoreImmediate, AnswersSynchronouslyAndCharges) {
  MemoryCounterStore store;
  const std::array<LimitRef, 1> limits{LimitRef{"api", {.limit = 1}}};
  const CheckRequest request{"acct:live", limits, 1};
  const core::UnixNanos now{std::chrono::seconds(1'800'000'000)};
  auto first = store.check_immediately(request, now);
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_TRUE((*first)->admitted);
  auto second = store.check_immediately(request, now);
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_FALSE((*second)->admitted);
}

}  // namespace
}  // namespace gw::store

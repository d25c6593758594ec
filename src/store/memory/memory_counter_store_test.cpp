#include "store/memory/memory_counter_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "limiter/limit_bounds.h"

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using limiter::Algorithm;
using limiter::LimitSpec;

constexpr core::UnixNanos kMinute0 = 1'700'000'040s;  // a minute boundary
constexpr std::int64_t kMinute0S = 1'700'000'040;

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

TEST(MemoryCounterStore, ChecksEveryLimitOfTheSubjectAllOrNothing) {
  MemoryCounterStore store;
  const Request r = api_and_group(3, 2);

  for (std::int64_t i = 1; i <= 2; ++i) {
    const CheckResult res = store.check_now(r.view(), kMinute0 + 1s);
    ASSERT_TRUE(res.admitted);
    ASSERT_EQ(res.count, 2u);
    EXPECT_EQ(res.decisions[0].remaining, 3 - i);
    EXPECT_EQ(res.decisions[1].remaining, 2 - i);
    EXPECT_EQ(res.decisions[1].reset_unix_s, kMinute0S + 60);
  }
  const CheckResult denied = store.check_now(r.view(), kMinute0 + 1s);
  EXPECT_FALSE(denied.admitted);
  EXPECT_EQ(denied.decisions[1].retry_after, 59s);
  EXPECT_EQ(denied.decisions[0].remaining, 1);  // api had room but was not charged

  // The api counter alone still has exactly one unit.
  const Request api_only{.limits = {LimitRef{"api", per_minute(3)}}};
  EXPECT_TRUE(store.check_now(api_only.view(), kMinute0 + 2s).admitted);
  EXPECT_FALSE(store.check_now(api_only.view(), kMinute0 + 2s).admitted);

  // Next minute everything is fresh.
  EXPECT_TRUE(store.check_now(r.view(), kMinute0 + 60s).admitted);
}

TEST(MemoryCounterStore, PeekChargesNothingAndCreatesNothing) {
  MemoryCounterStore store;
  const Request r = api_and_group(3, 2);
  const CheckResult fresh = store.peek_now(r.view(), kMinute0);
  EXPECT_TRUE(fresh.admitted);
  EXPECT_EQ(fresh.decisions[0].remaining, 3);  // as it is, not "after this request"
  EXPECT_EQ(store.size(), 0u);

  store.check_now(r.view(), kMinute0);
  const CheckResult after = store.peek_now(r.view(), kMinute0 + 1s);
  EXPECT_EQ(after.decisions[0].remaining, 2);
  EXPECT_EQ(after.decisions[0].used, 1);
  EXPECT_EQ(after.decisions[1].remaining, 1);
  EXPECT_EQ(store.peek_now(r.view(), kMinute0 + 1s).decisions[0].remaining, 2);
}

TEST(MemoryCounterStore, ShadowLimitIsReportedButDoesNotBlock) {
  MemoryCounterStore store;
  Request r = api_and_group(10, 1);
  r.limits[1].spec.enforced = false;
  EXPECT_TRUE(store.check_now(r.view(), kMinute0).admitted);
  const CheckResult res = store.check_now(r.view(), kMinute0);
  EXPECT_TRUE(res.admitted);
  EXPECT_TRUE(res.decisions[1].over_limit);
  EXPECT_EQ(res.decisions[0].remaining, 8);
}

TEST(MemoryCounterStore, CostAboveOne) {
  MemoryCounterStore store;
  Request r = api_and_group(10, 10);
  r.cost = 4;
  EXPECT_TRUE(store.check_now(r.view(), kMinute0).admitted);
  EXPECT_TRUE(store.check_now(r.view(), kMinute0).admitted);
  const CheckResult res = store.check_now(r.view(), kMinute0);
  EXPECT_FALSE(res.admitted);
  EXPECT_EQ(res.decisions[0].remaining, 2);
}

TEST(MemoryCounterStore, PlanUpgradeKeepsSpentUnits) {
  MemoryCounterStore store;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store.check_now(api_and_group(5, 100).view(), kMinute0).admitted);
  }
  EXPECT_FALSE(store.check_now(api_and_group(5, 100).view(), kMinute0).admitted);
  const CheckResult upgraded = store.check_now(api_and_group(8, 100).view(), kMinute0 + 1s);
  EXPECT_TRUE(upgraded.admitted);
  EXPECT_EQ(upgraded.decisions[0].remaining, 2);  // 8 - 5 - 1
  EXPECT_EQ(upgraded.decisions[0].used, 6);
}

TEST(MemoryCounterStore, PlanChangeKeepsGcraDebt) {
  MemoryCounterStore store;
  Request r{.limits = {LimitRef{"api", per_minute(60, Algorithm::gcra)}}, .cost = 30};
  ASSERT_TRUE(store.check_now(r.view(), kMinute0).admitted);
  r.limits[0].spec.limit = 120;
  r.cost = 1;
  const CheckResult res = store.check_now(r.view(), kMinute0);
  EXPECT_EQ(res.decisions[0].used, 31);
  EXPECT_EQ(res.decisions[0].remaining, 89);
}

TEST(MemoryCounterStore, AnotherWindowOrAlgorithmStartsAfresh) {
  MemoryCounterStore store;
  Request r{.limits = {LimitRef{"api", per_minute(5)}}};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store.check_now(r.view(), kMinute0).admitted);
  }
  r.limits[0].spec.window = 1s;
  EXPECT_EQ(store.check_now(r.view(), kMinute0).decisions[0].remaining, 4);
  r.limits[0].spec.algorithm = Algorithm::sliding_window;
  EXPECT_EQ(store.check_now(r.view(), kMinute0).decisions[0].remaining, 4);
}

TEST(MemoryCounterStore, SubjectsAreIndependent) {
  MemoryCounterStore store;
  for (int i = 0; i < 1000; ++i) {
    Request r{.subject = "acct_" + std::to_string(i) + ":live",
              .limits = {LimitRef{"api", per_minute(1)}}};
    ASSERT_TRUE(store.check_now(r.view(), kMinute0).admitted) << i;
  }
  for (int i = 0; i < 1000; ++i) {
    Request r{.subject = "acct_" + std::to_string(i) + ":live",
              .limits = {LimitRef{"api", per_minute(1)}}};
    ASSERT_FALSE(store.check_now(r.view(), kMinute0).admitted) << i;
  }
  EXPECT_EQ(store.size(), 1000u);
  // Same counter name, different subject: "acct_1:test" counts apart from "acct_1:live".
  Request test_key{.subject = "acct_1:test", .limits = {LimitRef{"api", per_minute(1)}}};
  EXPECT_TRUE(store.check_now(test_key.view(), kMinute0).admitted);
}

TEST(MemoryCounterStore, ManyCountersInOneSubject) {
  MemoryCounterStore store;
  // More names than fit inline, over several requests, none disturbing the others.
  const char* names[] = {"api",        "sessions_write", "sessions_read",
                         "recordings", "analysis",       "webhooks_with_a_long_name_beyond_sso"};
  for (int round = 1; round <= 3; ++round) {
    for (const char* name : names) {
      Request r{.limits = {LimitRef{"api", per_minute(100)}, LimitRef{name, per_minute(3)}}};
      if (std::string_view(name) == "api") {
        r.limits.pop_back();
      }
      const CheckResult res = store.check_now(r.view(), kMinute0);
      ASSERT_TRUE(res.admitted);
      if (res.count == 2) {
        EXPECT_EQ(res.decisions[1].used, round) << name;
      }
    }
  }
  EXPECT_EQ(store.peek_now(Request{.limits = {LimitRef{"api", per_minute(100)}}}.view(), kMinute0)
                .decisions[0]
                .used,
            18);
}

TEST(MemoryCounterStore, ExactUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr std::int64_t kApiLimit = 20'000;
  constexpr std::int64_t kGroupLimit = 7'000;
  constexpr int kAttemptsPerThread = 5'000;  // 40'000 attempts for 20'000 units
  MemoryCounterStore store(4);
  // Even threads also hit the group limit; odd threads only the plan-wide one.
  std::atomic<std::int64_t> api_admitted{0};
  std::atomic<std::int64_t> group_admitted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Request r{.limits = {LimitRef{"api", per_minute(kApiLimit)}}};
      if (t % 2 == 0) {
        r.limits.push_back(LimitRef{"analysis", per_minute(kGroupLimit)});
      }
      while (!go.load()) {
      }
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        if (store.check_now(r.view(), kMinute0 + 1s).admitted) {
          api_admitted.fetch_add(1);
          if (t % 2 == 0) {
            group_admitted.fetch_add(1);
          }
        }
      }
    });
  }
  go.store(true);
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(api_admitted.load(), kApiLimit);
  EXPECT_LE(group_admitted.load(), kGroupLimit);
  const CheckResult state =
      store.peek_now(api_and_group(kApiLimit, kGroupLimit).view(), kMinute0 + 1s);
  EXPECT_EQ(state.decisions[0].used, api_admitted.load());
  EXPECT_EQ(state.decisions[1].used, group_admitted.load());
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

TEST(MemoryCounterStore, EmptyCheckIsAdmitted) {
  MemoryCounterStore store;
  Request none;
  const CheckResult res = store.check_now(none.view(), kMinute0);
  EXPECT_TRUE(res.admitted);
  EXPECT_EQ(res.count, 0u);
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

TEST(MemoryCounterStore, AsyncCheckCompletesOnTheExecutorNeverInline) {
  MemoryCounterStore store;
  boost::asio::io_context ioc;
  const Request r = api_and_group(1, 5);
  std::optional<CheckOutcome> first;
  std::optional<CheckOutcome> second;
  bool ran_in_ioc = false;

  store.check(r.view(), kMinute0, ioc.get_executor(), [&](CheckOutcome o) {
    ran_in_ioc = ioc.get_executor().running_in_this_thread();
    first = std::move(o);
  });
  store.check(r.view(), kMinute0, ioc.get_executor(),
              [&](CheckOutcome o) { second = std::move(o); });
  EXPECT_FALSE(first.has_value());  // not inline
  EXPECT_FALSE(second.has_value());

  EXPECT_EQ(ioc.run(), 2u);
  ASSERT_TRUE(first.has_value() && first->has_value());
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_TRUE(ran_in_ioc);
  EXPECT_TRUE((*first)->admitted);
  EXPECT_FALSE((*second)->admitted);  // the work was done at call time, in call order
}

TEST(MemoryCounterStore, AsyncPeek) {
  MemoryCounterStore store;
  boost::asio::io_context ioc;
  const Request r = api_and_group(3, 5);
  store.check_now(r.view(), kMinute0);
  std::optional<CheckOutcome> out;
  store.peek(r.view(), kMinute0, ioc.get_executor(), [&](CheckOutcome o) { out = std::move(o); });
  EXPECT_FALSE(out.has_value());
  ioc.run();
  ASSERT_TRUE(out.has_value() && out->has_value());
  EXPECT_EQ((*out)->decisions[0].remaining, 2);
}

TEST(MemoryCounterStore, AsyncTooManyLimitsIsAProtocolError) {
  MemoryCounterStore store;
  boost::asio::io_context ioc;
  Request r;
  for (std::size_t i = 0; i <= kMaxLimitsPerCheck; ++i) {
    r.limits.push_back(LimitRef{"api", per_minute(5)});
  }
  std::optional<CheckOutcome> out;
  store.check(r.view(), kMinute0, ioc.get_executor(), [&](CheckOutcome o) { out = std::move(o); });
  ioc.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(out->has_value());
  EXPECT_EQ(out->error().code, StoreErrc::protocol_error);
  EXPECT_FALSE(out->error().transient);
  EXPECT_EQ(store.size(), 0u);
}

// ---- The largest limit and cost the gateway accepts (limiter::kMaxLimit) ---------------

class MemoryCounterStoreAtTheBounds : public ::testing::TestWithParam<Algorithm> {};

// A limit of 1e9 per minute and per second (the WebSocket rates' unit), through
// check_immediately() (the request path, bounds check included): charged 1, refused the
// largest cost, charged the rest, refused one more. Exact, and never a store error.
TEST_P(MemoryCounterStoreAtTheBounds, TheLargestLimitAndCostAreCountedExactly) {
  constexpr std::int64_t kMax = limiter::kMaxLimit;
  MemoryCounterStore store;
  for (const auto window : {60s, 1s}) {
    const std::vector<LimitRef> limits{
        {"api", LimitSpec{.limit = kMax, .window = window, .algorithm = GetParam()}}};
    const std::string subject = "acct_max:" + std::to_string(window.count());
    const core::UnixNanos now = kMinute0 + 20s;
    const auto step = [&](const std::string& s, std::int64_t cost) {
      auto outcome = store.check_immediately(CheckRequest{s, limits, cost}, now);
      EXPECT_TRUE(outcome && *outcome) << (outcome && !*outcome ? outcome->error().detail : "");
      return outcome && *outcome ? **outcome : CheckResult{};
    };
    CheckResult r = step(subject, 1);
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.decisions[0].limit, kMax);
    EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
    EXPECT_EQ(r.decisions[0].used, 1);
    r = step(subject, limiter::kMaxCost);
    EXPECT_FALSE(r.admitted);
    EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
    EXPECT_GT(r.decisions[0].retry_after, 0ns);
    r = step(subject, kMax - 1);
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.decisions[0].remaining, 0);
    EXPECT_EQ(r.decisions[0].used, kMax);
    r = step(subject, 1);
    EXPECT_FALSE(r.admitted);
    EXPECT_GT(r.decisions[0].retry_after, 0ns);
    EXPECT_LE(r.decisions[0].retry_after, 2 * window);  // sliding: a bit past one window

    r = step(subject + ":whole", limiter::kMaxCost);  // the largest cost at once
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.decisions[0].remaining, 0);
    EXPECT_EQ(r.decisions[0].used, kMax);
  }
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, MemoryCounterStoreAtTheBounds,
                         ::testing::Values(Algorithm::fixed_window, Algorithm::sliding_window,
                                           Algorithm::gcra));

// Beyond the bounds, the same refusal as the Redis store's (store/check_bounds.h): a
// non-transient protocol error from every entry point, and nothing counted.
TEST(MemoryCounterStore, RefusesLimitsAndCostsBeyondTheBounds) {
  MemoryCounterStore store;
  boost::asio::io_context ioc;
  const std::vector<LimitRef> too_big{{"api", per_minute(limiter::kMaxLimit + 1)}};
  const std::vector<LimitRef> negative{{"api", per_minute(-1)}};
  const std::vector<LimitRef> largest{{"api", per_minute(limiter::kMaxLimit)}};
  for (const CheckRequest& request :
       {CheckRequest{"a:live", too_big, 1}, CheckRequest{"a:live", negative, 1},
        CheckRequest{"a:live", largest, limiter::kMaxCost + 1},
        CheckRequest{"a:live", largest, -1}}) {
    auto immediate = store.check_immediately(request, kMinute0);
    ASSERT_TRUE(immediate && !*immediate);
    EXPECT_EQ(immediate->error().code, StoreErrc::protocol_error);
    EXPECT_FALSE(immediate->error().transient);
    std::optional<CheckOutcome> checked;
    std::optional<CheckOutcome> peeked;
    store.check(request, kMinute0, ioc.get_executor(), [&](CheckOutcome o) { checked = o; });
    store.peek(request, kMinute0, ioc.get_executor(), [&](CheckOutcome o) { peeked = o; });
    ioc.run();
    ioc.restart();
    ASSERT_TRUE(checked && !*checked && peeked && !*peeked);
    EXPECT_EQ(checked->error().code, StoreErrc::protocol_error);
  }
  EXPECT_EQ(store.size(), 0u);
}

}  // namespace
}  // namespace gw::store

namespace gw::store {
namespace {

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

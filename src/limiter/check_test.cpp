#include "limiter/check.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

namespace gw::limiter {
namespace {

using namespace std::chrono_literals;

constexpr UnixNanos kMinute0 = 1'700'000'040s;
constexpr std::int64_t kMinute0S = 1'700'000'040;

// The usual pair: the plan-wide limit and one group limit.
struct TwoLimits {
  std::array<LimitSpec, 2> specs;
  std::array<CounterState, 2> states{};
  std::array<Decision, 2> out{};

  bool check(UnixNanos now, std::int64_t cost = 1) {
    std::array<CounterState*, 2> ptrs{&states[0], &states[1]};
    return check_all(specs, ptrs, now, cost, out);
  }
};

TEST(CheckAll, AdmitsAndChargesEveryLimitWhenAllHaveRoom) {
  TwoLimits t{.specs = {LimitSpec{.limit = 5}, LimitSpec{.limit = 2}}};
  EXPECT_TRUE(t.check(kMinute0 + 1s));
  EXPECT_EQ(t.out[0].remaining, 4);
  EXPECT_EQ(t.out[1].remaining, 1);
  EXPECT_EQ(t.states[0].count, 1);
  EXPECT_EQ(t.states[1].count, 1);
}

TEST(CheckAll, OneFullLimitMeansNoLimitIsCharged) {
  TwoLimits t{.specs = {LimitSpec{.limit = 5}, LimitSpec{.limit = 2}}};
  ASSERT_TRUE(t.check(kMinute0));
  ASSERT_TRUE(t.check(kMinute0));

  EXPECT_FALSE(t.check(kMinute0 + 20s));
  EXPECT_EQ(t.states[0].count, 2);  // the plan-wide limit had room but was not charged
  EXPECT_EQ(t.states[1].count, 2);
  // The limit with room reports itself as it is (not charged).
  EXPECT_TRUE(t.out[0].allowed);
  EXPECT_FALSE(t.out[0].over_limit);
  EXPECT_EQ(t.out[0].remaining, 3);
  EXPECT_EQ(t.out[0].used, 2);
  EXPECT_EQ(t.out[0].retry_after, 0ns);
  EXPECT_FALSE(t.out[1].allowed);
  EXPECT_TRUE(t.out[1].over_limit);
  EXPECT_EQ(t.out[1].remaining, 0);
  EXPECT_EQ(t.out[1].retry_after, 40s);
  EXPECT_EQ(most_constraining(t.out, false), 1u);
}

TEST(CheckAll, ShadowLimitReportsButNeitherBlocksNorIsChargedWhenOver) {
  TwoLimits t{.specs = {LimitSpec{.limit = 5}, LimitSpec{.limit = 1, .enforced = false}}};
  ASSERT_TRUE(t.check(kMinute0));
  EXPECT_EQ(t.states[1].count, 1);  // a shadow limit with room is charged like any other

  EXPECT_TRUE(t.check(kMinute0 + 30s));
  EXPECT_EQ(t.states[0].count, 2);
  EXPECT_EQ(t.states[1].count, 1);  // over: not charged
  EXPECT_TRUE(t.out[1].allowed);
  EXPECT_TRUE(t.out[1].over_limit);
  EXPECT_EQ(t.out[1].remaining, 0);
  EXPECT_EQ(t.out[1].retry_after, 30s);  // what the client would have been told
  EXPECT_EQ(t.out[0].remaining, 3);
}

TEST(CheckAll, RejectionByAnEnforcedLimitDoesNotChargeAShadowLimit) {
  TwoLimits t{.specs = {LimitSpec{.limit = 1}, LimitSpec{.limit = 5, .enforced = false}}};
  ASSERT_TRUE(t.check(kMinute0));
  EXPECT_FALSE(t.check(kMinute0));
  EXPECT_EQ(t.states[1].count, 1);
  EXPECT_EQ(t.out[1].remaining, 4);
}

TEST(CheckAll, MixedAlgorithmsInOneCheck) {
  TwoLimits t{.specs = {LimitSpec{.limit = 100, .algorithm = Algorithm::sliding_window},
                        LimitSpec{.limit = 2, .window = 2s, .algorithm = Algorithm::gcra}}};
  EXPECT_TRUE(t.check(kMinute0));
  EXPECT_TRUE(t.check(kMinute0));
  EXPECT_FALSE(t.check(kMinute0));
  EXPECT_EQ(t.out[1].retry_after, 1s);
  EXPECT_EQ(t.states[0].count, 2);
  EXPECT_TRUE(t.check(kMinute0 + 1s));
  EXPECT_EQ(t.states[0].count, 3);
}

TEST(PeekAll, ReportsTheCurrentStateWithoutCharging) {
  const std::array<LimitSpec, 2> specs{LimitSpec{.limit = 5}, LimitSpec{.limit = 2}};
  std::array<CounterState, 2> states{CounterState{kMinute0.count(), 1, 0},
                                     CounterState{kMinute0.count(), 2, 0}};
  std::array<Decision, 2> out{};
  EXPECT_FALSE(peek_all(specs, states, kMinute0 + 1s, 1, out));
  EXPECT_EQ(out[0].remaining, 4);
  EXPECT_EQ(out[0].used, 1);
  EXPECT_EQ(out[1].remaining, 0);
  EXPECT_EQ(out[1].retry_after, 59s);
  EXPECT_EQ(states[0].count, 1);

  states[1].count = 0;
  EXPECT_TRUE(peek_all(specs, states, kMinute0 + 1s, 1, out));
  EXPECT_EQ(out[1].remaining, 2);  // not "after this request": nothing is charged
}

Decision decision(std::int64_t remaining, std::int64_t reset, bool allowed = true,
                  bool over = false, UnixNanos retry = 0ns) {
  Decision d;
  d.allowed = allowed;
  d.over_limit = over;
  d.remaining = remaining;
  d.reset_unix_s = reset;
  d.retry_after = retry;
  return d;
}

TEST(MostConstraining, LowestRemainingThenLaterReset) {
  const std::array<Decision, 3> a{decision(10, 100), decision(3, 100), decision(7, 200)};
  EXPECT_EQ(most_constraining(a, true), 1u);
  const std::array<Decision, 3> tie{decision(3, 100), decision(3, 160), decision(3, 130)};
  EXPECT_EQ(most_constraining(tie, true), 1u);
  const std::array<Decision, 2> full_tie{decision(3, 100), decision(3, 100)};
  EXPECT_EQ(most_constraining(full_tie, true), 0u);
}

TEST(MostConstraining, RejectedPicksTheEnforcedLimitThatBlocksLongest) {
  const std::array<Decision, 4> d{
      decision(0, 100, false, true, 5s),
      decision(0, 100, true, true, 50s),  // shadow: never the reason for a 429
      decision(0, 100, false, true, 12s),
      decision(4, 100),
  };
  EXPECT_EQ(most_constraining(d, false), 2u);
  EXPECT_EQ(most_constraining(d, true), 0u);  // admitted: the header rule (first lowest)
}

// Property: for every algorithm, a denied request is admitted at exactly now + retry_after
// and not one nanosecond earlier; an admitted one leaves remaining = before - cost.
TEST(Property, RetryAfterIsExactForEveryAlgorithm) {
  std::mt19937_64 rng(12345);
  const Algorithm algorithms[] = {Algorithm::fixed_window, Algorithm::sliding_window,
                                  Algorithm::gcra};
  const UnixNanos windows[] = {60s, 1s, 7s, 1500ms, 999'999'937ns};
  int denials = 0;
  for (Algorithm algorithm : algorithms) {
    for (UnixNanos window : windows) {
      for (std::int64_t limit : {1LL, 3LL, 7LL, 10LL, 1000LL, 1'000'000'000'000LL}) {
        const LimitSpec spec{.limit = limit, .window = window, .algorithm = algorithm};
        CounterState state;
        UnixNanos now = kMinute0 + UnixNanos(static_cast<std::int64_t>(rng() % 1'000'000'000));
        for (int step = 0; step < 300; ++step) {
          now += UnixNanos(static_cast<std::int64_t>(rng() % (window.count() / 4 + 1)));
          const std::int64_t cost = 1 + static_cast<std::int64_t>(rng() % (limit > 3 ? 3 : limit));
          const Decision before = evaluate(spec, state, now, 0);
          const Decision d = evaluate(spec, state, now, cost);
          if (d.allowed) {
            EXPECT_EQ(d.remaining, before.remaining - cost);
            EXPECT_EQ(d.used, before.used + cost);
            consume(spec, state, now, cost);
            const Decision after = evaluate(spec, state, now, 0);
            EXPECT_EQ(after.remaining, d.remaining);
            EXPECT_EQ(after.used, d.used);
            EXPECT_EQ(after.reset_unix_s, d.reset_unix_s);
            continue;
          }
          ++denials;
          ASSERT_GT(d.retry_after, 0ns);
          EXPECT_EQ(d.remaining, before.remaining);
          const UnixNanos at = now + d.retry_after;
          EXPECT_FALSE(evaluate(spec, state, at - 1ns, cost).allowed)
              << static_cast<int>(algorithm) << " window " << window.count() << " limit " << limit;
          EXPECT_TRUE(evaluate(spec, state, at, cost).allowed)
              << static_cast<int>(algorithm) << " window " << window.count() << " limit " << limit;
          // Move to the admission instant half of the time, to exercise those boundaries.
          if (rng() % 2 == 0) {
            now = at;
          }
        }
      }
    }
  }
  EXPECT_GT(denials, 1000);
}

TEST(Property, AFixedWindowNeverAdmitsMoreThanItsLimitPerWindow) {
  std::mt19937_64 rng(7);
  const LimitSpec spec{.limit = 50, .window = 10s};
  CounterState state;
  std::vector<std::int64_t> admitted_per_window(100, 0);
  UnixNanos now = kMinute0;
  while (now < kMinute0 + 1000s) {
    if (evaluate(spec, state, now, 1).allowed) {
      consume(spec, state, now, 1);
      ++admitted_per_window[static_cast<std::size_t>((now - kMinute0) / 10s)];
    }
    now += UnixNanos(static_cast<std::int64_t>(rng() % 200'000'000));
  }
  for (std::int64_t n : admitted_per_window) {
    EXPECT_EQ(n, 50);
  }
  EXPECT_EQ(kMinute0S % 10, 0);
}

}  // namespace
}  // namespace gw::limiter

#include <gtest/gtest.h>

#include "limiter/check.h"

namespace gw::limiter {
namespace {

using namespace std::chrono_literals;

constexpr UnixNanos kMinute0 = 1'700'000'040s;  // a minute boundary
constexpr UnixNanos kMinute1 = kMinute0 + 60s;
constexpr std::int64_t kMinute0S = 1'700'000'040;

LimitSpec sliding(std::int64_t limit) {
  return LimitSpec{.limit = limit, .window = 60s, .algorithm = Algorithm::sliding_window};
}

Decision take(const LimitSpec& spec, CounterState& state, UnixNanos now, std::int64_t cost = 1) {
  CounterState* states[] = {&state};
  Decision out[1];
  check_all({&spec, 1}, states, now, cost, out);
  return out[0];
}

// A counter that spent `previous` units in minute 0 and `current` in minute 1.
CounterState spent(std::int64_t previous, std::int64_t current) {
  return CounterState{.window_start = kMinute1.count(), .count = current, .previous = previous};
}

TEST(SlidingWindow, WeighsThePreviousWindowByItsOverlap) {
  const LimitSpec spec = sliding(100);
  // 60 previous, 15 s into minute 1: estimate = 60 * 45/60 = 45.
  CounterState state = spent(60, 0);
  const Decision d = take(spec, state, kMinute1 + 15s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 54);  // floor(100 - 46)
  EXPECT_EQ(d.used, 46);       // ceil(46)
  EXPECT_EQ(d.reset_unix_s, kMinute0S + 120);
}

TEST(SlidingWindow, FractionalEstimateFloorsRemainingAndCeilsUsed) {
  const LimitSpec spec = sliding(100);
  // 50 previous, 20 s in: estimate = 50 * 40/60 = 33.33...
  CounterState state = spent(50, 0);
  const Decision peeked = evaluate(spec, state, kMinute1 + 20s, 0);
  EXPECT_EQ(peeked.remaining, 66);  // floor(66.67)
  EXPECT_EQ(peeked.used, 34);       // ceil(33.33)

  const Decision d = take(spec, state, kMinute1 + 20s);
  EXPECT_EQ(d.remaining, 65);  // floor(100 - 34.33)
  EXPECT_EQ(d.used, 35);       // ceil(34.33)
  EXPECT_EQ(state.count, 1);
  EXPECT_EQ(state.previous, 50);
}

TEST(SlidingWindow, AdmitsExactlyWhenTheWeightedEstimateMakesRoom) {
  const LimitSpec spec = sliding(60);
  // Full previous minute: estimate = 60 - elapsed seconds; one unit fits after 1 s.
  CounterState state = spent(60, 0);
  EXPECT_EQ(take(spec, state, kMinute1).retry_after, 1s);
  const Decision early = take(spec, state, kMinute1 + 1s - 1ns);
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.retry_after, 1ns);
  EXPECT_TRUE(take(spec, state, kMinute1 + 1s).allowed);
  // Now estimate = 59 + 1 = 60 until the weight falls by another unit, 1 s later.
  EXPECT_EQ(take(spec, state, kMinute1 + 1s).retry_after, 1s);
}

TEST(SlidingWindow, RetryAfterWithBothWindowsCounting) {
  const LimitSpec spec = sliding(10);
  // previous 10, current 5 at the start of minute 1: estimate 15.
  // Room for 1 when 10 * (60 - e)/60 + 5 + 1 <= 10, i.e. e >= 36 s.
  CounterState state = spent(10, 5);
  EXPECT_EQ(take(spec, state, kMinute1).retry_after, 36s);
  EXPECT_FALSE(take(spec, state, kMinute1 + 36s - 1ns).allowed);
  const Decision d = take(spec, state, kMinute1 + 36s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.used, 10);
}

TEST(SlidingWindow, RetryAfterWaitsIntoTheNextWindow) {
  const LimitSpec spec = sliding(10);
  CounterState state;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(take(spec, state, kMinute0).allowed);
  }
  // The current window is full for its rest; next minute these 10 weigh 10 * (60 - e)/60,
  // and one more unit fits once that is <= 9: e >= 6 s. From 30 s into minute 0: 36 s.
  const Decision d = take(spec, state, kMinute0 + 30s);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 36s);
  EXPECT_EQ(d.reset_unix_s, kMinute0S + 60);
  EXPECT_FALSE(take(spec, state, kMinute1 + 6s - 1ns).allowed);
  EXPECT_TRUE(take(spec, state, kMinute1 + 6s).allowed);
}

TEST(SlidingWindow, CostEqualToTheLimitWaitsForAnEmptyTrailingWindow) {
  const LimitSpec spec = sliding(10);
  CounterState state = spent(10, 0);
  const Decision d = take(spec, state, kMinute1 + 30s, 10);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 30s);  // minute 2, when minute 1 (empty) is the previous window
  EXPECT_TRUE(take(spec, state, kMinute1 + 60s, 10).allowed);
}

TEST(SlidingWindow, CostAboveTheLimitAndLimitZero) {
  CounterState state;
  EXPECT_EQ(take(sliding(5), state, kMinute0 + 10s, 6).retry_after, 60s);
  const Decision zero = take(sliding(0), state, kMinute0 + 10s);
  EXPECT_FALSE(zero.allowed);
  EXPECT_EQ(zero.remaining, 0);
  EXPECT_EQ(zero.retry_after, 60s);
}

TEST(SlidingWindow, HugeCountsStayExact) {
  // previous * overlap = 6e11 * 45e9 overflows 64 bits: the 128-bit path.
  const LimitSpec spec = sliding(1'000'000'000'000);
  CounterState state = spent(600'000'000'000, 0);
  const UnixNanos now = kMinute1 + 15s;
  EXPECT_EQ(evaluate(spec, state, now, 0).remaining, 550'000'000'000);
  const Decision over = evaluate(spec, state, now, 550'000'000'001);
  EXPECT_FALSE(over.allowed);
  EXPECT_EQ(over.retry_after, 1ns);  // 0.1 units of weight drain in 0.01 ns, rounded up
  EXPECT_TRUE(evaluate(spec, state, now + 1ns, 550'000'000'001).allowed);
  EXPECT_TRUE(take(spec, state, now, 550'000'000'000).allowed);
  EXPECT_EQ(evaluate(spec, state, now, 0).remaining, 0);
}

TEST(SlidingWindow, ForgetsAfterTwoWindows) {
  const LimitSpec spec = sliding(10);
  CounterState state;
  for (int i = 0; i < 10; ++i) {
    take(spec, state, kMinute0 + 59s);
  }
  EXPECT_FALSE(is_expired(spec, state, kMinute1 + 60s - 1ns));
  EXPECT_EQ(evaluate(spec, state, kMinute1 + 60s - 1ns, 0).used, 1);  // a sliver of weight
  EXPECT_TRUE(is_expired(spec, state, kMinute1 + 60s));
  const Decision d = take(spec, state, kMinute1 + 60s);
  EXPECT_EQ(d.remaining, 9);
  EXPECT_EQ(d.used, 1);
}

TEST(SlidingWindow, PreviousWindowFullyWeightedAtTheBoundary) {
  const LimitSpec spec = sliding(10);
  CounterState state;
  for (int i = 0; i < 10; ++i) {
    take(spec, state, kMinute0);
  }
  // At the first nanosecond of minute 1 the previous window still weighs all 10.
  const Decision d = take(spec, state, kMinute1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.used, 10);
  EXPECT_EQ(d.retry_after, 6s);
}

}  // namespace
}  // namespace gw::limiter

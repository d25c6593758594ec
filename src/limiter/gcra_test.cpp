#include <gtest/gtest.h>

#include "limiter/check.h"

namespace gw::limiter {
namespace {

using namespace std::chrono_literals;

constexpr UnixNanos kT0 = 1'700'000'040s;
constexpr std::int64_t kT0S = 1'700'000'040;

LimitSpec gcra(std::int64_t limit, UnixNanos window = 60s) {
  return LimitSpec{.limit = limit, .window = window, .algorithm = Algorithm::gcra};
}

Decision take(const LimitSpec& spec, CounterState& state, UnixNanos now, std::int64_t cost = 1) {
  CounterState* states[] = {&state};
  Decision out[1];
  check_all({&spec, 1}, states, now, cost, out);
  return out[0];
}

TEST(Gcra, BurstOfTheLimitThenOnePerInterval) {
  const LimitSpec spec = gcra(60);  // 60 per minute: T = 1 s
  CounterState state;
  for (std::int64_t i = 1; i <= 60; ++i) {
    const Decision d = take(spec, state, kT0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 60 - i);
    EXPECT_EQ(d.used, i);
    EXPECT_EQ(d.reset_unix_s, kT0S + i);  // full again i seconds from now
  }

  const Decision denied = take(spec, state, kT0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_TRUE(denied.over_limit);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.used, 60);
  EXPECT_EQ(denied.retry_after, 1s);
  EXPECT_EQ(denied.reset_unix_s, kT0S + 60);

  const Decision early = take(spec, state, kT0 + 1s - 1ns);
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.retry_after, 1ns);

  for (int i = 1; i <= 5; ++i) {
    const UnixNanos now = kT0 + std::chrono::seconds(i);
    const Decision d = take(spec, state, now);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 0);
    EXPECT_EQ(take(spec, state, now).retry_after, 1s);
  }
}

TEST(Gcra, RemainingRefillsContinuously) {
  const LimitSpec spec = gcra(60);
  CounterState state;
  take(spec, state, kT0, 10);  // TAT = T0 + 10 s
  const Decision at5 = evaluate(spec, state, kT0 + 5s, 0);
  EXPECT_EQ(at5.remaining, 55);
  EXPECT_EQ(at5.used, 5);
  EXPECT_EQ(at5.reset_unix_s, kT0S + 10);
  EXPECT_EQ(evaluate(spec, state, kT0 + 5500ms, 0).remaining, 55);  // floor
  EXPECT_FALSE(is_expired(spec, state, kT0 + 10s - 1ns));
  EXPECT_TRUE(is_expired(spec, state, kT0 + 10s));
  const Decision full = evaluate(spec, state, kT0 + 30s, 0);
  EXPECT_EQ(full.remaining, 60);
  EXPECT_EQ(full.used, 0);
  EXPECT_EQ(full.reset_unix_s, kT0S + 30);
}

TEST(Gcra, IntervalThatIsNotAWholeNumberOfNanosecondsKeepsTheBurstAndTheRate) {
  const LimitSpec spec = gcra(7);  // T = 60/7 s = 8571428571.43 ns
  CounterState state;
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(take(spec, state, kT0).allowed) << i;  // the whole burst fits
  }
  const Decision denied = take(spec, state, kT0);
  EXPECT_EQ(denied.retry_after, 8'571'428'572ns);  // ceil(T)

  // Admitted each time at the earliest instant it says: after 7 more, exactly one window
  // has passed (no rounding drift).
  UnixNanos now = kT0;
  for (int i = 0; i < 7; ++i) {
    const Decision d = take(spec, state, now);
    ASSERT_FALSE(d.allowed);
    now += d.retry_after;
    EXPECT_FALSE(take(spec, state, now - 1ns).allowed);
    ASSERT_TRUE(take(spec, state, now).allowed) << i;
  }
  EXPECT_EQ(now, kT0 + 60s);
}

TEST(Gcra, CostAboveOne) {
  const LimitSpec spec = gcra(10, 10s);  // T = 1 s
  CounterState state;
  EXPECT_EQ(take(spec, state, kT0, 4).remaining, 6);
  EXPECT_EQ(take(spec, state, kT0, 4).remaining, 2);
  const Decision d = take(spec, state, kT0, 4);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(d.used, 8);
  EXPECT_EQ(d.retry_after, 2s);  // two more units must drip back
  EXPECT_TRUE(take(spec, state, kT0 + 2s, 4).allowed);
}

TEST(Gcra, CostAboveTheLimitAndLimitZero) {
  CounterState state;
  const Decision big = take(gcra(5), state, kT0, 6);
  EXPECT_FALSE(big.allowed);
  EXPECT_EQ(big.remaining, 5);
  EXPECT_EQ(big.retry_after, 60s);

  const Decision zero = take(gcra(0), state, kT0);
  EXPECT_FALSE(zero.allowed);
  EXPECT_EQ(zero.remaining, 0);
  EXPECT_EQ(zero.used, 0);
  EXPECT_EQ(zero.retry_after, 60s);
  EXPECT_EQ(state.window_start, 0);  // untouched
}

TEST(Gcra, HugeLimitsStayExact) {
  const LimitSpec spec = gcra(1'000'000'000'000);  // T = 0.06 ns
  CounterState state;
  const Decision d = take(spec, state, kT0, 1'000'000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1'000'000'000'000 - 1'000'000);
  EXPECT_EQ(state.window_start, kT0.count() + 60'000);  // 1e6 * 0.06 ns
  EXPECT_EQ(state.count, 0);
}

TEST(Gcra, PlanChangeKeepsSpentUnits) {
  CounterState state;
  take(gcra(60), state, kT0, 30);  // 30 of 60 spent: TAT = T0 + 30 s

  CounterState upgraded = state;
  carry_over(gcra(60), gcra(120), upgraded, kT0);
  const Decision up = evaluate(gcra(120), upgraded, kT0, 1);
  EXPECT_EQ(up.remaining, 89);  // 120 - 30 - 1
  EXPECT_EQ(up.used, 31);

  CounterState downgraded = state;
  carry_over(gcra(60), gcra(20), downgraded, kT0);
  const Decision down = evaluate(gcra(20), downgraded, kT0, 1);
  EXPECT_FALSE(down.allowed);
  EXPECT_EQ(down.used, 30);  // more than the new limit: overspent
  EXPECT_EQ(down.remaining, 0);
  // 30 units at the new 3 s interval is 90 s of debt; one unit fits when it is <= 57 s.
  EXPECT_EQ(down.retry_after, 33s);
}

TEST(CarryOver, WindowCountersKeepUnitsAndResetOnAnotherWindowOrAlgorithm) {
  const LimitSpec fixed60{.limit = 60, .window = 60s};
  CounterState state;
  take(fixed60, state, kT0, 25);

  CounterState same = state;
  carry_over(fixed60, LimitSpec{.limit = 120, .window = 60s}, same, kT0);
  EXPECT_EQ(same.count, 25);

  CounterState other_window = state;
  carry_over(fixed60, LimitSpec{.limit = 60, .window = 1s}, other_window, kT0);
  EXPECT_EQ(other_window.count, 0);
  EXPECT_EQ(other_window.window_start, 0);

  CounterState other_algorithm = state;
  carry_over(fixed60, gcra(60), other_algorithm, kT0);
  EXPECT_TRUE(is_expired(gcra(60), other_algorithm, kT0));
}

}  // namespace
}  // namespace gw::limiter

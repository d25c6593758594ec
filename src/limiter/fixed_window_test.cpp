#include <gtest/gtest.h>

#include "limiter/check.h"

namespace gw::limiter {
namespace {

using namespace std::chrono_literals;

// A minute boundary: 2023-11-14T22:14:00Z.
constexpr UnixNanos kMinute0 = 1'700'000'040s;
constexpr std::int64_t kMinute0S = 1'700'000'040;

LimitSpec per_minute(std::int64_t limit) {
  return LimitSpec{.limit = limit, .window = 60s, .algorithm = Algorithm::fixed_window};
}

// One limit through the all-or-nothing check, as the store runs it.
Decision take(const LimitSpec& spec, CounterState& state, UnixNanos now, std::int64_t cost = 1) {
  CounterState* states[] = {&state};
  Decision out[1];
  check_all({&spec, 1}, states, now, cost, out);
  return out[0];
}

TEST(FixedWindow, AdmitsTheLimitThenRejectsUntilTheMinuteEnds) {
  const LimitSpec spec = per_minute(3);
  CounterState state;
  const UnixNanos now = kMinute0 + 10s;

  for (std::int64_t i = 1; i <= 3; ++i) {
    const Decision d = take(spec, state, now);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.over_limit);
    EXPECT_EQ(d.limit, 3);
    EXPECT_EQ(d.remaining, 3 - i);
    EXPECT_EQ(d.used, i);
    EXPECT_EQ(d.reset_unix_s, kMinute0S + 60);
    EXPECT_EQ(d.retry_after, 0ns);
  }

  const Decision denied = take(spec, state, now);
  EXPECT_FALSE(denied.allowed);
  EXPECT_TRUE(denied.over_limit);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.used, 3);
  EXPECT_EQ(denied.reset_unix_s, kMinute0S + 60);
  EXPECT_EQ(denied.retry_after, 50s);
  EXPECT_EQ(state.count, 3);  // a rejection charges nothing
}

TEST(FixedWindow, LastNanosecondOfAWindowVersusFirstOfTheNext) {
  const LimitSpec spec = per_minute(2);
  CounterState state;
  take(spec, state, kMinute0);
  take(spec, state, kMinute0 + 30s);

  const Decision late = take(spec, state, kMinute0 + 60s - 1ns);
  EXPECT_FALSE(late.allowed);
  EXPECT_EQ(late.retry_after, 1ns);
  EXPECT_EQ(late.reset_unix_s, kMinute0S + 60);

  const Decision next = take(spec, state, kMinute0 + 60s);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.remaining, 1);
  EXPECT_EQ(next.used, 1);
  EXPECT_EQ(next.reset_unix_s, kMinute0S + 120);
  EXPECT_EQ(state.window_start, (kMinute0 + 60s).count());
}

TEST(FixedWindow, WindowsAreAlignedToTheEpochNotToTheFirstRequest) {
  const LimitSpec spec = per_minute(1);
  CounterState state;
  EXPECT_TRUE(take(spec, state, kMinute0 + 59s).allowed);
  // One second later is a new minute, although the first request was only 1 s ago.
  EXPECT_TRUE(take(spec, state, kMinute0 + 60s).allowed);
}

TEST(FixedWindow, ResetRoundsUpToWholeSeconds) {
  const LimitSpec spec{.limit = 5, .window = 1500ms};
  CounterState state;
  // Windows [0, 1.5 s), [1.5 s, 3 s): the first resets at 1.5 s, reported as 2.
  EXPECT_EQ(take(spec, state, kMinute0 + 200ms).reset_unix_s, kMinute0S + 2);
  // Exactly on a second boundary the reset is that second.
  EXPECT_EQ(take(spec, state, kMinute0 + 1600ms).reset_unix_s, kMinute0S + 3);
}

TEST(FixedWindow, CostAboveOneIsChargedWhole) {
  const LimitSpec spec = per_minute(10);
  CounterState state;
  EXPECT_EQ(take(spec, state, kMinute0, 4).remaining, 6);
  const Decision second = take(spec, state, kMinute0, 4);
  EXPECT_EQ(second.remaining, 2);
  EXPECT_EQ(second.used, 8);

  const Decision third = take(spec, state, kMinute0 + 1s, 4);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.remaining, 2);  // as it is, not charged
  EXPECT_EQ(third.used, 8);
  EXPECT_EQ(third.retry_after, 59s);

  EXPECT_TRUE(take(spec, state, kMinute0 + 1s, 2).allowed);  // a smaller request still fits
}

TEST(FixedWindow, CostAboveTheLimitIsNeverAdmitted) {
  const LimitSpec spec = per_minute(5);
  CounterState state;
  const Decision d = take(spec, state, kMinute0 + 10s, 6);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 5);
  EXPECT_EQ(d.retry_after, 60s);  // the whole window, not the 50 s to its end
}

TEST(FixedWindow, LimitZeroAdmitsNothing) {
  const LimitSpec spec = per_minute(0);
  CounterState state;
  const Decision d = take(spec, state, kMinute0 + 10s);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.over_limit);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.used, 0);
  EXPECT_EQ(d.retry_after, 60s);
  EXPECT_EQ(d.reset_unix_s, kMinute0S + 60);
}

TEST(FixedWindow, LoweredLimitBelowWhatWasSpentShowsZeroRemaining) {
  CounterState state;
  for (int i = 0; i < 8; ++i) {
    take(per_minute(10), state, kMinute0);
  }
  const Decision d = take(per_minute(5), state, kMinute0 + 1s);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.used, 8);
  EXPECT_EQ(d.retry_after, 59s);
}

TEST(FixedWindow, ClockSteppingBackDoesNotHandOutFreshQuota) {
  const LimitSpec spec = per_minute(1);
  CounterState state;
  EXPECT_TRUE(take(spec, state, kMinute0 + 60s).allowed);
  const Decision d = take(spec, state, kMinute0 + 59s);  // one second earlier, previous minute
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 61s);  // until the end of the counter's window
  EXPECT_EQ(d.reset_unix_s, kMinute0S + 120);
}

TEST(FixedWindow, ExpiresWhenItsWindowIsOver) {
  const LimitSpec spec = per_minute(5);
  CounterState state;
  EXPECT_TRUE(is_expired(spec, state, kMinute0));  // never used
  take(spec, state, kMinute0 + 5s);
  EXPECT_FALSE(is_expired(spec, state, kMinute0 + 60s - 1ns));
  EXPECT_TRUE(is_expired(spec, state, kMinute0 + 60s));
}

TEST(FixedWindow, EvaluateShowsTheChargeWithoutMakingIt) {
  const LimitSpec spec = per_minute(5);
  CounterState state;
  const Decision d = evaluate(spec, state, kMinute0, 2);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 3);
  EXPECT_EQ(state.count, 0);
  consume(spec, state, kMinute0, 2);
  EXPECT_EQ(state.count, 2);
  EXPECT_EQ(state.window_start, kMinute0.count());
}

}  // namespace
}  // namespace gw::limiter

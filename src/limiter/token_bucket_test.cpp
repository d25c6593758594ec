#include "limiter/token_bucket.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "limiter/limit_bounds.h"

namespace gw::limiter {
namespace {

using namespace std::chrono_literals;
using Nanos = TokenBucket::Nanos;

// A steady-clock reading well away from zero, as after some uptime.
constexpr Nanos kT0 = 3'600s;

// Takes `cost` if it can be taken now; the stream's own use of the bucket.
bool try_take(TokenBucket& bucket, std::int64_t cost, Nanos now) {
  if (bucket.wait_for(cost, now) != Nanos::zero()) {
    return false;
  }
  bucket.take(cost, now);
  return true;
}

TEST(TokenBucket, StartsFullWithOneSecondOfBurst) {
  TokenBucket bucket(100, kT0);
  EXPECT_EQ(bucket.rate(), 100);
  EXPECT_EQ(bucket.tokens(kT0), 100.0);
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(try_take(bucket, 1, kT0)) << i;
  }
  EXPECT_EQ(bucket.tokens(kT0), 0.0);
  EXPECT_EQ(bucket.wait_for(1, kT0), 10ms);  // the 101st: one token at 100/s
  EXPECT_FALSE(try_take(bucket, 1, kT0));
  EXPECT_EQ(bucket.wait_for(2, kT0), 20ms);
}

TEST(TokenBucket, AdmitsExactlyAtTheRefillInstantAndNotOneNanosecondBefore) {
  TokenBucket bucket(100, kT0);
  bucket.take(100, kT0);

  EXPECT_EQ(bucket.wait_for(1, kT0 + 10ms - 1ns), 1ns);
  EXPECT_FALSE(try_take(bucket, 1, kT0 + 10ms - 1ns));
  EXPECT_EQ(bucket.wait_for(1, kT0 + 10ms), 0ns);
  EXPECT_TRUE(try_take(bucket, 1, kT0 + 10ms));
  EXPECT_EQ(bucket.tokens(kT0 + 10ms), 0.0);
}

TEST(TokenBucket, WaitingExactlyTheWaitSucceedsForAwkwardRates) {
  // Rates whose refill time per token is not a whole number of nanoseconds, from states with
  // fractional tokens: the returned wait is the first nanosecond at which the take succeeds.
  for (const std::int64_t rate : {3, 7, 30'000, 32'768, 44'100, 1'000'003}) {
    for (const std::int64_t cost : {std::int64_t{1}, rate / 3 + 1, rate}) {
      TokenBucket bucket(rate, kT0);
      Nanos now = kT0;
      for (int frame = 0; frame < 50; ++frame) {
        const Nanos wait = bucket.wait_for(cost, now);
        ASSERT_GE(wait, 0ns);
        if (wait > 0ns) {
          ASSERT_GT(bucket.wait_for(cost, now + wait - 1ns), 0ns)
              << "rate " << rate << " cost " << cost << " frame " << frame;
        }
        now += wait;
        ASSERT_EQ(bucket.wait_for(cost, now), 0ns)
            << "rate " << rate << " cost " << cost << " frame " << frame;
        bucket.take(cost, now);
        now += 17ns;  // the next frame arrives a little later: fractional levels
      }
    }
  }
}

TEST(TokenBucket, RefillStopsAtTheCapacity) {
  TokenBucket bucket(100, kT0);
  bucket.take(40, kT0);
  EXPECT_EQ(bucket.tokens(kT0 + 200ms), 80.0);
  EXPECT_EQ(bucket.tokens(kT0 + 1h), 100.0);
  EXPECT_EQ(bucket.wait_for(100, kT0 + 400ms), 0ns);
  EXPECT_TRUE(try_take(bucket, 100, kT0 + 1h));
  EXPECT_FALSE(try_take(bucket, 1, kT0 + 1h));  // an hour idle still holds one second
}

TEST(TokenBucket, OversizeCostIsAdmittedWhenFullAndLeavesDebt) {
  TokenBucket bucket(1000, kT0);
  // 2500 > capacity 1000: admitted from a full bucket.
  EXPECT_EQ(bucket.wait_for(2500, kT0), 0ns);
  bucket.take(2500, kT0);
  EXPECT_EQ(bucket.tokens(kT0), -1500.0);

  // Any cost now waits for the debt to be repaid and the bucket to reach min(cost, 1000).
  EXPECT_EQ(bucket.wait_for(1, kT0), 1501ms);
  EXPECT_EQ(bucket.wait_for(2500, kT0), 2500ms);  // full again
  EXPECT_EQ(bucket.tokens(kT0 + 1500ms), 0.0);

  EXPECT_FALSE(try_take(bucket, 2500, kT0 + 2500ms - 1ns));
  EXPECT_TRUE(try_take(bucket, 2500, kT0 + 2500ms));
  EXPECT_EQ(bucket.tokens(kT0 + 2500ms), -1500.0);
}

TEST(TokenBucket, OversizeFramesStillHoldTheLongRunRate) {
  // 3 s of audio per frame at 1 s of capacity: one frame every 3 s after the first.
  TokenBucket bucket(1000, kT0);
  Nanos now = kT0;
  for (int frame = 0; frame < 10; ++frame) {
    now += bucket.wait_for(3000, now);
    bucket.take(3000, now);
  }
  EXPECT_EQ(now, kT0 + 27s);  // frames at 0, 3, ..., 27 s
}

TEST(TokenBucket, ZeroCostIsAlwaysAdmitted) {
  TokenBucket bucket(10, kT0);
  bucket.take(30, kT0);
  EXPECT_EQ(bucket.wait_for(0, kT0), 0ns);
  bucket.take(0, kT0);
  EXPECT_EQ(bucket.tokens(kT0), -20.0);
}

// Admits frames as fast as the bucket allows over `duration` of simulated time; returns the
// bytes admitted.
std::int64_t admitted_bytes(std::int64_t rate, std::int64_t frame, Nanos duration) {
  TokenBucket bucket(rate, kT0);
  std::int64_t bytes = 0;
  Nanos now = kT0;
  for (;;) {
    now += bucket.wait_for(frame, now);
    if (now > kT0 + duration) {
      return bytes;
    }
    bucket.take(frame, now);
    bytes += frame;
  }
}

TEST(TokenBucket, LongRunRateIsTheRatePlusOneSecondOfBurst) {
  // 32768 B/s, 4096-byte frames (the free plan's audio limit): one frame per 125 ms exactly.
  EXPECT_EQ(admitted_bytes(32'768, 4096, 10s), 32'768 * 10 + 32'768);

  // Rates that do not divide evenly: within one frame of rate * t + burst.
  for (const std::int64_t rate : {30'000, 44'100, 100'003}) {
    const std::int64_t expected = rate * 10 + rate;
    const std::int64_t got = admitted_bytes(rate, 4096, 10s);
    EXPECT_LE(got, expected) << rate;
    EXPECT_GT(got, expected - 4096) << rate;
  }
}

// Plan changes keep what was spent (SPEC §5), as HTTP counters keep their used units.
TEST(TokenBucket, AnUpgradeOfAQuietBucketGivesTheNewBurst) {
  TokenBucket bucket(100, kT0);
  bucket.take(100, kT0);
  // A quiet period refills it; the upgrade then gives the whole new capacity at once.
  bucket.set_rate(1000, kT0 + 5s);
  EXPECT_EQ(bucket.rate(), 1000);
  EXPECT_EQ(bucket.tokens(kT0 + 5s), 1000.0);
  EXPECT_EQ(bucket.wait_for(1000, kT0 + 5s), 0ns);
}

TEST(TokenBucket, AnUpgradeMidBurstKeepsWhatWasSpent) {
  TokenBucket bucket(100, kT0);
  bucket.take(60, kT0);  // 60 spent, 40 held
  bucket.set_rate(1000, kT0);
  EXPECT_EQ(bucket.tokens(kT0), 940.0);
  EXPECT_EQ(bucket.wait_for(1000, kT0), 60ms);  // 60 more at 1000/s
  EXPECT_EQ(bucket.tokens(kT0 + 1s), 1000.0);   // and never above the new capacity
}

TEST(TokenBucket, ADowngradeOfAQuietBucketGivesTheNewCapacity) {
  TokenBucket bucket(1000, kT0);
  bucket.set_rate(100, kT0 + 1s);
  EXPECT_EQ(bucket.tokens(kT0 + 1s), 100.0);
  EXPECT_TRUE(try_take(bucket, 100, kT0 + 1s));
  EXPECT_EQ(bucket.wait_for(1, kT0 + 1s), 10ms);
}

TEST(TokenBucket, ADowngradeMidBurstOwesWhatWasSpentBeyondTheNewCapacity) {
  TokenBucket bucket(1000, kT0);
  bucket.take(500, kT0);  // 500 spent
  bucket.set_rate(100, kT0);
  EXPECT_EQ(bucket.tokens(kT0), -400.0);
  EXPECT_EQ(bucket.wait_for(1, kT0), 4010ms);  // 401 tokens at 100/s
  EXPECT_EQ(bucket.tokens(kT0 + 5s), 100.0);
}

TEST(TokenBucket, SetRateKeepsDebt) {
  TokenBucket bucket(100, kT0);
  bucket.take(300, kT0);  // 300 spent: -200
  bucket.set_rate(50, kT0);
  EXPECT_EQ(bucket.tokens(kT0), -250.0);
  EXPECT_EQ(bucket.wait_for(50, kT0), 6s);  // 300 tokens at 50/s
}

TEST(TokenBucket, TokensEarnedBeforeTheChangeCountAtTheOldRate) {
  TokenBucket bucket(100, kT0);
  bucket.take(100, kT0);
  bucket.set_rate(1000, kT0 + 100ms);  // 10 earned at 100/s: 90 spent
  EXPECT_EQ(bucket.tokens(kT0 + 100ms), 910.0);
}

TEST(TokenBucket, RateZeroAdmitsNothing) {
  TokenBucket bucket(0, kT0);
  EXPECT_EQ(bucket.tokens(kT0), 0.0);
  EXPECT_EQ(bucket.wait_for(1, kT0), Nanos::max());
  EXPECT_EQ(bucket.wait_for(1, kT0 + 24h), Nanos::max());

  TokenBucket paused(100, kT0);
  paused.take(30, kT0);
  paused.set_rate(0, kT0);
  EXPECT_EQ(paused.wait_for(1, kT0), Nanos::max());
  paused.set_rate(100, kT0 + 1s);  // resumes with the 30 spent before the pause still spent
  EXPECT_EQ(paused.tokens(kT0 + 1s), 70.0);
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(100, kT0);
  bucket.take(100, kT0 + 1s);
  EXPECT_EQ(bucket.tokens(kT0), 0.0);
  EXPECT_EQ(bucket.wait_for(1, kT0), 1s + 10ms);  // measured from the last update
  bucket.take(0, kT0);                            // a stale refill is not remembered
  EXPECT_EQ(bucket.wait_for(1, kT0 + 1s), 10ms);
}

TEST(TokenBucket, VeryLongWaitsDoNotOverflow) {
  TokenBucket bucket(1, kT0);
  bucket.take(std::int64_t{1} << 62, kT0);  // centuries of debt at 1 token/s
  EXPECT_EQ(bucket.wait_for(1, kT0), Nanos::max());

  TokenBucket slow(1, kT0);
  slow.take(1'000'000'000, kT0);  // ~31.7 years: past 2^53 ns but representable
  const Nanos wait = slow.wait_for(1, kT0);
  ASSERT_LT(wait, Nanos::max());
  EXPECT_GE(slow.tokens(kT0 + wait), 1.0);
  EXPECT_NEAR(static_cast<double>(wait.count()), 1'000'000'000.0 * 1e9, 1e6);
}

// A stream at the largest rate the gateway accepts (limiter::kMaxLimit: ws_messages_ and
// ws_audio_bytes_per_second), with the largest frames it can be sent (websocket
// max_message_bytes, at most 2^30): exact to the nanosecond, no overflow, days apart.
TEST(TokenBucket, TheLargestRateIsExact) {
  constexpr std::int64_t kRate = kMaxLimit;  // one token per nanosecond
  TokenBucket bucket(kRate, kT0);
  EXPECT_EQ(bucket.tokens(kT0), static_cast<double>(kRate));
  ASSERT_TRUE(try_take(bucket, kRate, kT0));  // the whole second of burst at once
  EXPECT_EQ(bucket.wait_for(1, kT0), 1ns);
  EXPECT_EQ(bucket.wait_for(kRate, kT0), 1s);
  EXPECT_EQ(bucket.tokens(kT0 + 250ms), 250'000'000.0);
  ASSERT_TRUE(try_take(bucket, kRate, kT0 + 1s));

  // A frame larger than the whole bucket (2^30 bytes > 1e9) waits for a full bucket and
  // leaves it in debt, so the long-run rate holds.
  constexpr std::int64_t kLargestFrame = std::int64_t{1} << 30;
  EXPECT_EQ(bucket.wait_for(kLargestFrame, kT0 + 1s), 1s);
  ASSERT_TRUE(try_take(bucket, kLargestFrame, kT0 + 2s));
  EXPECT_EQ(bucket.tokens(kT0 + 2s), static_cast<double>(kRate - kLargestFrame));
  EXPECT_EQ(bucket.wait_for(1, kT0 + 2s), Nanos(kLargestFrame - kRate + 1));

  // Days idle: refilled to the capacity, not beyond.
  EXPECT_EQ(bucket.tokens(kT0 + 2s + 24h * 30), static_cast<double>(kRate));
  bucket.set_rate(0, kT0 + 2s + 24h * 30);
  EXPECT_EQ(bucket.wait_for(1, kT0 + 2s + 24h * 30), Nanos::max());
  bucket.set_rate(kRate, kT0 + 2s + 24h * 30);
  EXPECT_TRUE(try_take(bucket, kRate, kT0 + 2s + 24h * 30));
}

}  // namespace
}  // namespace gw::limiter

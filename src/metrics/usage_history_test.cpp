#include "metrics/usage_history.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/fake_clock.h"

namespace gw::metrics {
namespace {

using namespace std::chrono_literals;

// A minute boundary well after the epoch: 2023-11-14T22:13:00Z.
constexpr core::UnixNanos kMinute0 = 1'699'999'980s;

TEST(UsageHistory, UnknownAccountIsZero) {
  UsageHistory history;
  const UsageCounts counts = history.last_60_minutes("nobody", kMinute0);
  EXPECT_EQ(counts.allowed, 0u);
  EXPECT_EQ(counts.denied, 0u);
}

TEST(UsageHistory, CountsAllowedAndDeniedPerAccount) {
  core::FakeClock clock{kMinute0};
  UsageHistory history;
  history.record("a", true, clock.now());
  history.record("a", true, clock.now());
  history.record("a", false, clock.now());
  history.record("b", false, clock.now());

  EXPECT_EQ(history.last_60_minutes("a", clock.now()).allowed, 2u);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).denied, 1u);
  EXPECT_EQ(history.last_60_minutes("b", clock.now()).allowed, 0u);
  EXPECT_EQ(history.last_60_minutes("b", clock.now()).denied, 1u);
  EXPECT_EQ(history.size(), 2u);
}

TEST(UsageHistory, WindowSlidesByWholeMinutes) {
  core::FakeClock clock{kMinute0};
  UsageHistory history;
  history.record("a", true, clock.now());  // minute 0
  clock.advance(59s + 999'999'999ns);      // last instant of minute 0
  history.record("a", true, clock.now());
  clock.advance(1ns);  // first instant of minute 1
  history.record("a", false, clock.now());

  // At the last instant of minute 59, minute 0 is still the oldest of the 60.
  clock.set(kMinute0 + 60min - 1ns);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).allowed, 2u);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).denied, 1u);

  // At minute 60 exactly, minute 0 has left the window; minute 1 is still in.
  clock.set(kMinute0 + 60min);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).allowed, 0u);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).denied, 1u);

  clock.set(kMinute0 + 61min);
  EXPECT_EQ(history.last_60_minutes("a", clock.now()).denied, 0u);
}

TEST(UsageHistory, ReusedSlotStartsFromZero) {
  UsageHistory history;
  history.record("a", true, kMinute0);
  history.record("a", true, kMinute0);
  // Minute 60 maps to the same slot as minute 0: its old counts must not leak in.
  history.record("a", false, kMinute0 + 60min + 30s);
  const UsageCounts counts = history.last_60_minutes("a", kMinute0 + 60min + 30s);
  EXPECT_EQ(counts.allowed, 0u);
  EXPECT_EQ(counts.denied, 1u);
}

TEST(UsageHistory, FullHourSums) {
  UsageHistory history;
  for (int m = 0; m < 60; ++m) {
    history.record("a", m % 2 == 0, kMinute0 + std::chrono::minutes(m) + 10s);
  }
  const UsageCounts counts = history.last_60_minutes("a", kMinute0 + 59min + 59s);
  EXPECT_EQ(counts.allowed, 30u);
  EXPECT_EQ(counts.denied, 30u);
}

TEST(UsageHistory, FutureBucketsAreNotCounted) {
  UsageHistory history;
  history.record("a", true, kMinute0 + 5min);
  EXPECT_EQ(history.last_60_minutes("a", kMinute0).allowed, 0u);
  EXPECT_EQ(history.last_60_minutes("a", kMinute0 + 5min).allowed, 1u);
}

TEST(UsageHistory, SweepDropsAccountsIdleForAnHour) {
  UsageHistory history;
  history.record("old", true, kMinute0);
  history.record("new", true, kMinute0 + 30min);

  EXPECT_EQ(history.sweep(kMinute0 + 60min - 1ns), 0u);  // "old" still has minute 0 in view
  EXPECT_EQ(history.size(), 2u);
  EXPECT_EQ(history.sweep(kMinute0 + 60min), 1u);
  EXPECT_EQ(history.size(), 1u);
  EXPECT_EQ(history.last_60_minutes("old", kMinute0 + 60min).allowed, 0u);
  EXPECT_EQ(history.last_60_minutes("new", kMinute0 + 60min).allowed, 1u);

  EXPECT_EQ(history.sweep(kMinute0 + 90min), 1u);
  EXPECT_EQ(history.size(), 0u);

  // A swept account starts again from nothing.
  history.record("old", false, kMinute0 + 91min);
  EXPECT_EQ(history.last_60_minutes("old", kMinute0 + 91min).denied, 1u);
}

TEST(UsageHistory, ConcurrentRecordsAreAllCounted) {
  UsageHistory history;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        history.record(i % 2 ? "shared" : "own" + std::to_string(t), true, kMinute0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(history.last_60_minutes("shared", kMinute0).allowed,
            static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  EXPECT_EQ(history.last_60_minutes("own0", kMinute0).allowed,
            static_cast<std::uint64_t>(kPerThread / 2));
}

}  // namespace
}  // namespace gw::metrics

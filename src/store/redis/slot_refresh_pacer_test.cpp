#include "store/redis/slot_refresh_pacer.h"

#include <gtest/gtest.h>

namespace gw::store::redis {
namespace {

using namespace std::chrono_literals;
using Clock = SlotRefreshPacer::Clock;

constexpr SlotRefreshPacer::Periods kPeriods{.min_gap = 200ms, .degraded = 500ms, .steady = 5s};
const Clock::time_point t0 = Clock::time_point() + 1h;  // any start; the clock is ours

TEST(SlotRefreshPacer, TheFirstRefreshStartsAtOnce) {
  SlotRefreshPacer pacer(kPeriods);
  EXPECT_EQ(pacer.due(false), Clock::time_point::min());
  EXPECT_TRUE(pacer.try_start(t0, false));
  EXPECT_TRUE(pacer.in_flight());
}

TEST(SlotRefreshPacer, OneRefreshInFlightAtATime) {
  SlotRefreshPacer pacer(kPeriods);
  ASSERT_TRUE(pacer.try_start(t0, true));
  pacer.want();
  EXPECT_EQ(pacer.due(true), Clock::time_point::max());
  EXPECT_FALSE(pacer.try_start(t0 + 10s, true));  // however long it takes
  pacer.finished();
  EXPECT_FALSE(pacer.in_flight());
  // Wanted while in flight (its answer may predate the failure): due again after the gap.
  EXPECT_TRUE(pacer.wanted());
  EXPECT_TRUE(pacer.try_start(t0 + 10s, true));
}

TEST(SlotRefreshPacer, FailuresUnderTrafficRefreshAtMostOncePerGap) {
  SlotRefreshPacer pacer(kPeriods);
  // A dead node fails a command every millisecond for two seconds; each wants a refresh,
  // and each refresh completes 1 ms after it began.
  int started = 0;
  Clock::time_point last{};
  for (auto now = t0; now < t0 + 2s; now += 1ms) {
    if (pacer.in_flight()) pacer.finished();
    pacer.want();
    if (pacer.try_start(now, true)) {
      if (started > 0) {
        EXPECT_GE(now - last, 200ms);
      }
      last = now;
      ++started;
    }
  }
  EXPECT_EQ(started, 10);  // t0, t0 + 200 ms, ..., t0 + 1800 ms
}

TEST(SlotRefreshPacer, AWantedRefreshWaitsForTheGapSinceTheLastStart) {
  SlotRefreshPacer pacer(kPeriods);
  ASSERT_TRUE(pacer.try_start(t0, false));
  pacer.finished();
  pacer.want();
  EXPECT_EQ(pacer.due(false), t0 + 200ms);
  EXPECT_FALSE(pacer.try_start(t0 + 199ms, false));
  EXPECT_TRUE(pacer.try_start(t0 + 200ms, false));
  EXPECT_FALSE(pacer.wanted());  // started: the wish is spent
}

TEST(SlotRefreshPacer, PeriodicRefreshesAreFasterWhileANodeIsDown) {
  SlotRefreshPacer pacer(kPeriods);
  ASSERT_TRUE(pacer.try_start(t0, false));
  pacer.finished();
  EXPECT_EQ(pacer.due(false), t0 + 5s);
  EXPECT_EQ(pacer.due(true), t0 + 500ms);
  EXPECT_FALSE(pacer.try_start(t0 + 499ms, true));
  EXPECT_FALSE(pacer.try_start(t0 + 4s, false));
  EXPECT_TRUE(pacer.try_start(t0 + 500ms, true));
  pacer.finished();
  EXPECT_FALSE(pacer.try_start(t0 + 500ms + 4999ms, false));
  EXPECT_TRUE(pacer.try_start(t0 + 500ms + 5s, false));
}

}  // namespace
}  // namespace gw::store::redis

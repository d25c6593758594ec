#include "proxy/deadline.h"

#include <gtest/gtest.h>

#include "core/fake_clock.h"

namespace gw::proxy {
namespace {

using namespace std::chrono_literals;

TEST(Deadline, IsDueFromItsInstantOnAndNeverWhenDisarmed) {
  core::FakeClock clock;
  Deadline deadline;
  EXPECT_FALSE(deadline.armed());
  EXPECT_FALSE(deadline.due(clock.steady_now()));

  deadline.arm(clock.steady_now(), 10000ms);  // http.header_timeout_ms, say
  EXPECT_TRUE(deadline.armed());
  clock.advance(10000ms - 1ns);
  EXPECT_FALSE(deadline.due(clock.steady_now()));
  clock.advance(1ns);
  EXPECT_TRUE(deadline.due(clock.steady_now()));

  deadline.disarm();
  clock.advance(24h);
  EXPECT_FALSE(deadline.due(clock.steady_now()));
}

TEST(Deadline, ReArmingStartsTheNextPhaseFromNow) {
  core::FakeClock clock;
  Deadline deadline;
  deadline.arm(clock.steady_now(), 60000ms);  // idle
  clock.advance(59s);
  deadline.arm(clock.steady_now(), 1000ms);  // the head arrived: header phase
  clock.advance(999ms);
  EXPECT_FALSE(deadline.due(clock.steady_now()));
  clock.advance(1ms);
  EXPECT_TRUE(deadline.due(clock.steady_now()));
}

TEST(Deadline, AWallClockStepDoesNotMoveIt) {
  core::FakeClock clock{core::UnixNanos(std::chrono::seconds(1'800'000'000))};
  Deadline deadline;
  deadline.arm(clock.steady_now(), 5000ms);
  clock.set(core::UnixNanos(std::chrono::seconds(1'900'000'000)));  // NTP steps a long way
  EXPECT_FALSE(deadline.due(clock.steady_now()));
  clock.set(core::UnixNanos(std::chrono::seconds(1'700'000'000)));  // and back
  clock.advance(5s);
  EXPECT_TRUE(deadline.due(clock.steady_now()));
}

}  // namespace
}  // namespace gw::proxy

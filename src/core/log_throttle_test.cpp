#include "core/log_throttle.h"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottle, OneLinePerIntervalCountingTheRest) {
  LogThrottle throttle(1s);
  const LogThrottle::Clock::time_point t0{100s};
  EXPECT_EQ(throttle.admit(t0), 0u);  // the first always goes through
  EXPECT_EQ(throttle.admit(t0 + 1ms), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 999ms), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 1s), 2u);  // and says two were held back
  EXPECT_EQ(throttle.admit(t0 + 1500ms), std::nullopt);
  EXPECT_EQ(throttle.admit(t0 + 5s), 1u);
  EXPECT_EQ(throttle.admit(t0 + 10s), 0u);
}

}  // namespace
}  // namespace gw::core

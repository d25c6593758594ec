#include "stream/stream_limiter.h"

#include <gtest/gtest.h>

namespace gw::stream {
namespace {

using namespace std::chrono_literals;
using Action = StreamLimiter::Verdict::Action;

config::WebSocketConfig defaults() { return config::WebSocketConfig{}; }  // reject / shape / 10 s

TEST(StreamLimiter, MessagesOverTheRateAreDroppedWithANoticeEvery100ms) {
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 100, .audio_bytes_per_second = 32768}, defaults(),
                        start);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.decide(0, start).action, Action::forward);
  auto first = limiter.decide(0, start);
  EXPECT_EQ(first.action, Action::drop);
  EXPECT_TRUE(first.notify);
  EXPECT_EQ(first.limit, "messages");
  EXPECT_EQ(first.retry_after_ms, 10);
  EXPECT_FALSE(limiter.decide(0, start + 50ms).notify);  // (refilled 5: forwarded)
  for (int i = 0; i < 4; ++i) limiter.decide(0, start + 50ms);
  const auto later = limiter.decide(0, start + 100ms);
  EXPECT_EQ(later.action, Action::forward);  // 5 more tokens since 50 ms
}

TEST(StreamLimiter, AudioOverTheRateIsShapedNotDropped) {
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 1000, .audio_bytes_per_second = 32768}, defaults(),
                        start);
  EXPECT_EQ(limiter.decide(32768, start).action, Action::forward);  // the burst
  const auto verdict = limiter.decide(16384, start);
  EXPECT_EQ(verdict.action, Action::wait);
  EXPECT_EQ(verdict.wait, 500ms);
  EXPECT_EQ(verdict.limit, "audio");
  EXPECT_EQ(limiter.decide(16384, start + 500ms).action, Action::forward);
}

TEST(StreamLimiter, SustainedViolationsClose) {
  auto config = defaults();
  config.close_after_violation = 1000ms;
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 10, .audio_bytes_per_second = 32768}, config,
                        start);
  for (int i = 0; i < 10; ++i) limiter.decide(0, start);
  // Flooding at 100 messages/s: some get through as the bucket refills, the rest drop.
  Action last = Action::forward;
  auto now = start;
  for (int i = 0; i < 200 && last != Action::close; ++i) {
    now += 10ms;
    last = limiter.decide(0, now).action;
  }
  EXPECT_EQ(last, Action::close);
  EXPECT_GE(now - start, 1000ms);
  EXPECT_LE(now - start, 1020ms);
}

TEST(StreamLimiter, AQuietSecondForgivesEarlierViolations) {
  auto config = defaults();
  config.close_after_violation = 1000ms;
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 1, .audio_bytes_per_second = 32768}, config, start);
  limiter.decide(0, start);
  EXPECT_EQ(limiter.decide(0, start).action, Action::drop);
  EXPECT_EQ(limiter.decide(0, start + 900ms).action, Action::drop);
  // No drop between 900 ms and 2.5 s: the run is over; a new one starts.
  EXPECT_EQ(limiter.decide(0, start + 2500ms).action, Action::forward);
  EXPECT_EQ(limiter.decide(0, start + 2500ms).action, Action::drop);
  EXPECT_EQ(limiter.decide(0, start + 3000ms).action, Action::drop);
}

TEST(StreamLimiter, APlanUpgradeRaisesTheRateAtOnce) {
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 100, .audio_bytes_per_second = 32768}, defaults(),
                        start);
  for (int i = 0; i < 100; ++i) limiter.decide(0, start);
  // Upgraded with an empty bucket: the 100 spent stay spent of pro's 1000.
  limiter.set_rates({.messages_per_second = 1000, .audio_bytes_per_second = 131072}, start);
  int forwarded = 0;
  for (int i = 0; i < 2000; ++i) {
    forwarded += limiter.decide(0, start + 50ms).action == Action::forward;
  }
  EXPECT_EQ(forwarded, 900 + 50);  // 100/s would have allowed 5
}

TEST(StreamLimiter, AQuietStreamGetsTheNewPlansBurstRightAfterAnUpgrade) {
  const auto start = std::chrono::nanoseconds(1s);
  StreamLimiter limiter({.messages_per_second = 100, .audio_bytes_per_second = 32768}, defaults(),
                        start);
  const auto upgraded = start + 10s;
  limiter.set_rates({.messages_per_second = 1000, .audio_bytes_per_second = 131072}, upgraded);
  int forwarded = 0;
  for (int i = 0; i < 1500; ++i) {
    forwarded += limiter.decide(0, upgraded).action == Action::forward;
  }
  EXPECT_EQ(forwarded, 1000);
  EXPECT_EQ(limiter.decide(131072, upgraded + 1s).action, Action::forward);  // audio: 128 KiB
}

}  // namespace
}  // namespace gw::stream

#include "stream/stream_limiter.h"

#include <algorithm>

namespace gw::stream {

StreamLimiter::StreamLimiter(Rates rates, const config::WebSocketConfig& config, Nanos now)
    : rates_(rates),
      messages_action_(config.messages_over_limit),
      audio_action_(config.audio_over_limit),
      close_after_(config.close_after_violation),
      messages_(rates.messages_per_second, now),
      audio_(rates.audio_bytes_per_second, now) {}

void StreamLimiter::set_rates(Rates rates, Nanos now) {
  rates_ = rates;
  messages_.set_rate(rates.messages_per_second, now);
  audio_.set_rate(rates.audio_bytes_per_second, now);
}

StreamLimiter::Verdict StreamLimiter::decide(std::int64_t audio_bytes, Nanos now) {
  const Nanos message_wait = messages_.wait_for(1, now);
  const Nanos audio_wait = audio_bytes > 0 ? audio_.wait_for(audio_bytes, now) : Nanos{0};

  std::string_view rejected_by;
  Nanos rejected_wait{0};
  if (message_wait > Nanos{0} && messages_action_ == config::OverLimitAction::reject) {
    rejected_by = "messages";
    rejected_wait = message_wait;
  } else if (audio_wait > Nanos{0} && audio_action_ == config::OverLimitAction::reject) {
    rejected_by = "audio";
    rejected_wait = audio_wait;
  }

  if (!rejected_by.empty()) {
    // A run of violations lasts while drops keep coming less than a second apart; messages
    // let through in between (the bucket refilling) do not end it.
    if (!violating_since_ || now - *last_drop_ > kForgiveAfter) violating_since_ = now;
    last_drop_ = now;
    Verdict verdict{.action = Verdict::Action::drop, .limit = rejected_by};
    if (now - *violating_since_ >= close_after_) {
      verdict.action = Verdict::Action::close;
      return verdict;
    }
    if (!last_notice_ || now - *last_notice_ >= kNotifyInterval) {
      verdict.notify = true;
      last_notice_ = now;
    }
    const Nanos wait = std::min(rejected_wait, Nanos{std::chrono::hours(24)});
    verdict.retry_after_ms =
        std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    return verdict;
  }

  const Nanos wait = std::max(message_wait, audio_wait);
  if (wait > Nanos{0}) {
    return Verdict{.action = Verdict::Action::wait,
                   .wait = wait,
                   .limit = message_wait >= audio_wait ? "messages" : "audio"};
  }
  messages_.take(1, now);
  if (audio_bytes > 0) audio_.take(audio_bytes, now);
  return Verdict{};
}

}  // namespace gw::stream

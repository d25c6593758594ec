// The per-stream limits of a session's WebSocket (SPEC §5), for client -> upstream data
// messages: a messages-per-second bucket and an audio-bytes-per-second bucket (one second
// of burst each, starting full), each either rejecting or shaping what is over it.
//
// Decides only: the relay asks decide() for each message and then either waits
// (shape), drops it and maybe tells the client (reject, at most one notice per 100 ms), or
// closes the stream (violations sustained for close_after_violation: drops keep coming
// less than a second apart). Pure: time comes in as steady nanoseconds.
// Not thread-safe: one per stream, used by that stream's reading coroutine only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "config/gateway_config.h"
#include "limiter/token_bucket.h"

namespace gw::stream {

class StreamLimiter {
 public:
  using Nanos = std::chrono::nanoseconds;

  struct Rates {
    std::int64_t messages_per_second = 0;
    std::int64_t audio_bytes_per_second = 0;
  };

  struct Verdict {
    enum class Action { forward, wait, drop, close } action = Action::forward;
    Nanos wait{0};        // Action::wait: ask again after this long
    bool notify = false;  // Action::drop: send the client an error frame now
    std::int64_t retry_after_ms = 0;
    std::string_view limit;  // "messages" or "audio" when over a limit
  };

  StreamLimiter(Rates rates, const config::WebSocketConfig& config, Nanos now);

  // What to do with a message carrying `audio_bytes` of audio, at `now`. A forward
  // verdict has charged both buckets; wait, drop and close charge nothing.
  Verdict decide(std::int64_t audio_bytes, Nanos now);

  // The account's plan changed: new rates from now on, tokens kept.
  void set_rates(Rates rates, Nanos now);
  Rates rates() const noexcept { return rates_; }

 private:
  static constexpr Nanos kNotifyInterval = std::chrono::milliseconds(100);
  static constexpr Nanos kForgiveAfter = std::chrono::seconds(1);

  Rates rates_;
  config::OverLimitAction messages_action_;
  config::OverLimitAction audio_action_;
  Nanos close_after_;
  limiter::TokenBucket messages_;
  limiter::TokenBucket audio_;
  std::optional<Nanos> violating_since_;  // first drop of the current run of violations
  std::optional<Nanos> last_drop_;
  std::optional<Nanos> last_notice_;
};

}  // namespace gw::stream

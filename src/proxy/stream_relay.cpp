#include "proxy/stream_relay.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/json_text.h"
#include "proxy/audio_meter.h"
#include "proxy/caller_lookup.h"
#include "proxy/store_await.h"
#include "proxy/worker.h"

namespace gw::proxy {
namespace {

namespace websocket = boost::beast::websocket;
using Direction = metrics::GatewayMetrics::StreamDirection;
using Outcome = metrics::GatewayMetrics::StreamOutcome;

std::chrono::nanoseconds steady_now() {
  return std::chrono::steady_clock::now().time_since_epoch();
}

}  // namespace

StreamRelay::StreamRelay(Worker& worker, WebSocket& client, WebSocket& upstream,
                         std::shared_ptr<const Caller> caller, std::string session_id)
    : worker_(worker),
      client_(client),
      upstream_(upstream),
      caller_(std::move(caller)),
      session_id_(std::move(session_id)),
      limiter_(rates_for(caller_.get()), worker.deps().policy.current()->config().websocket,
               steady_now()),
      max_message_bytes_(worker.deps().policy.current()->config().websocket.max_message_bytes),
      store_version_(worker.callers().store_version()),
      policy_version_(worker.deps().policy.version()),
      refreshed_at_(steady_now()),
      renewed_at_(std::chrono::steady_clock::now()),
      client_write_released_(worker.io()) {}

StreamLimiter::Rates StreamRelay::rates_for(const Caller* caller) const {
  if (caller != nullptr) {
    return {caller->limits.ws_messages_per_second, caller->limits.ws_audio_bytes_per_second};
  }
  const auto policy = worker_.deps().policy.current();
  const policy::PlanLimits* free = policy->plan("free");
  return free ? StreamLimiter::Rates{free->ws_messages_per_second, free->ws_audio_bytes_per_second}
              : StreamLimiter::Rates{};
}

net::awaitable<void> StreamRelay::run() {
  using namespace boost::asio::experimental::awaitable_operators;
  worker_.deps().metrics.streams_delta(1);
  co_await (client_to_upstream() && upstream_to_client());
  worker_.deps().metrics.streams_delta(-1);
}

// A plan change (or a new configuration) reaches a live stream within kRefreshEvery.
bool StreamRelay::refresh_due(std::chrono::nanoseconds now) {
  if (now - refreshed_at_ < kRefreshEvery || caller_ == nullptr) return false;
  refreshed_at_ = now;
  const std::uint64_t store_version = worker_.callers().store_version();
  const std::uint64_t policy_version = worker_.deps().policy.version();
  if (store_version == store_version_ && policy_version == policy_version_) return false;
  store_version_ = store_version;
  policy_version_ = policy_version;
  return true;
}

net::awaitable<void> StreamRelay::refresh_limits(std::chrono::nanoseconds now) {
  const std::uint64_t policy_version = worker_.deps().policy.version();
  auto fresh = co_await resolve_account(worker_.callers(), worker_.deps().accounts,
                                        caller_->account_id, caller_->environment,
                                        worker_.deps().policy.current(), policy_version);
  if (fresh && *fresh) {
    caller_ = std::move(*fresh);
    limiter_.set_rates(rates_for(caller_.get()), now);
  }
}

net::awaitable<void> StreamRelay::on_activity() {
  const auto now = std::chrono::steady_clock::now();
  if (now - renewed_at_ < kRenewEvery) co_return;
  renewed_at_ = now;
  const ProxyDeps& deps = worker_.deps();
  const auto lease = deps.policy.current()->config().sessions.lease;
  auto renewed = co_await async_session<bool>([&](auto executor, auto done) {
    deps.sessions.renew(session_id_, deps.clock.now(), lease, executor, std::move(done));
  });
  if (!renewed)
    spdlog::warn("session {}: lease not renewed: {}", session_id_, renewed.error().detail);
}

net::awaitable<void> StreamRelay::client_to_upstream() {
  const ProxyDeps& deps = worker_.deps();
  beast::flat_buffer buffer;
  net::steady_timer shaping(worker_.io());
  for (;;) {
    // A message is read piece by piece so that one over websocket.max_message_bytes ends
    // in a proper close handshake (1009). Beast's own limit tears the connection down at
    // once, and the client, still sending, gets a reset instead of the close frame.
    beast::error_code ec;
    do {
      auto [read_ec, bytes] = co_await client_.async_read_some(buffer, kReadPiece, use_nothrow);
      ec = read_ec;
    } while (!ec && !client_.is_message_done() && buffer.size() <= max_message_bytes_);
    if (ec) {
      // The client closed (its code and reason go on) or the connection failed.
      const websocket::close_reason reason =
          ec == websocket::error::closed
              ? client_.reason()
              : websocket::close_reason(websocket::close_code::going_away);
      co_await upstream_.async_close(reason, use_nothrow);
      co_return;
    }
    if (buffer.size() > max_message_bytes_) {
      co_await close_client(
          websocket::close_reason(websocket::close_code::too_big, "message too big"));
      co_await upstream_.async_close(websocket::close_reason(websocket::close_code::going_away),
                                     use_nothrow);
      co_return;
    }
    const bool binary = client_.got_binary();
    co_await on_activity();

    std::int64_t audio = 0;
    if (binary) {
      audio = static_cast<std::int64_t>(buffer.size());
    } else {
      buffer.prepare(kAudioMeterPadding);  // simdjson reads past the end; before data()
      const auto data = buffer.data();
      audio = static_cast<std::int64_t>(
          audio_bytes(false, {static_cast<const char*>(data.data()), data.size()}));
    }

    bool forward = false;
    for (;;) {
      const auto now = steady_now();
      if (refresh_due(now)) co_await refresh_limits(now);
      const StreamLimiter::Verdict verdict = limiter_.decide(audio, now);
      if (verdict.action == StreamLimiter::Verdict::Action::forward) {
        forward = true;
        break;
      }
      if (verdict.action == StreamLimiter::Verdict::Action::wait) {
        // Shaping: nothing more is read from the client until the bucket allows this
        // message, so TCP pushes back on the client; nothing is lost.
        deps.metrics.stream_message(Direction::client_to_upstream, Outcome::shaped);
        shaping.expires_after(verdict.wait);
        co_await shaping.async_wait(use_nothrow);
        continue;
      }
      if (verdict.action == StreamLimiter::Verdict::Action::drop) {
        deps.metrics.stream_message(Direction::client_to_upstream, Outcome::rejected);
        if (audio > 0) deps.metrics.stream_audio_bytes(Outcome::rejected, audio);
        if (verdict.notify) co_await send_rate_limit_error(verdict);
        break;
      }
      // Sustained violations: the stream ends with 1008 (policy violation).
      spdlog::info("session {}: closing its stream after sustained {} rate violations", session_id_,
                   verdict.limit);
      co_await close_client(
          websocket::close_reason(websocket::close_code::policy_error, "rate limit exceeded"));
      co_await upstream_.async_close(websocket::close_reason(websocket::close_code::going_away),
                                     use_nothrow);
      co_return;
    }

    if (forward) {
      upstream_.binary(binary);
      auto [wec, written] = co_await upstream_.async_write(buffer.data(), use_nothrow);
      if (wec) {
        co_await close_client(websocket::close_reason(websocket::close_code::going_away));
        co_return;
      }
      deps.metrics.stream_message(Direction::client_to_upstream, Outcome::relayed);
      if (audio > 0) deps.metrics.stream_audio_bytes(Outcome::relayed, audio);
    }
    buffer.consume(buffer.size());
  }
}

net::awaitable<void> StreamRelay::upstream_to_client() {
  const ProxyDeps& deps = worker_.deps();
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, bytes] = co_await upstream_.async_read(buffer, use_nothrow);
    if (ec) {
      const websocket::close_reason reason =
          ec == websocket::error::closed
              ? upstream_.reason()
              : websocket::close_reason(websocket::close_code::going_away);
      co_await close_client(reason);
      co_return;
    }
    co_await lock_client_writes();
    client_.binary(upstream_.got_binary());
    auto [wec, written] = co_await client_.async_write(buffer.data(), use_nothrow);
    unlock_client_writes();
    buffer.consume(buffer.size());
    if (wec) {
      co_await upstream_.async_close(websocket::close_reason(websocket::close_code::going_away),
                                     use_nothrow);
      co_return;
    }
    deps.metrics.stream_message(Direction::upstream_to_client, Outcome::relayed);
  }
}

net::awaitable<void> StreamRelay::send_rate_limit_error(const StreamLimiter::Verdict& verdict) {
  const auto rates = limiter_.rates();
  const std::string message =
      verdict.limit == "messages"
          ? fmt::format("WebSocket message rate limit exceeded ({} messages per second).",
                        rates.messages_per_second)
          : fmt::format("WebSocket audio rate limit exceeded ({} bytes per second).",
                        rates.audio_bytes_per_second);
  std::string frame = R"({"type":"error","error":{"type":"rate_limit_error",)"
                      R"("code":"rate_limit_exceeded","message":)";
  core::append_json_string(frame, message);
  frame += fmt::format(R"(,"retry_after_ms":{}}}}})", verdict.retry_after_ms);
  co_await lock_client_writes();
  client_.text(true);
  co_await client_.async_write(net::buffer(frame), use_nothrow);  // a lost notice is fine
  unlock_client_writes();
}

net::awaitable<void> StreamRelay::close_client(websocket::close_reason reason) {
  co_await lock_client_writes();
  if (client_.is_open()) {
    co_await client_.async_close(reason, use_nothrow);
  }
  unlock_client_writes();
}

net::awaitable<void> StreamRelay::lock_client_writes() {
  while (client_write_busy_) {
    client_write_released_.expires_at(net::steady_timer::time_point::max());
    co_await client_write_released_.async_wait(use_nothrow);  // cancelled = released
  }
  client_write_busy_ = true;
}

void StreamRelay::unlock_client_writes() {
  client_write_busy_ = false;
  client_write_released_.cancel();
}

}  // namespace gw::proxy

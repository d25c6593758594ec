#include "stream/stream_relay.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/json_text.h"
#include "store/store_await.h"
#include "stream/audio_meter.h"

namespace gw::stream {
namespace {

namespace websocket = boost::beast::websocket;
using Direction = metrics::GatewayMetrics::StreamDirection;
using Outcome = metrics::GatewayMetrics::StreamOutcome;

// Gives a message's charge back to the budget at the end of its loop turn.
struct ReleaseOnExit {
  MessageBudget& budget;
  const std::uint64_t& charged;
  ~ReleaseOnExit() {
    if (charged > 0) budget.release(charged);
  }
};

}  // namespace

StreamRelay::StreamRelay(const StreamDeps& deps, WebSocket& client, WebSocket& upstream,
                         std::shared_ptr<const decision::Caller> caller, std::string session_id)
    : deps_(deps),
      client_(client),
      upstream_(upstream),
      caller_(std::move(caller)),
      session_id_(std::move(session_id)),
      limiter_(rates_for(caller_.get()), deps.running.current()->config().websocket,
               deps_.clock.steady_now().time_since_epoch()),
      max_message_bytes_(deps.running.current()->config().websocket.max_message_bytes),
      max_buffered_bytes_(deps.running.current()->config().websocket.max_buffered_bytes),
      store_version_(deps.decider.callers().store_version()),
      policy_version_(deps.running.version()),
      refreshed_at_(deps_.clock.steady_now().time_since_epoch()),
      renewed_at_(deps_.clock.steady_now().time_since_epoch()),
      idle_timer_(deps.io),
      client_write_released_(deps.io) {
  // Masking keys need not be unpredictable toward our own upstream; the default ChaCha
  // generator costs a keystream block per frame.
  upstream_.secure_prng(false);
  // No idle timeout from Beast (it re-arms a timer, a timerfd syscall, on every read):
  // keep_alive() does that job. The handshake timeout still bounds close handshakes.
  websocket::stream_base::timeout timeouts =
      websocket::stream_base::timeout::suggested(boost::beast::role_type::server);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  client_.set_option(timeouts);
  deps_.open.insert(this);
}

StreamRelay::~StreamRelay() { deps_.open.erase(this); }

void StreamRelay::go_away() {
  if (going_away_ || !relaying_) return;
  going_away_ = true;
  idle_timer_.cancel();  // keep_alive() does the closing, inside run()'s lifetime
}

net::awaitable<void> StreamRelay::close_both_going_away() {
  spdlog::info("session {}: gateway shutting down, closing its stream with 1001", session_id_);
  const websocket::close_reason reason(websocket::close_code::going_away, "gateway restarting");
  co_await close_client(reason);
  co_await close_upstream(reason);
}

StreamLimiter::Rates StreamRelay::rates_for(const decision::Caller* caller) const {
  if (caller != nullptr) {
    return {caller->limits.ws_messages_per_second, caller->limits.ws_audio_bytes_per_second};
  }
  const auto running = deps_.running.current();
  const policy::PlanLimits* free = running->policy().plan("free");
  return free ? StreamLimiter::Rates{free->ws_messages_per_second, free->ws_audio_bytes_per_second}
              : StreamLimiter::Rates{};
}

net::awaitable<void> StreamRelay::run() {
  using namespace boost::asio::experimental::awaitable_operators;
  deps_.metrics.streams_delta(1);
  RelayTransport::pair(client_.next_layer(), upstream_.next_layer());
  RelayTransport::pair(upstream_.next_layer(), client_.next_layer());
  co_await (relay_both() && keep_alive());
  RelayTransport::unpair(client_.next_layer(), upstream_.next_layer());
  RelayTransport::unpair(upstream_.next_layer(), client_.next_layer());
  deps_.metrics.streams_delta(-1);
}

net::awaitable<void> StreamRelay::relay_both() {
  using namespace boost::asio::experimental::awaitable_operators;
  co_await (client_to_upstream() && upstream_to_client());
  relaying_ = false;
  idle_timer_.cancel();
}

// Pings a client silent for kIdlePing, drops one silent for twice that (a peer gone
// without a FIN would otherwise hold its stream forever).
net::awaitable<void> StreamRelay::keep_alive() {
  std::uint64_t seen = client_.next_layer().bytes_read();
  bool pinged = false;
  while (relaying_) {
    // Checked before each wait too: go_away() may come while a ping is being sent.
    if (!going_away_) {
      idle_timer_.expires_after(kIdlePing);
      co_await idle_timer_.async_wait(use_nothrow);
    }
    if (!relaying_) break;
    if (going_away_) {
      co_await close_both_going_away();
      break;
    }
    const std::uint64_t read = client_.next_layer().bytes_read();
    if (read != seen) {
      seen = read;
      pinged = false;
      continue;
    }
    if (pinged) {
      spdlog::info("session {}: client silent for {} s, closing its stream", session_id_,
                   2 * kIdlePing.count());
      beast::close_socket(beast::get_lowest_layer(client_));
      break;
    }
    pinged = true;
    co_await lock_client_writes();
    co_await client_.async_ping({}, use_nothrow);
    unlock_client_writes();
  }
}

// A plan change (or a new configuration) reaches a live stream within kRefreshEvery.
bool StreamRelay::refresh_due(std::chrono::nanoseconds now) {
  if (now - refreshed_at_ < kRefreshEvery || caller_ == nullptr) return false;
  refreshed_at_ = now;
  const std::uint64_t store_version = deps_.decider.callers().store_version();
  const std::uint64_t policy_version = deps_.running.version();
  if (store_version == store_version_ && policy_version == policy_version_) return false;
  store_version_ = store_version;
  policy_version_ = policy_version;
  return true;
}

net::awaitable<void> StreamRelay::refresh_limits(std::chrono::nanoseconds now) {
  const std::uint64_t version = deps_.running.version();
  const auto running = deps_.running.current();
  decision::Identity fresh = co_await deps_.decider.identify_account(
      caller_->account_id, caller_->environment,
      decision::DecisionContext{running->shared_policy(), version, running->decision()});
  if (fresh.caller) {  // else gone, or the store failed: the limits in force stay
    caller_ = std::move(fresh.caller);
    limiter_.set_rates(rates_for(caller_.get()), now);
  }
}

net::awaitable<void> StreamRelay::renew_lease() {
  const StreamDeps& deps = deps_;
  const auto lease = deps.running.current()->config().sessions.lease;
  auto renewed = co_await store::async_session<bool>([&](auto executor, auto done) {
    deps.sessions.renew(session_id_, deps.clock.now(), lease, executor, std::move(done));
  });
  if (!renewed)
    spdlog::warn("session {}: lease not renewed: {}", session_id_, renewed.error().detail);
}

net::awaitable<void> StreamRelay::client_to_upstream() {
  const StreamDeps& deps = deps_;
  RelayTransport& upstream_transport = upstream_.next_layer();
  beast::flat_buffer buffer;
  net::steady_timer shaping(deps_.io);
  for (;;) {
    // A message is read piece by piece so that one over websocket.max_message_bytes ends
    // in a proper close handshake (1009). Beast's own limit tears the connection down at
    // once, and the client, still sending, gets a reset instead of the close frame.
    beast::error_code ec;
    std::uint64_t charged = 0;  // of the message budget, for this message
    bool over_budget = false;
    do {
      auto [read_ec, bytes] = co_await client_.async_read_some(buffer, kReadPiece, use_nothrow);
      ec = read_ec;
      over_budget = !ec && !charge_message_budget(buffer, charged);
    } while (!ec && !over_budget && !client_.is_message_done() &&
             buffer.size() <= max_message_bytes_);
    // Given back when this message is done with, however it ends.
    const ReleaseOnExit release_charge{deps_.budget, charged};
    // Messages relayed so far leave before any wait below but the next read (see
    // RelayTransport: they wait in its buffer while the client's bytes are being read).
    if (ec) {
      // The client closed (its code and reason go on) or the connection failed.
      const websocket::close_reason reason =
          ec == websocket::error::closed
              ? client_.reason()
              : websocket::close_reason(websocket::close_code::going_away);
      co_await close_upstream(reason);
      co_return;
    }
    if (over_budget) {
      deps.metrics.refused("max_buffered_bytes");
      spdlog::warn(
          "session {}: closing its stream: its unfinished message would overrun "
          "websocket.max_buffered_bytes ({} bytes for all streams)",
          session_id_, max_buffered_bytes_);
      unbatch_to_upstream();
      co_await close_client(
          websocket::close_reason(websocket::close_code::try_again_later, "gateway busy"));
      co_await close_upstream(websocket::close_reason(websocket::close_code::going_away));
      co_return;
    }
    if (buffer.size() > max_message_bytes_) {
      unbatch_to_upstream();
      co_await close_client(
          websocket::close_reason(websocket::close_code::too_big, "message too big"));
      co_await close_upstream(websocket::close_reason(websocket::close_code::going_away));
      co_return;
    }
    const bool binary = client_.got_binary();
    auto now = deps_.clock.steady_now().time_since_epoch();  // one clock read per message
    if (now - renewed_at_ >= kRenewEvery) {
      renewed_at_ = now;
      upstream_transport.flush();
      co_await renew_lease();
    }

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
      if (refresh_due(now)) {
        upstream_transport.flush();
        co_await refresh_limits(now);
      }
      const StreamLimiter::Verdict verdict = limiter_.decide(audio, now);
      if (verdict.action == StreamLimiter::Verdict::Action::forward) {
        forward = true;
        break;
      }
      if (verdict.action == StreamLimiter::Verdict::Action::wait) {
        // Shaping: nothing more is read from the client until the bucket allows this
        // message, so TCP pushes back on the client; nothing is lost.
        deps.metrics.stream_message(Direction::client_to_upstream, Outcome::shaped);
        upstream_transport.flush();
        shaping.expires_after(verdict.wait);
        co_await shaping.async_wait(use_nothrow);
        now = deps_.clock.steady_now().time_since_epoch();
        continue;
      }
      if (verdict.action == StreamLimiter::Verdict::Action::drop) {
        deps.metrics.stream_message(Direction::client_to_upstream, Outcome::rejected);
        if (audio > 0) deps.metrics.stream_audio_bytes(Outcome::rejected, audio);
        if (verdict.notify) {
          upstream_transport.flush();
          co_await send_rate_limit_error(verdict);
        }
        break;
      }
      // Sustained violations: the stream ends with 1008 (policy violation).
      spdlog::info("session {}: closing its stream after sustained {} rate violations", session_id_,
                   verdict.limit);
      unbatch_to_upstream();
      co_await close_client(
          websocket::close_reason(websocket::close_code::policy_error, "rate limit exceeded"));
      co_await close_upstream(websocket::close_reason(websocket::close_code::going_away));
      co_return;
    }

    if (forward) {
      // Written as one frame straight into the transport's buffer: no asynchronous
      // operation unless the buffer is full (back-pressure).
      beast::error_code wec;
      const net::const_buffer data = buffer.data();
      if (!upstream_.is_open()) {
        wec = net::error::not_connected;  // closing: nothing may follow the close frame
      } else if (!upstream_transport.try_write_frame(binary, /*masked=*/true, data)) {
        auto [frame_ec] = co_await upstream_transport.async_write_frame(binary, /*masked=*/true,
                                                                        data, use_nothrow);
        wec = frame_ec;
      }
      if (wec) {
        co_await close_client(websocket::close_reason(websocket::close_code::going_away));
        co_return;
      }
      deps.metrics.stream_message(Direction::client_to_upstream, Outcome::relayed);
      if (audio > 0) deps.metrics.stream_audio_bytes(Outcome::relayed, audio);
    }
    buffer.consume(buffer.size());
    // A large message's capacity is not kept for the rest of the stream's life.
    if (buffer.capacity() > MessageBudget::kFreeBytes) buffer.shrink_to_fit();
  }
}

net::awaitable<void> StreamRelay::upstream_to_client() {
  const StreamDeps& deps = deps_;
  RelayTransport& client_transport = client_.next_layer();
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
    // As in client_to_upstream: one frame into the transport, without the write lock
    // when nobody holds it (a synchronous write cannot interleave with anyone's).
    const bool binary = upstream_.got_binary();
    const net::const_buffer data = buffer.data();
    beast::error_code wec;
    if (client_write_busy_ || !client_.is_open() ||
        !client_transport.try_write_frame(binary, /*masked=*/false, data)) {
      co_await lock_client_writes();
      if (!client_.is_open()) {
        wec = net::error::not_connected;
      } else {
        auto [frame_ec] = co_await client_transport.async_write_frame(binary, /*masked=*/false,
                                                                      data, use_nothrow);
        wec = frame_ec;
      }
      unlock_client_writes();
    }
    buffer.consume(buffer.size());
    if (wec) {
      co_await close_upstream(websocket::close_reason(websocket::close_code::going_away));
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

// A close frame must not wait in a transport's buffer for more data: the peer's answer
// to it is awaited next.
void StreamRelay::unbatch_to_upstream() {
  RelayTransport::unpair(client_.next_layer(), upstream_.next_layer());
  upstream_.next_layer().flush();
}

void StreamRelay::unbatch_to_client() {
  RelayTransport::unpair(upstream_.next_layer(), client_.next_layer());
  client_.next_layer().flush();
}

net::awaitable<void> StreamRelay::close_client(websocket::close_reason reason) {
  unbatch_to_client();
  co_await lock_client_writes();
  if (client_.is_open()) {
    co_await client_.async_close(reason, use_nothrow);
  }
  unlock_client_writes();
}

net::awaitable<void> StreamRelay::close_upstream(websocket::close_reason reason) {
  if (upstream_closing_) co_return;
  upstream_closing_ = true;
  unbatch_to_upstream();
  co_await upstream_.async_close(reason, use_nothrow);
}

bool StreamRelay::charge_message_budget(const beast::flat_buffer& buffer, std::uint64_t& charged) {
  // Capacity, not size: what the buffer holds is what the process pays for.
  const std::uint64_t held = buffer.capacity();
  const std::uint64_t due = held > MessageBudget::kFreeBytes ? held - MessageBudget::kFreeBytes : 0;
  if (due <= charged) return true;
  if (!deps_.budget.try_reserve(due - charged, max_buffered_bytes_)) return false;
  charged = due;
  return true;
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

}  // namespace gw::stream

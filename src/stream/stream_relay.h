// One session stream (SPEC §5) once both WebSocket handshakes are done: client -> upstream
// data messages pass through the StreamLimiter (reject with an error frame, shape by not
// reading, or close 1008), upstream -> client messages pass unlimited. One read loop per
// direction and at most one write in flight per side, so a slow reader stops the other
// side's reads (back-pressure) and memory per stream is bounded by one message per
// direction (websocket.max_message_bytes; larger client messages close with 1009).
// Close handshakes are relayed with their code and reason. Stream activity renews the
// session's lease; a plan change reaches the stream's limits within a second.
//
// Cost per message (the hot path of issue 5): both sockets go through RelayTransport
// (reads in large pieces, writes in batches); one clock read per message; no timer per
// read (Beast's idle timeout re-arms one on every read, so keep_alive() replaces it).
//
// Unfinished client messages beyond their first 64 KiB draw on the listener's
// MessageBudget (websocket.max_buffered_bytes): one that would overrun it closes the
// stream with 1013 (try again later).
//
// Drain: go_away() (the worker, once shutdown_grace_ms is over) closes the stream with
// 1001 (going away) toward the client and the upstream, each with a close handshake: a
// client can tell a deploy from a crash and reconnect (to another instance).
//
// Lives on its connection's worker thread (thread-safety: none); run() returns when both directions
// are done.
#pragma once

#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/beast.h"
#include "decision/caller.h"
#include "stream/relay_transport.h"
#include "stream/stream_deps.h"
#include "stream/stream_limiter.h"

namespace gw::stream {

class StreamRelay {
 public:
  using WebSocket = boost::beast::websocket::stream<RelayTransport&>;

  // `caller` is the session's creator, or nullptr for a session the gateway never saw
  // (limited with the free plan).
  StreamRelay(const StreamDeps& deps, WebSocket& client, WebSocket& upstream,
              std::shared_ptr<const decision::Caller> caller, std::string session_id);
  StreamRelay(const StreamRelay&) = delete;
  StreamRelay& operator=(const StreamRelay&) = delete;

  ~StreamRelay();

  net::awaitable<void> run();

  // Closes the stream with 1001 toward both sides. Worker thread only; idempotent.
  void go_away();

 private:
  net::awaitable<void> relay_both();
  net::awaitable<void> client_to_upstream();
  net::awaitable<void> upstream_to_client();
  net::awaitable<void> keep_alive();
  net::awaitable<void> send_rate_limit_error(const StreamLimiter::Verdict& verdict);
  net::awaitable<void> close_client(boost::beast::websocket::close_reason reason);
  // Sends the upstream's close frame (after what is batched), once whoever asks.
  net::awaitable<void> close_upstream(boost::beast::websocket::close_reason reason);
  net::awaitable<void> close_both_going_away();
  // Charges the budget for what `buffer` holds beyond MessageBudget::kFreeBytes, on top
  // of the `charged` bytes already taken; false if the budget cannot take it.
  bool charge_message_budget(const beast::flat_buffer& buffer, std::uint64_t& charged);
  net::awaitable<void> lock_client_writes();
  void unbatch_to_upstream();
  void unbatch_to_client();
  void unlock_client_writes();
  net::awaitable<void> renew_lease();
  StreamLimiter::Rates rates_for(const decision::Caller* caller) const;
  bool refresh_due(std::chrono::nanoseconds now);
  net::awaitable<void> refresh_limits(std::chrono::nanoseconds now);

  static constexpr auto kRenewEvery = std::chrono::seconds(30);
  static constexpr auto kRefreshEvery = std::chrono::seconds(1);
  // A client silent this long is pinged, silent twice as long dropped (Beast's suggested
  // server idle timeout, 300 s with keep-alive pings).
  static constexpr auto kIdlePing = std::chrono::seconds(150);
  static constexpr std::size_t kReadPiece = 64 * 1024;

  StreamDeps deps_;
  WebSocket& client_;
  WebSocket& upstream_;
  std::shared_ptr<const decision::Caller> caller_;
  std::string session_id_;
  StreamLimiter limiter_;
  std::uint64_t max_message_bytes_;
  std::uint64_t max_buffered_bytes_;
  std::uint64_t store_version_;
  std::uint64_t policy_version_;
  std::chrono::nanoseconds refreshed_at_;
  std::chrono::nanoseconds renewed_at_;
  bool relaying_ = true;           // until both directions are done
  bool going_away_ = false;        // go_away() was called
  bool upstream_closing_ = false;  // close_upstream() has sent (or is sending) the close
  net::steady_timer idle_timer_;

  // Client writes come from both loops (relayed messages, error frames, closes): one at
  // a time, waiters parked on a timer that unlock_client_writes() cancels.
  bool client_write_busy_ = false;
  net::steady_timer client_write_released_;
};

}  // namespace gw::stream

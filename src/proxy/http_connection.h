// One downstream HTTP/1.1 connection, served by one coroutine on its worker's thread.
// Requests are handled one at a time, in the order they arrive (pipelined requests wait
// in the read buffer). The request path reads top to bottom in http_connection.cpp: read
// the head, validate it (request_validation.h), ask the worker's Decider who is calling
// and whether the limits admit it (decision/decider.h), then answer or forward. The
// member functions are defined by concept:
//   http_connection.cpp   the connection loop, deadlines, one request's handling;
//   gateway_answers.cpp   answers of the gateway's own (errors, 429, GET /v1/rate_limits);
//   upstream_forward.cpp  forwarding to the upstream and relaying its answer;
//   session_routes.cpp    the session routes' slots (SessionSlot owns one);
//   stream_handoff.cpp    a session stream's two WebSocket handshakes, then StreamRelay.
// Thread-safety: none; used only from its worker's thread (the worker's deadline sweep
// and drain run there too).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/running_config.h"
#include "core/beast.h"
#include "decision/decider.h"
#include "decision/decision.h"
#include "proxy/connection_limits.h"
#include "proxy/deadline.h"
#include "proxy/head_writer.h"
#include "proxy/session_slot.h"
#include "proxy/upstream_pool.h"
#include "proxy/upstream_request_head.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::proxy {

class Worker;

class HttpConnection {
 public:
  // `admission` holds the connection's place under the connection caps for its life.
  HttpConnection(Worker& worker, tcp::socket socket, const tcp::endpoint& peer,
                 ConnectionLimits::Ticket admission);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  net::awaitable<void> run();

  // Called by the worker when it drains: an idle connection is closed at once.
  void close_if_idle();

  // Called by the worker's deadline sweep: cancels the connection's I/O (and its upstream
  // exchange's) once the deadline of its current phase has passed.
  void expire_if_due(core::SteadyTime now);

 private:
  using RequestParser = http::request_parser<http::buffer_body>;

  // What one request carries through its handling.
  struct Exchange {
    RequestParser* parser = nullptr;
    std::string request_id;
    bool closing = false;      // the connection closes after the answer, whatever the parser says
    UpstreamRequest upstream;  // what the upstream is told: Host, framing, credential
    core::IpBytes client{};    // the client (the peer, or who a trusted proxy names)
    std::string forwarded_chain;  // X-Forwarded-For behind a trusted proxy (upstream.forwarded_for)
    core::UnixNanos now{};
    std::shared_ptr<const decision::Caller> caller;
    decision::LimitSet limits;
    decision::Verdict verdict;           // verdict.decided: the answer carries X-RateLimit-*
    std::optional<SessionSlot> slot;     // session creation: the slot asked for
    bool session_limit_refused = false;  // 429: no slot free (its own X-RateLimit-*)
    std::string ending_session;          // the session POST /v1/sessions/{id}/end ends
    int upstream_status = 0;  // forward(): the upstream's status once relayed whole; 0 otherwise
  };

  // What relaying one message came to: a failure reading its source or writing it on,
  // and how many body bytes were taken from the source.
  struct RelayResult {
    beast::error_code read_error;
    beast::error_code write_error;
    std::uint64_t body_bytes = 0;
  };

  net::awaitable<bool> wait_for_request();
  void identify_client(Exchange& exchange, const http::fields& fields);
  net::awaitable<void> lingering_close();
  net::awaitable<bool> handle(RequestParser& parser, bool obs_fold);
  net::awaitable<bool> refuse(Exchange& exchange, decision::Refusal refusal);
  net::awaitable<bool> answer_rate_limits(Exchange& exchange);
  net::awaitable<bool> forward(Exchange& exchange);
  void write_client_response_head(Exchange& exchange, const http::response_header<>& res,
                                  bool keep_alive, HeadBuffer& out);
  template <class Parser>
  net::awaitable<RelayResult> relay_message(tcp::socket& in, beast::flat_buffer& in_buffer,
                                            Parser& parser, std::chrono::milliseconds read_timeout,
                                            tcp::socket& out,
                                            std::chrono::milliseconds write_timeout, bool chunked,
                                            const HeadBuffer& head, std::string* capture);

  // Answers of the gateway's own, in the Kallglot error shape; each returns keep-alive.
  net::awaitable<bool> respond(Exchange& exchange, http::status status, std::string_view json_body,
                               std::optional<std::int64_t> retry_after = std::nullopt);
  net::awaitable<bool> respond_error(Exchange& exchange, http::status status, std::string_view type,
                                     std::string_view code, std::string_view message,
                                     std::optional<std::int64_t> retry_after = std::nullopt);
  // A refusal of the decision: its status, error body and Retry-After.
  net::awaitable<bool> respond_refusal(Exchange& exchange, decision::Refusal refusal);
  net::awaitable<bool> respond_upstream_failure(Exchange& exchange, bool timeout);
  void write_gateway_fields(Exchange& exchange, HeadWriter& head);
  void write_connection_field(Exchange& exchange, HeadWriter& head, bool keep_alive);
  net::awaitable<bool> discard_request_body(Exchange& exchange);
  net::awaitable<bool> read_whole_body(UpstreamConnection& upstream,
                                       http::response_parser<http::buffer_body>& rp,
                                       std::string& body);

  // Concurrent-session slots (SPEC §4).
  static bool creating_session(const Exchange& exchange) {
    return exchange.slot && exchange.slot->held();
  }
  // False when the answer was written (the store failed closed).
  net::awaitable<bool> acquire_session_slot(Exchange& exchange);
  net::awaitable<bool> respond_no_session_slot(Exchange& exchange);
  net::awaitable<void> settle_session_slot(Exchange& exchange, std::string_view response_body);
  net::awaitable<void> cancel_session_slot(Exchange& exchange);
  net::awaitable<void> release_session_slot(Exchange& exchange, std::string session_id);
  net::awaitable<bool> admit_stream_upgrade(Exchange& exchange);
  net::awaitable<void> relay_stream(Exchange& exchange, std::string session_id);

  // Timeouts: one deadline per connection for its current phase (reading a head, waiting
  // for the upstream...), enforced by the worker's sweep. Beast's tcp_stream expiry arms
  // and cancels a timer around every read and write instead, which cost about a tenth of
  // a proxied request's instructions. Granularity: Worker::kDeadlineTick.
  void arm(std::chrono::milliseconds timeout);
  void disarm() { deadline_.disarm(); }
  // Whether `ec` ended an operation because a deadline passed.
  bool timed_out(const beast::error_code& ec) const;

  // The configuration in force, re-read when it moved (once per request).
  void refresh_config();
  const config::GatewayConfig& settings() const { return running_->config(); }
  const policy::Policy& policy() const { return running_->policy(); }

  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  core::IpBytes peer_{};
  std::string peer_text_;  // ip_text(peer_)
  ConnectionLimits::Ticket admission_;
  std::shared_ptr<const config::RunningConfig> running_;
  decision::DecisionContext decision_context_;  // of running_
  HeadBuffer head_;  // the message head being written; reused across requests
  bool idle_ = false;
  Deadline deadline_;
  bool expired_ = false;                          // the sweep cancelled I/O since the last arm()
  beast::tcp_stream* upstream_in_use_ = nullptr;  // forward(): the upstream being talked to
};

}  // namespace gw::proxy

// One downstream HTTP/1.1 connection, served by one coroutine on its worker's thread.
// Requests are handled one at a time, in the order they arrive (pipelined requests wait
// in the read buffer). The request path reads top to bottom in http_connection.cpp:
// read the head, identify the caller, match the route, take the decision, then answer
// (401/429/...) or forward and relay the response.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "policy/policy.h"
#include "proxy/beast.h"
#include "proxy/caller.h"
#include "proxy/head_writer.h"
#include "proxy/upstream_pool.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::proxy {

class Worker;

class HttpConnection {
 public:
  HttpConnection(Worker& worker, tcp::socket socket);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  net::awaitable<void> run();

  // Called by the worker when it drains: an idle connection is closed at once.
  void close_if_idle();

 private:
  using RequestParser = http::request_parser<http::buffer_body>;

  // What one request carries through its handling.
  struct Exchange {
    RequestParser* parser = nullptr;
    std::string request_id;
    core::UnixNanos now{};
    std::shared_ptr<const Caller> caller;
    std::optional<std::size_t> group;
    std::array<store::LimitRef, store::kMaxLimitsPerCheck> limit_storage{};
    std::span<const store::LimitRef> limits;
    store::CheckResult decision;
    bool decided = false;                  // limits/decision hold a real decision (headers are due)
    std::optional<store::SlotGrant> slot;  // session creation: the slot asked for
    bool slot_settled = false;             // the slot was bound or given back
    std::string ending_session;  // the session POST /v1/sessions/{id}/end ends
    int upstream_status = 0;  // forward(): the upstream's status once relayed whole; 0 otherwise
  };

  // What relaying one message came to: a failure reading its source or writing it on.
  struct RelayResult {
    beast::error_code read_error;
    beast::error_code write_error;
  };

  net::awaitable<bool> wait_for_request();
  net::awaitable<void> lingering_close();
  net::awaitable<bool> handle(RequestParser& parser);
  net::awaitable<bool> answer_rate_limits(Exchange& exchange);
  net::awaitable<bool> forward(Exchange& exchange);
  void write_upstream_request_head(Exchange& exchange, std::string& out);
  void write_client_response_head(Exchange& exchange, const http::response_header<>& res,
                                  bool keep_alive, std::string& out);
  template <class Parser>
  net::awaitable<RelayResult> relay_message(beast::tcp_stream& in, beast::flat_buffer& in_buffer,
                                            Parser& parser, std::chrono::milliseconds read_timeout,
                                            beast::tcp_stream& out,
                                            std::chrono::milliseconds write_timeout, bool chunked,
                                            const std::string& head, std::string* capture);

  // Answers of the gateway's own, in the Kallglot error shape; each returns keep-alive.
  net::awaitable<bool> respond(Exchange& exchange, http::status status, std::string_view json_body,
                               std::optional<std::int64_t> retry_after = std::nullopt);
  net::awaitable<bool> respond_error(Exchange& exchange, http::status status, std::string_view type,
                                     std::string_view code, std::string_view message);
  net::awaitable<bool> respond_too_many_requests(Exchange& exchange);
  net::awaitable<bool> respond_upstream_failure(Exchange& exchange, bool timeout);
  void write_gateway_fields(Exchange& exchange, HeadWriter& head);
  void write_connection_field(Exchange& exchange, HeadWriter& head, bool keep_alive);
  net::awaitable<bool> discard_request_body(Exchange& exchange);
  net::awaitable<bool> read_whole_body(UpstreamConnection& upstream,
                                       http::response_parser<http::buffer_body>& rp,
                                       std::string& body);

  // Concurrent-session slots (SPEC §4).
  static bool creating_session(const Exchange& exchange) {
    return exchange.slot && exchange.slot->acquired && !exchange.slot_settled;
  }
  net::awaitable<std::optional<store::SlotGrant>> acquire_session_slot(Exchange& exchange);
  net::awaitable<bool> respond_no_session_slot(Exchange& exchange, std::string_view group);
  net::awaitable<void> cancel_session_slot(Exchange& exchange);
  net::awaitable<void> settle_session_slot(Exchange& exchange, std::string_view response_body);
  net::awaitable<void> release_session_slot(Exchange& exchange, std::string session_id);
  net::awaitable<void> relay_stream(Exchange& exchange, std::string session_id);

  const policy::Policy& policy() const { return *policy_; }
  void refresh_policy();

  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string client_ip_;
  std::shared_ptr<const policy::Policy> policy_;
  std::uint64_t policy_version_ = 0;
  std::string head_;  // the message head being written; reused across requests
  bool idle_ = false;
};

}  // namespace gw::proxy

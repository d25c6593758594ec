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
#include "store/counter_store.h"

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
  using StringResponse = http::response<http::string_body>;

  // What one request carries through its handling.
  struct Exchange {
    RequestParser* parser = nullptr;
    std::string request_id;
    std::string client_ip;
    core::UnixNanos now{};
    std::shared_ptr<const Caller> caller;
    std::optional<std::size_t> group;
    std::array<store::LimitRef, store::kMaxLimitsPerCheck> limit_storage{};
    std::span<const store::LimitRef> limits;
    store::CheckResult decision;
    bool decided = false;  // limits/decision hold a real decision (headers are due)
  };

  net::awaitable<bool> wait_for_request();
  net::awaitable<bool> handle(RequestParser& parser);
  net::awaitable<bool> answer_rate_limits(Exchange& exchange);
  net::awaitable<bool> forward(Exchange& exchange);
  net::awaitable<bool> relay_request_body(Exchange& exchange, beast::tcp_stream& upstream,
                                          http::request_serializer<http::buffer_body>& sr,
                                          bool& client_failed);
  net::awaitable<bool> relay_response(Exchange& exchange, beast::tcp_stream& upstream,
                                      beast::flat_buffer& upstream_buffer,
                                      http::response_parser<http::buffer_body>& rp,
                                      bool& upstream_reusable);

  // Writes a generated response (errors, 429, status answers); returns keep-alive.
  net::awaitable<bool> respond(Exchange& exchange, StringResponse response);
  net::awaitable<bool> respond_error(Exchange& exchange, http::status status,
                                     std::string_view type, std::string_view code,
                                     std::string_view message);
  net::awaitable<bool> respond_upstream_failure(Exchange& exchange, bool timeout);
  StringResponse error_response(Exchange& exchange, http::status status, std::string_view type,
                                std::string_view code, std::string_view message,
                                std::optional<std::int64_t> retry_after = std::nullopt);
  StringResponse too_many_requests(Exchange& exchange);
  void add_common_headers(Exchange& exchange, http::fields& fields);
  net::awaitable<bool> discard_request_body(Exchange& exchange);

  const policy::Policy& policy() const { return *policy_; }
  void refresh_policy();

  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string client_ip_;
  std::shared_ptr<const policy::Policy> policy_;
  std::uint64_t policy_version_ = 0;
  bool idle_ = false;
};

}  // namespace gw::proxy

// Answers of the gateway's own, in the Kallglot error shape (SPEC §6): refusals of the
// decision, upstream failures, and the self-service status GET /v1/rate_limits. Each is
// one head and one JSON body in one write, carrying Date, X-Request-ID and, once a
// decision was taken, the rate-limit fields.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/api_error.h"
#include "core/http_date.h"
#include "decision/rate_limit_fields.h"
#include "proxy/http_connection.h"
#include "proxy/worker.h"
#include "store/store_await.h"
#include "store/subject.h"

namespace gw::proxy {
namespace {

constexpr std::uint64_t kMaxDiscardBytes = 64 * 1024;  // bodies of refused requests we still read

}  // namespace

net::awaitable<bool> HttpConnection::answer_rate_limits(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const decision::Caller& caller = *exchange.caller;
  boost::json::object limits;

  // One peek per group the plan limits ([api, group]); the first also gives "api".
  std::vector<std::optional<std::size_t>> groups{std::nullopt};
  for (std::size_t i = 0; i < policy().config().groups.size(); ++i) groups.emplace_back(i);
  for (const auto& group : groups) {
    const decision::LimitSet set = decision::Decider::limits_in_group(caller, group, policy());
    const auto& storage = set.storage;
    const std::size_t count = set.count;
    if (count == 0) continue;
    if (group && count == 1) continue;  // the plan does not limit this group
    store::CheckOutcome outcome = co_await store::async_check(
        deps.counters, store::CheckRequest{caller.subject, set.view(), 1, caller.subject_hash},
        exchange.now,
        /*peek=*/true);
    if (!outcome) {
      co_await respond_refusal(exchange, decision::rate_limiter_unavailable());
      co_return false;
    }
    if (!group) {
      // The response's X-RateLimit-* fields: the plan-wide limit, as it stands (uncounted).
      exchange.limits = set;
      exchange.verdict.result = *outcome;
      exchange.verdict.decided = true;
    }
    for (std::size_t i = 0; i < outcome->count; ++i) {
      const auto& d = outcome->decisions[i];
      // A peek shows each counter as it is: nothing was charged.
      boost::json::object entry{
          {"limit", d.limit},
          {"remaining", d.remaining},
          {"used", d.used},
          {"reset", d.reset_unix_s},
          {"window_seconds",
           std::chrono::duration_cast<std::chrono::seconds>(storage[i].spec.window).count()}};
      limits[storage[i].name] = std::move(entry);
    }
  }

  std::int64_t active_sessions = 0;
  auto listing =
      co_await store::async_session<store::SessionStore::Listing>([&](auto executor, auto done) {
        deps.sessions.list(caller.subject, exchange.now, executor, std::move(done));
      });
  if (listing) active_sessions = listing->active;

  boost::json::object body{
      {"object", "rate_limits"},
      {"plan", caller.plan_name},
      {"environment", caller.anonymous ? std::string_view("anonymous")
                                       : store::environment_name(caller.environment)},
      {"limits", std::move(limits)},
      {"active_sessions", active_sessions},
      {"concurrent_sessions",
       {{"limit", caller.limits.concurrent_sessions
                      ? boost::json::value(*caller.limits.concurrent_sessions)
                      : boost::json::value(nullptr)},
        {"active", active_sessions}}},
      {"websocket",
       {{"messages_per_second", caller.limits.ws_messages_per_second},
        {"audio_bytes_per_second", caller.limits.ws_audio_bytes_per_second}}}};
  const std::string text = boost::json::serialize(body);
  co_return co_await respond(exchange, http::status::ok, text);
}

net::awaitable<bool> HttpConnection::respond_refusal(Exchange& exchange,
                                                     decision::Refusal refusal) {
  co_return co_await respond_error(exchange, static_cast<http::status>(refusal.status),
                                   refusal.type, refusal.code, refusal.message,
                                   refusal.retry_after_s);
}

// Coroutine parameters are taken by value or as views of text that outlives the call:
// GCC 12 mishandles temporaries bound to reference parameters across a suspension.
net::awaitable<bool> HttpConnection::respond_error(Exchange& exchange, http::status status,
                                                   std::string_view type, std::string_view code,
                                                   std::string_view message,
                                                   std::optional<std::int64_t> retry_after) {
  std::string body;
  core::append_json(core::ApiError{.type = type,
                                   .code = code,
                                   .message = message,
                                   .request_id = exchange.request_id,
                                   .retry_after_s = retry_after},
                    body);
  co_return co_await respond(exchange, status, body, retry_after);
}

net::awaitable<bool> HttpConnection::respond_upstream_failure(Exchange& exchange, bool timeout) {
  if (timeout) {
    co_return co_await respond_error(exchange, http::status::gateway_timeout, "api_error",
                                     "upstream_timeout",
                                     "The upstream API did not answer in time.");
  }
  co_return co_await respond_error(exchange, http::status::bad_gateway, "api_error",
                                   "upstream_unavailable", "The upstream API is unavailable.");
}

// X-Request-ID, the rate-limit fields once a decision was taken, and the slot counts of a
// session creation.
void HttpConnection::write_gateway_fields(Exchange& exchange, HeadWriter& head) {
  head.field("X-Request-ID", exchange.request_id);
  const store::SlotGrant* slot = exchange.slot ? &exchange.slot->grant() : nullptr;
  if (slot) {
    if (slot->limit) head.field("X-Concurrent-Sessions-Limit", *slot->limit);
    head.field("X-Concurrent-Sessions-Active", slot->active);
  }
  if (exchange.session_limit_refused && slot && slot->limit) {
    // A concurrency limit has no window: a slot frees when a session ends (or its lease
    // runs out). Reset names the next second, so a client pacing by these fields polls at
    // most once a second; Remaining 0 until a session ends.
    const std::int64_t limit = *slot->limit;
    head.field("X-RateLimit-Limit", limit);
    head.field("X-RateLimit-Remaining", std::max<std::int64_t>(limit - slot->active, 0));
    head.field("X-RateLimit-Reset", core::to_unix_seconds(exchange.now) + 1);
    head.field("X-RateLimit-Used", slot->active);
    head.field("X-RateLimit-Resource", "concurrent_sessions");
  } else if (exchange.verdict.decided && exchange.limits.count > 0) {
    decision::write_rate_limit_fields(head, exchange.limits.view(), exchange.verdict.result.view(),
                                      exchange.verdict.result.admitted,
                                      core::to_unix_seconds(exchange.now),
                                      decision_context_.settings.fields);
  }
}

// The connection header a response needs: "close" when the connection ends after it,
// "keep-alive" for an HTTP/1.0 client that asked to keep it, nothing otherwise.
void HttpConnection::write_connection_field(Exchange& exchange, HeadWriter& head, bool keep_alive) {
  if (!keep_alive) {
    head.field("Connection", "close");
  } else if (exchange.parser != nullptr && exchange.parser->get().version() < 11) {
    head.field("Connection", "keep-alive");
  }
}

// A response of the gateway's own (errors, 429, status): one JSON body, one write.
net::awaitable<bool> HttpConnection::respond(Exchange& exchange, http::status status,
                                             std::string_view json_body,
                                             std::optional<std::int64_t> retry_after) {
  const bool keep_alive = !exchange.closing && exchange.parser != nullptr &&
                          exchange.parser->keep_alive() && exchange.parser->is_done() &&
                          !worker_.draining();
  const core::UnixNanos now = exchange.now.count() != 0 ? exchange.now : worker_.deps().clock.now();
  head_.clear();
  HeadWriter head(head_);
  head.status_line(static_cast<unsigned>(status), http::obsolete_reason(status));
  head.field("Date", core::http_date(core::to_unix_seconds(now)));  // RFC 9110 §6.6.1
  head.field("Content-Type", "application/json");
  if (status == http::status::unauthorized) {
    head.field("WWW-Authenticate", "Bearer realm=\"kallglot\"");  // RFC 9110 §15.5.2
  }
  if (retry_after) head.field("Retry-After", *retry_after);
  write_gateway_fields(exchange, head);
  write_connection_field(exchange, head, keep_alive);
  head.field("Content-Length", static_cast<std::int64_t>(json_body.size()));
  head.end();
  const std::array<net::const_buffer, 2> buffers{net::buffer(head_.data(), head_.size()),
                                                 net::buffer(json_body)};
  arm(settings().http.idle_timeout);
  auto [ec, n] = co_await net::async_write(stream_.socket(), buffers, use_nothrow);
  co_return !ec && keep_alive;
}

// Reads and drops the body of a request that will not be forwarded, so the connection can
// serve the next one. Large or unbounded bodies are not worth reading: the connection
// closes instead. Returns whether the connection may stay open.
net::awaitable<bool> HttpConnection::discard_request_body(Exchange& exchange) {
  RequestParser& parser = *exchange.parser;
  if (parser.is_done()) co_return true;
  const auto length = parser.content_length_remaining();
  if (!length || *length > kMaxDiscardBytes) co_return false;
  std::array<char, 8192> sink;
  arm(settings().http.header_timeout);
  while (!parser.is_done()) {
    parser.get().body().data = sink.data();
    parser.get().body().size = sink.size();
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, use_nothrow);
    if (ec && ec != http::error::need_buffer) co_return false;
  }
  co_return true;
}

}  // namespace gw::proxy

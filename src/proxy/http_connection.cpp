#include "proxy/http_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "core/api_error.h"
#include "core/http_date.h"
#include "core/log_throttle.h"
#include "core/request_id.h"
#include "limiter/check.h"
#include "proxy/caller_lookup.h"
#include "proxy/client_address.h"
#include "proxy/credentials.h"
#include "proxy/head_reader.h"
#include "proxy/head_writer.h"
#include "proxy/hop_by_hop.h"
#include "proxy/rate_limit_headers.h"
#include "proxy/request_target.h"
#include "proxy/request_validation.h"
#include "proxy/store_await.h"
#include "proxy/stream_relay.h"
#include "proxy/upstream_request_head.h"
#include "proxy/worker.h"

namespace gw::proxy {
namespace {

constexpr std::uint64_t kMaxDiscardBytes = 64 * 1024;  // bodies of refused requests we still read
// What relay_message() keeps of a body it relays: of a session-creation answer (for its
// id), of a request body on a pooled connection (to send it again, see forward()).
constexpr std::size_t kMaxCapturedBytes = 64 * 1024;
constexpr std::uint64_t kMaxUpstreamMessageBytes = 64ull * 1024 * 1024;

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

std::string window_phrase(const limiter::LimitSpec& spec) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(spec.window).count();
  if (seconds == 60) return "per minute";
  if (seconds == 1) return "per second";
  return fmt::format("per {} seconds", seconds);
}

// A parse error of the request itself (not a closed or timed-out connection).
bool is_malformed_request(const beast::error_code& ec) {
  return &ec.category() == &beast::error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_buffer;
}

// A parse error of the body's framing fields (RFC 9112 §6.3), which Beast finds itself
// for some conflicts (a second Content-Length that disagrees, chunked then another coding).
bool is_framing_error(const beast::error_code& ec) {
  return ec == http::error::bad_content_length || ec == http::error::multiple_content_length ||
         ec == http::error::bad_transfer_encoding;
}

// Store failures are hit by every request during an outage: a line a second, with the
// count of those held back, says as much as a line per request without flooding the log.
void log_store_failure(std::string_view what, std::string_view detail) {
  static core::LogThrottle throttle;
  if (auto held_back = throttle.admit()) {
    spdlog::warn("{}: {} ({} more held back since the last such line)", what, detail, *held_back);
  }
}

// Usage history is per account, for the admin usage view. Anonymous callers have none:
// nobody could read it, and a client rotating addresses would grow it without bound.
void record_usage(const ProxyDeps& deps, const Caller& caller, bool allowed, core::UnixNanos now) {
  if (!caller.anonymous) deps.usage.record(caller.account_id, allowed, now);
}

// Clears HttpConnection::upstream_in_use_ when forward() is done with a connection.
struct UpstreamInUse {
  beast::tcp_stream*& slot;
  ~UpstreamInUse() { slot = nullptr; }
};

bool is_timeout(const beast::error_code& ec) {
  return ec == beast::error::timeout || ec == net::error::timed_out;
}

}  // namespace

HttpConnection::HttpConnection(Worker& worker, tcp::socket socket, const tcp::endpoint& peer,
                               ConnectionLimits::Ticket admission)
    : worker_(worker),
      stream_(std::move(socket)),
      peer_(core::ip_bytes(peer.address())),
      peer_text_(core::ip_text(peer_)),
      admission_(std::move(admission)) {
  beast::error_code ec;
  stream_.socket().set_option(tcp::no_delay(true), ec);
  worker_.add(this);
}

void HttpConnection::identify_client(Exchange& exchange, const http::fields& fields) {
  const auto& trusted = policy().config().trusted_proxies;
  if (trusted.empty() || !is_trusted_proxy(peer_, trusted)) {
    exchange.client = peer_;
    exchange.upstream.forwarded_for = peer_text_;
    return;
  }
  ForwardedClient forwarded = client_behind_proxy(peer_, peer_text_, trusted, fields);
  exchange.client = forwarded.address;
  exchange.forwarded_chain = std::move(forwarded.forwarded_for);
  exchange.upstream.forwarded_for = exchange.forwarded_chain;
  exchange.upstream.from_trusted_proxy = true;
}

HttpConnection::~HttpConnection() { worker_.remove(this); }

void HttpConnection::close_if_idle() {
  if (idle_) stream_.cancel();
}

void HttpConnection::arm(std::chrono::milliseconds timeout) {
  deadline_ = std::chrono::steady_clock::now() + timeout;
  expired_ = false;
}

void HttpConnection::expire_if_due(std::chrono::steady_clock::time_point now) {
  if (now < deadline_) return;
  disarm();
  expired_ = true;
  stream_.cancel();
  if (upstream_in_use_ != nullptr) upstream_in_use_->cancel();
}

bool HttpConnection::timed_out(const beast::error_code& ec) const {
  return is_timeout(ec) || (expired_ && ec == net::error::operation_aborted);
}

void HttpConnection::refresh_policy() {
  const std::uint64_t version = worker_.deps().policy.version();
  if (version != policy_version_) {
    policy_ = worker_.deps().policy.current();
    policy_version_ = version;
  }
}

net::awaitable<void> HttpConnection::run() {
  refresh_policy();
  while (!worker_.draining()) {
    if (!co_await wait_for_request()) break;
    const auto& http_config = policy().config().http;
    RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(http_config.max_header_bytes));
    parser.body_limit(http_config.max_body_bytes);
    arm(http_config.header_timeout);
    // The head is nearly always whole in the first read: parse it without a coroutine.
    beast::error_code ec;
    bool folded = false;  // obs-fold in the raw head, which the parser unfolds
    const auto inspect = [&folded](std::string_view head) { folded = has_obs_fold(head); };
    if (feed_head(buffer_, parser, ec, inspect) == HeadProgress::need_more) {
      ec = co_await read_head(stream_.socket(), buffer_, parser, inspect);
    }
    disarm();  // the head is in; each phase of handling arms its own deadline
    if (ec) {
      if (ec == http::error::header_limit) {
        Exchange exchange{.request_id = core::generate_request_id()};
        co_await respond_error(exchange, http::status::request_header_fields_too_large,
                               "invalid_request_error", "request_header_too_large",
                               "Request header fields too large.");
      } else if (ec == http::error::body_limit) {  // a declared Content-Length over the limit
        Exchange exchange{.request_id = core::generate_request_id()};
        co_await respond_error(exchange, http::status::payload_too_large, "invalid_request_error",
                               "request_too_large", "Request body too large.");
      } else if (is_framing_error(ec)) {
        Exchange exchange{.request_id = core::generate_request_id()};
        co_await respond_error(exchange, http::status::bad_request, "invalid_request_error",
                               "invalid_request_framing",
                               "The request body must be framed by one Content-Length or by "
                               "Transfer-Encoding: chunked.");
      } else if (is_malformed_request(ec)) {
        Exchange exchange{.request_id = core::generate_request_id()};
        co_await respond_error(exchange, http::status::bad_request, "invalid_request_error",
                               "malformed_request", "The request could not be parsed.");
      }
      break;
    }
    if (!co_await handle(parser, folded)) break;
  }
  co_await lingering_close();
}

// Closes our side, then reads (and drops) what the client still sends until it closes
// too, for a bounded time and amount: closing a socket with unread data makes the kernel
// answer RST, which can destroy the answer just written (a 413, a WebSocket close frame).
net::awaitable<void> HttpConnection::lingering_close() {
  static constexpr auto kLingerTimeout = std::chrono::seconds(1);
  static constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    std::array<char, 4096> sink;
    std::size_t drained = 0;
    arm(kLingerTimeout);
    while (drained < kMaxLingerBytes) {
      auto [read_ec, n] = co_await stream_.socket().async_read_some(net::buffer(sink), use_nothrow);
      if (read_ec) break;
      drained += n;
    }
  }
  stream_.close();
}

// Waits for the first byte of the next request, at most idle_timeout; the head then has
// header_timeout to arrive whole.
net::awaitable<bool> HttpConnection::wait_for_request() {
  if (buffer_.size() > 0) co_return true;
  idle_ = true;
  arm(policy().config().http.idle_timeout);
  auto [ec, n] = co_await stream_.socket().async_read_some(buffer_.prepare(4096), use_nothrow);
  idle_ = false;
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

net::awaitable<bool> HttpConnection::handle(RequestParser& parser, bool obs_fold) {
  const ProxyDeps& deps = worker_.deps();
  auto& req = parser.get();
  Exchange exchange;
  exchange.parser = &parser;
  exchange.now = deps.clock.now();
  refresh_policy();

  if (auto it = req.find("X-Request-ID");
      it != req.end() && core::is_acceptable_request_id(it->value())) {
    exchange.request_id = std::string(it->value());
  } else {
    exchange.request_id = core::generate_request_id();
  }

  // One framing, one Host, nothing two parsers could read two ways (request_validation.h).
  auto checked = validate_request_head(req, obs_fold);
  if (!checked) {
    exchange.closing = true;
    const RequestRefusal& refusal = checked.error();
    co_await respond_error(exchange, static_cast<http::status>(refusal.status),
                           "invalid_request_error", refusal.code, refusal.message);
    co_return false;
  }
  exchange.upstream.framing = checked->framing;
  exchange.upstream.host = checked->host;
  identify_client(exchange, req);

  const auto& config = policy().config();
  if (auto length = parser.content_length(); length && *length > config.http.max_body_bytes) {
    exchange.closing = true;
    co_await respond_error(exchange, http::status::payload_too_large, "invalid_request_error",
                           "request_too_large", "Request body too large.");
    co_return false;
  }

  // Match (and forward) the normalized target, so encodings cannot dodge a group limit.
  if (!is_normal_target(req.target())) {
    std::optional<std::string> target = normalize_target(req.target());
    if (!target) {
      exchange.closing = true;
      co_await respond_error(exchange, http::status::bad_request, "invalid_request_error",
                             "invalid_request_target",
                             "The request target is not a path the gateway accepts (see the "
                             "API reference: no ';', '\\', encoded '/' or double encoding).");
      co_return false;
    }
    if (*target != req.target()) req.target(*target);
  }
  const std::string_view method = req.method_string();
  const std::string_view path = path_of(req.target());

  std::string session_id;
  const policy::SessionRoute session_route =
      policy().match_session_route(method, path, &session_id);
  if (boost::beast::websocket::is_upgrade(req)) {
    // Session streams are the one route without an API key: Kallglot authenticates them
    // with the session's stream token, which goes through. No other route upgrades.
    if (session_route == policy::SessionRoute::stream) {
      if (exchange.upstream.framing.kind == BodyFraming::Kind::chunked ||
          exchange.upstream.framing.length > 0) {
        // RFC 6455 §4.1: a handshake is a GET without a body; bytes after its head would
        // reach the relay as frames.
        exchange.closing = true;
        co_await respond_error(exchange, http::status::bad_request, "invalid_request_error",
                               "malformed_request", "A WebSocket handshake carries no body.");
        co_return false;
      }
      disarm();  // a stream keeps its own time (StreamRelay)
      co_await relay_stream(exchange, std::move(session_id));
      co_return false;
    }
    co_await respond_error(exchange, http::status::bad_request, "invalid_request_error",
                           "upgrade_not_supported",
                           "Only session streams (GET /v1/sessions/{id}/connect) upgrade.");
    co_return false;
  }

  // 1. Who is calling: one credential, charged and forwarded as the gateway read it.
  const PresentedCredential credential = presented_credential(req);
  if (credential.kind == PresentedCredential::Kind::conflicting) {
    deps.metrics.unauthenticated();
    const bool keep = co_await discard_request_body(exchange);
    const bool kept = co_await respond_error(
        exchange, http::status::bad_request, "invalid_request_error", "multiple_api_keys",
        "More than one API key was provided. Send exactly one, in 'Authorization: Bearer "
        "<key>' or 'X-API-Key'.");
    co_return keep&& kept;
  }
  const std::string_view key = credential.key;
  if (!key.empty()) {
    // A cache hit (nearly every request) costs no coroutine frame. (No co_await inside a
    // conditional expression: GCC 12 mishandles the temporaries.)
    CallerResult found = std::shared_ptr<const Caller>();
    if (auto hit = worker_.callers().cached_key(key, policy_version_)) {
      found = std::move(*hit);
    } else {
      found = co_await lookup_caller(worker_.callers(), deps.accounts, key, policy_);
      deps.metrics.key_lookup(!found   ? metrics::KeyLookupResult::error
                              : *found ? metrics::KeyLookupResult::known
                                       : metrics::KeyLookupResult::unknown);
    }
    if (!found) {
      log_store_failure("account store unavailable", found.error());
      deps.metrics.store_error();
      co_await discard_request_body(exchange);
      co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                             "rate_limiter_unavailable",
                             "The rate limiter is unavailable. Retry later.");
      co_return false;
    }
    exchange.caller = std::move(*found);
    if (exchange.caller) exchange.upstream.credential = {key, credential.via_authorization};
  }
  // An anonymous caller is forwarded with no credential: the upstream must not
  // authenticate a request the gateway counted against a client address.
  if (!exchange.caller && config.unknown_key == config::UnknownKey::anonymous) {
    exchange.caller = worker_.callers().anonymous(exchange.client, policy(), policy_version_);
  }
  if (!exchange.caller) {
    deps.metrics.unauthenticated();
    const bool keep = co_await discard_request_body(exchange);
    const std::string_view message =
        credential.kind == PresentedCredential::Kind::none
            ? "No API key provided. Use 'Authorization: Bearer <key>' or 'X-API-Key'."
            : "Invalid API key provided.";
    const bool kept = co_await respond_error(exchange, http::status::unauthorized,
                                             "authentication_error", "invalid_api_key", message);
    co_return keep&& kept;
  }

  // 2. Self-service status: answered here, never counted, never forwarded.
  if (req.method() == http::verb::get && path == "/v1/rate_limits") {
    co_return co_await answer_rate_limits(exchange);
  }

  // 3. The decision: plan-wide limit and the route's group, all or nothing.
  exchange.group = policy().match_group(method, path);
  const std::size_t count = policy().limits_for(
      exchange.caller->limits, exchange.group,
      std::span<store::LimitRef, store::kMaxLimitsPerCheck>(exchange.limit_storage));
  exchange.limits = {exchange.limit_storage.data(), count};
  const std::string_view group_name =
      exchange.group ? std::string_view(policy().group_name(*exchange.group)) : std::string_view();

  // 4. A new session first needs a free slot (before its rate-limit units are spent, so a
  // refusal costs nothing).
  const bool creates_session = session_route == policy::SessionRoute::create;
  if (creates_session) {
    auto grant = co_await acquire_session_slot(exchange);
    if (!grant) co_return false;  // answered
    if (!grant->acquired) co_return co_await respond_no_session_slot(exchange, group_name);
  }

  if (count > 0) {
    const auto started = std::chrono::steady_clock::now();
    const store::CheckRequest request{exchange.caller->subject, exchange.limits, 1,
                                      exchange.caller->subject_hash};
    // The memory store (and a remote one for a key it knows is over) answers at once:
    // no coroutine frame for the common case.
    std::optional<store::CheckOutcome> decided =
        deps.counters.check_immediately(request, exchange.now);
    if (!decided) decided = co_await async_check(deps.counters, request, exchange.now);
    store::CheckOutcome& outcome = *decided;
    deps.metrics.decision_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!outcome) {
      deps.metrics.store_error();
      deps.metrics.decision(exchange.caller->plan_name, group_name,
                            metrics::DecisionResult::degraded);
      log_store_failure("counter store error", outcome.error().detail);
      if (config.store.on_failure == config::OnStoreFailure::fail_closed) {
        if (creates_session) co_await cancel_session_slot(exchange);
        co_await discard_request_body(exchange);
        co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                               "rate_limiter_unavailable",
                               "The rate limiter is unavailable. Retry later.");
        co_return false;
      }
      // fail_open (and `local`, whose fallback store answers transient failures itself, so
      // only what it cannot answer gets here): admit, counted as degraded.
    } else {
      exchange.decision = *outcome;
      exchange.decided = true;
    }
  }
  if (!exchange.decided) exchange.decision.admitted = true;

  const bool admitted = exchange.decision.admitted;
  bool shadow_over = false;
  for (const auto& d : exchange.decision.view()) shadow_over |= d.over_limit;
  if (exchange.decided) {
    deps.metrics.decision(exchange.caller->plan_name, group_name,
                          !admitted     ? metrics::DecisionResult::denied
                          : shadow_over ? metrics::DecisionResult::shadow_denied
                                        : metrics::DecisionResult::allowed);
  }
  record_usage(deps, *exchange.caller, admitted, exchange.now);

  if (!admitted) {
    if (creates_session) co_await cancel_session_slot(exchange);
    deps.metrics.rejected_429("rate_limit_exceeded");
    const bool keep = co_await discard_request_body(exchange);
    const bool kept = co_await respond_too_many_requests(exchange);
    co_return keep&& kept;
  }

  // 5. Forward and relay; a session's slot follows the upstream's answer.
  if (session_route == policy::SessionRoute::end) exchange.ending_session = std::move(session_id);
  co_return co_await forward(exchange);  // settles a new or ended session's slot
}

net::awaitable<bool> HttpConnection::answer_rate_limits(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const Caller& caller = *exchange.caller;
  boost::json::object limits;

  // One peek per group the plan limits ([api, group]); the first also gives "api".
  std::vector<std::optional<std::size_t>> groups{std::nullopt};
  for (std::size_t i = 0; i < policy().config().groups.size(); ++i) groups.emplace_back(i);
  for (const auto& group : groups) {
    std::array<store::LimitRef, store::kMaxLimitsPerCheck> storage{};
    const std::size_t count = policy().limits_for(
        caller.limits, group, std::span<store::LimitRef, store::kMaxLimitsPerCheck>(storage));
    if (count == 0) continue;
    if (group && count == 1) continue;  // the plan does not limit this group
    store::CheckOutcome outcome = co_await async_check(
        deps.counters,
        store::CheckRequest{caller.subject, {storage.data(), count}, 1, caller.subject_hash},
        exchange.now, /*peek=*/true);
    if (!outcome) {
      co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                             "rate_limiter_unavailable",
                             "The rate limiter is unavailable. Retry later.");
      co_return false;
    }
    if (!group) {
      // The response's X-RateLimit-* fields: the plan-wide limit, as it stands (uncounted).
      std::copy_n(storage.begin(), count, exchange.limit_storage.begin());
      exchange.limits = {exchange.limit_storage.data(), count};
      exchange.decision = *outcome;
      exchange.decided = true;
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
      co_await async_session<store::SessionStore::Listing>([&](auto executor, auto done) {
        deps.sessions.list(caller.subject, exchange.now, executor, std::move(done));
      });
  if (listing) active_sessions = listing->active;

  boost::json::object body{
      {"object", "rate_limits"},
      {"plan", caller.plan_name},
      {"environment", caller.anonymous                                    ? "anonymous"
                      : caller.environment == store::KeyEnvironment::test ? "test"
                                                                          : "live"},
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

net::awaitable<bool> HttpConnection::respond_too_many_requests(Exchange& exchange) {
  const auto view = exchange.decision.view();
  const std::size_t shown = limiter::most_constraining(view, /*admitted=*/false);
  const limiter::Decision& d = view[shown];
  const std::int64_t retry = retry_after_seconds(d);
  const std::string message = fmt::format(
      "Rate limit exceeded for {} ({} {}). Retry after {} second{}.", exchange.limits[shown].name,
      d.limit, window_phrase(exchange.limits[shown].spec), retry, retry == 1 ? "" : "s");
  std::string body;
  core::append_json(core::ApiError{.type = "rate_limit_error",
                                   .code = "rate_limit_exceeded",
                                   .message = message,
                                   .request_id = exchange.request_id,
                                   .retry_after_s = retry},
                    body);
  co_return co_await respond(exchange, http::status::too_many_requests, body, retry);
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
  if (exchange.slot) {
    if (exchange.slot->limit) head.field("X-Concurrent-Sessions-Limit", *exchange.slot->limit);
    head.field("X-Concurrent-Sessions-Active", exchange.slot->active);
  }
  if (exchange.session_limit_refused && exchange.slot && exchange.slot->limit) {
    // A concurrency limit has no window: a slot frees when a session ends (or its lease
    // runs out). Reset names the next second, so a client pacing by these fields polls at
    // most once a second; Remaining 0 until a session ends.
    const std::int64_t limit = *exchange.slot->limit;
    head.field("X-RateLimit-Limit", limit);
    head.field("X-RateLimit-Remaining", std::max<std::int64_t>(limit - exchange.slot->active, 0));
    head.field("X-RateLimit-Reset", core::to_unix_seconds(exchange.now) + 1);
    head.field("X-RateLimit-Used", exchange.slot->active);
    head.field("X-RateLimit-Resource", "concurrent_sessions");
  } else if (exchange.decided && !exchange.limits.empty()) {
    const auto& config = policy().config();
    add_rate_limit_headers(
        head, exchange.limits, exchange.decision.view(), exchange.decision.admitted,
        core::to_unix_seconds(exchange.now),
        {.x_ratelimit = config.x_ratelimit_headers, .ietf = config.ietf_headers});
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
  arm(policy().config().http.idle_timeout);
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
  arm(policy().config().http.header_timeout);
  while (!parser.is_done()) {
    parser.get().body().data = sink.data();
    parser.get().body().size = sink.size();
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, use_nothrow);
    if (ec && ec != http::error::need_buffer) co_return false;
  }
  co_return true;
}

net::awaitable<bool> HttpConnection::forward(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const auto& config = policy().config();
  RequestParser& parser = *exchange.parser;
  const auto& req = parser.get();
  const bool client_keep_alive = parser.keep_alive();
  const bool has_body = !parser.is_done();

  if (has_body && beast::iequals(req[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(config.http.idle_timeout);
    auto [ec, n] = co_await net::async_write(stream_.socket(), net::buffer(kContinue), use_nothrow);
    if (ec) co_return false;
  }

  const auto started = std::chrono::steady_clock::now();
  const bool chunked = exchange.upstream.framing.kind == BodyFraming::Kind::chunked;
  std::string sent_body;  // what went out of the body on a pooled connection (see below)
  for (int attempt = 0;; ++attempt) {
    // A warm pool answers without a coroutine frame; only a connect needs acquire().
    core::Result<UpstreamLease, UpstreamErrc> lease = UpstreamLease{};
    if (auto idle = attempt == 0 ? worker_.upstream().take_idle(config.upstream) : nullptr) {
      lease = UpstreamLease{std::move(idle), true};
    } else {
      lease = co_await worker_.upstream().acquire(config.upstream, attempt > 0);
    }
    if (!lease) {
      co_await settle_session_slot(exchange, {});
      deps.metrics.upstream_response(0, 0);
      const bool timeout = lease.error() == UpstreamErrc::timeout;
      const bool keep = co_await discard_request_body(exchange);
      const bool kept = co_await respond_upstream_failure(exchange, timeout);
      co_return keep&& kept;
    }
    UpstreamConnection& upstream = *lease->connection;
    // A deadline passing mid-exchange cancels the upstream's I/O too.
    upstream_in_use_ = &upstream.stream;
    const UpstreamInUse in_use{upstream_in_use_};

    // The request: its head as the upstream should see it, then its body as it arrives.
    head_.clear();
    exchange.upstream.request_id = exchange.request_id;
    write_upstream_request_head(req, exchange.upstream, head_);
    if (!sent_body.empty()) {  // a retry: what the first attempt took of the body goes first
      HeadWriter piece(head_);
      if (chunked) {
        char size_line[16];
        auto [end, hex_ec] =
            std::to_chars(size_line, size_line + sizeof(size_line), sent_body.size(), 16);
        (void)hex_ec;
        piece.put(std::string_view(size_line, static_cast<std::size_t>(end - size_line)), "\r\n",
                  sent_body, "\r\n");
      } else {
        piece.put(sent_body);
      }
    }
    const bool may_retry = lease->reused;  // only the first attempt: a retry is on a fresh one
    const RelayResult sent = co_await relay_message(
        stream_.socket(), buffer_, parser, config.http.idle_timeout, upstream.stream.socket(),
        config.upstream.request_timeout, chunked, head_, may_retry ? &sent_body : nullptr);
    if (sent.read_error) {
      co_await settle_session_slot(exchange, {});
      if (sent.read_error == http::error::body_limit) {
        co_await respond_error(exchange, http::status::payload_too_large, "invalid_request_error",
                               "request_too_large", "Request body too large.");
      }
      co_return false;  // the client went away or sent too much: nothing more to say
    }

    http::response_parser<http::buffer_body> rp;
    rp.body_limit(boost::none);
    if (req.method() == http::verb::head) rp.skip(true);
    beast::error_code ec = sent.write_error;
    if (!ec) {
      arm(config.upstream.request_timeout);
      ec = co_await read_head(upstream.stream.socket(), upstream.buffer, rp);
    }
    if (ec) {
      // A pooled connection the upstream closed as the request went out (after take_idle()
      // checked it): once more on a fresh connection, if the upstream sent nothing back
      // and every body byte taken from the client can be sent again (at most
      // kMaxCapturedBytes were kept). Never after a byte of answer, never on a timeout.
      const bool answered =
          rp.got_some() || upstream.buffer.size() != 0 ||
          (sent.write_error && peek(upstream.stream.socket()) == PeekResult::data);
      if (may_retry && !answered && !timed_out(ec) && sent_body.size() == sent.body_bytes) {
        spdlog::debug("pooled upstream connection failed ({}): retrying on a fresh one",
                      ec.message());
        continue;
      }
      co_await settle_session_slot(exchange, {});
      deps.metrics.upstream_response(0, 0);
      spdlog::debug("upstream exchange failed: {}", ec.message());
      co_await respond_upstream_failure(exchange, timed_out(ec));
      co_return false;
    }
    deps.metrics.upstream_response(
        rp.get().result_int(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

    // The response: its head with the gateway's fields, then its body as it arrives. A
    // body delimited only by the upstream closing its connection reaches the client only
    // the same way.
    const bool delimited = rp.is_done() || rp.chunked() || rp.content_length().has_value();
    const bool keep_alive = delimited && client_keep_alive && !worker_.draining();
    const int status = rp.get().result_int();

    // A new session's answer is held until its slot is bound to the id in it, so the
    // client cannot end the session before the gateway knows it (small answers only;
    // a larger or unsized one is relayed first and settled after).
    // An ended session's slot is free once the upstream says so, before the client hears
    // it: a creation the client sends next (on any connection) finds the slot free.
    if (!exchange.ending_session.empty() && status / 100 == 2) {
      co_await release_session_slot(exchange, exchange.ending_session);
    }
    std::string held;
    if (creating_session(exchange) && rp.content_length() &&
        *rp.content_length() <= kMaxCapturedBytes) {
      if (!co_await read_whole_body(upstream, rp, held)) {
        co_await settle_session_slot(exchange, {});
        co_await respond_upstream_failure(exchange, false);
        co_return false;
      }
      exchange.upstream_status = status;
      co_await settle_session_slot(exchange, held);
    }

    head_.clear();
    write_client_response_head(exchange, rp.get(), keep_alive, head_);
    RelayResult relayed;
    if (exchange.upstream_status != 0) {
      const std::array<net::const_buffer, 2> buffers{net::buffer(head_.data(), head_.size()),
                                                     net::buffer(held)};
      arm(config.upstream.request_timeout);
      auto [wec, n] = co_await net::async_write(stream_.socket(), buffers, use_nothrow);
      relayed.write_error = wec;
    } else {
      relayed = co_await relay_message(upstream.stream.socket(), upstream.buffer, rp,
                                       config.upstream.request_timeout, stream_.socket(),
                                       config.upstream.request_timeout, rp.chunked(), head_,
                                       creating_session(exchange) ? &held : nullptr);
      exchange.upstream_status = relayed.read_error ? 0 : status;
      if (creating_session(exchange)) co_await settle_session_slot(exchange, held);
    }
    if (relayed.read_error || relayed.write_error) co_return false;
    if (rp.keep_alive()) worker_.upstream().release(std::move(lease->connection));
    co_return keep_alive;
  }
}

// Reads a response body of known, small length whole (a session creation's answer).
net::awaitable<bool> HttpConnection::read_whole_body(UpstreamConnection& upstream,
                                                     http::response_parser<http::buffer_body>& rp,
                                                     std::string& body) {
  const auto length = rp.content_length();
  body.resize(length ? static_cast<std::size_t>(*length) : 0);
  std::size_t filled = 0;
  while (!rp.is_done()) {
    rp.get().body().data = body.data() + filled;
    rp.get().body().size = body.size() - filled;
    arm(policy().config().upstream.request_timeout);
    auto [ec, n] =
        co_await http::async_read_some(upstream.stream, upstream.buffer, rp, use_nothrow);
    if (ec && ec != http::error::need_buffer) co_return false;
    filled = body.size() - rp.get().body().size;
  }
  body.resize(filled);
  co_return true;
}

// ---------------------------------------------------------------------------------------
// Concurrent-session slots (SPEC §4). The slot is taken before the creation is forwarded,
// bound to the id of the upstream's 2xx answer, and given back on any other outcome.

net::awaitable<std::optional<store::SlotGrant>> HttpConnection::acquire_session_slot(
    Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const Caller& caller = *exchange.caller;
  const std::chrono::seconds lease = policy().config().sessions.lease;
  auto grant = co_await async_session<store::SlotGrant>([&](auto executor, auto done) {
    deps.sessions.acquire(caller.subject, caller.account_id, caller.limits.concurrent_sessions,
                          exchange.now, lease, executor, std::move(done));
  });
  if (!grant) {
    deps.metrics.store_error();
    log_store_failure("session store", grant.error().detail);
    if (policy().config().store.on_failure != config::OnStoreFailure::fail_closed) {
      // Degraded (fail_open, and local: slots are only meaningful shared): the session is
      // created without a slot; exchange.slot stays empty, so nothing is bound later.
      co_return store::SlotGrant{.acquired = true};
    }
    co_await discard_request_body(exchange);
    co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                           "rate_limiter_unavailable",
                           "The rate limiter is unavailable. Retry later.");
    co_return std::nullopt;
  }
  exchange.slot = *grant;
  co_return std::move(*grant);
}

net::awaitable<bool> HttpConnection::respond_no_session_slot(Exchange& exchange,
                                                             std::string_view group) {
  const ProxyDeps& deps = worker_.deps();
  // Its X-RateLimit-* fields describe the session limit, not the request counters (which
  // have room, and would tell a header-driven client to go on).
  exchange.session_limit_refused = true;
  deps.metrics.decision(exchange.caller->plan_name, group, metrics::DecisionResult::denied);
  deps.metrics.rejected_429("concurrent_session_limit_exceeded");
  record_usage(deps, *exchange.caller, false, exchange.now);
  const store::SlotGrant& slot = *exchange.slot;
  const std::string message = fmt::format(
      "Concurrent session limit exceeded ({} active, limit {}). End a session before creating "
      "another.",
      slot.active, slot.limit.value_or(0));
  std::string body;
  core::append_json(core::ApiError{.type = "rate_limit_error",
                                   .code = "concurrent_session_limit_exceeded",
                                   .message = message,
                                   .request_id = exchange.request_id},
                    body);
  const bool keep = co_await discard_request_body(exchange);
  const bool kept = co_await respond(exchange, http::status::too_many_requests, body);
  co_return keep&& kept;
}

net::awaitable<void> HttpConnection::cancel_session_slot(Exchange& exchange) {
  if (!creating_session(exchange)) co_return;
  exchange.slot_settled = true;
  const ProxyDeps& deps = worker_.deps();
  const Caller& caller = *exchange.caller;
  auto cancelled = co_await async_session<bool>([&](auto executor, auto done) {
    deps.sessions.cancel(caller.subject, exchange.slot->reservation, executor, std::move(done));
  });
  if (!cancelled) spdlog::error("session store: cancel: {}", cancelled.error().detail);
}

namespace {

// The "id" of a session-creation answer, or empty.
std::string session_id_of(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  const auto* id = value.as_object().if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty()) return {};
  return std::string(id->as_string());
}

}  // namespace

// Binds the slot to the id of a 2xx answer; gives it back otherwise.
net::awaitable<void> HttpConnection::settle_session_slot(Exchange& exchange,
                                                         std::string_view response_body) {
  if (!creating_session(exchange)) co_return;
  std::string session_id;
  if (exchange.upstream_status / 100 == 2) {
    session_id = session_id_of(response_body);
    if (session_id.empty()) {
      spdlog::warn("session creation answered {} without a parsable \"id\": slot given back",
                   exchange.upstream_status);
    }
  }
  if (session_id.empty()) {
    co_await cancel_session_slot(exchange);
    co_return;
  }

  exchange.slot_settled = true;
  const ProxyDeps& deps = worker_.deps();
  const Caller& caller = *exchange.caller;
  const std::chrono::seconds lease = policy().config().sessions.lease;
  auto bound = co_await async_session<bool>([&](auto executor, auto done) {
    deps.sessions.bind(caller.subject, exchange.slot->reservation, session_id, exchange.now, lease,
                       executor, std::move(done));
  });
  if (!bound) {
    spdlog::error("session store: bind: {}", bound.error().detail);
  } else if (!*bound) {
    spdlog::warn("session {}: its slot was freed before the upstream answered", session_id);
  }
}

// `POST /v1/sessions/{id}/end` answered 2xx: the session's slot is free (idempotent).
net::awaitable<void> HttpConnection::release_session_slot(Exchange& exchange,
                                                          std::string session_id) {
  const ProxyDeps& deps = worker_.deps();
  const Caller& caller = *exchange.caller;
  auto released = co_await async_session<bool>([&](auto executor, auto done) {
    deps.sessions.release(caller.subject, session_id, executor, std::move(done));
  });
  if (!released) spdlog::error("session store: release: {}", released.error().detail);
}

// ---------------------------------------------------------------------------------------
// Session streams (SPEC §5): both WebSocket handshakes, then a StreamRelay.

// Stream upgrades carry no API key (the upstream checks the session's token), yet each
// costs an upstream connection and two handshakes: they are limited per client block
// (websocket.upgrades_per_minute_per_ip) on the shared counters, before anything else.
// A store failure admits: the per-instance stream caps still bound what it can cost.
net::awaitable<bool> HttpConnection::admit_stream_upgrade(Exchange& exchange) {
  static core::LogThrottle refusal_log;
  const ProxyDeps& deps = worker_.deps();
  const auto& config = policy().config();
  const std::string client = core::client_block_text(exchange.client);
  const std::string subject = "upgrade:" + client;
  const store::LimitRef limit{
      "stream_upgrades", limiter::LimitSpec{.limit = config.websocket.upgrades_per_minute_per_ip,
                                            .window = std::chrono::seconds(60),
                                            .algorithm = config.algorithm}};
  const store::CheckRequest request{subject, {&limit, 1}, 1, store::hash_subject(subject)};
  std::optional<store::CheckOutcome> decided =
      deps.counters.check_immediately(request, exchange.now);
  if (!decided) decided = co_await async_check(deps.counters, request, exchange.now);
  if (!*decided) {
    log_store_failure("counter store error (stream upgrade)", decided->error().detail);
    co_return true;
  }
  const store::CheckResult& result = **decided;
  if (result.admitted) co_return true;
  deps.metrics.refused("upgrades_per_minute_per_ip");
  if (auto held_back = refusal_log.admit()) {
    spdlog::warn("stream upgrades from {} refused: over {} a minute ({} more held back)", client,
                 config.websocket.upgrades_per_minute_per_ip, *held_back);
  }
  const std::int64_t retry = retry_after_seconds(result.decisions[0]);
  const std::string message = fmt::format(
      "Too many stream connection attempts from this address ({} per minute). Retry after {} "
      "second{}.",
      config.websocket.upgrades_per_minute_per_ip, retry, retry == 1 ? "" : "s");
  co_await respond_error(exchange, http::status::too_many_requests, "rate_limit_error",
                         "too_many_stream_upgrades", message, retry);
  co_return false;
}

net::awaitable<void> HttpConnection::relay_stream(Exchange& exchange, std::string session_id) {
  namespace websocket = boost::beast::websocket;
  static core::LogThrottle unknown_session_log;
  const ProxyDeps& deps = worker_.deps();
  const auto& config = policy().config();
  auto& req = exchange.parser->get();

  if (!co_await admit_stream_upgrade(exchange)) co_return;
  // Caps of this instance, taken before the upstream is contacted and held for the
  // stream's life.
  StreamAdmission::Ticket admission;
  switch (worker_.limits().streams.admit(session_id, config.websocket.max_streams,
                                         config.websocket.max_streams_per_session, admission)) {
    case StreamAdmission::Refusal::none:
      break;
    case StreamAdmission::Refusal::total:
      deps.metrics.refused("max_streams");
      co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                             "server_busy",
                             "This gateway instance has no room for another stream. Retry "
                             "shortly (another instance may take it).",
                             1);
      co_return;
    case StreamAdmission::Refusal::per_session: {
      deps.metrics.refused("max_streams_per_session");
      const std::string message =
          fmt::format("This session already has {} open stream{}; close one first.",
                      config.websocket.max_streams_per_session,
                      config.websocket.max_streams_per_session == 1 ? "" : "s");
      co_await respond_error(exchange, http::status::too_many_requests, "rate_limit_error",
                             "too_many_streams", message, 1);
      co_return;
    }
  }

  // Whose session is it? Its creator's limits apply; a session never seen here gets the
  // free plan's (and a log line).
  std::shared_ptr<const Caller> caller;
  auto found =
      co_await async_session<std::optional<store::SessionRecord>>([&](auto executor, auto done) {
        deps.sessions.find(session_id, exchange.now, executor, std::move(done));
      });
  if (found && *found) {
    const store::KeyEnvironment environment = (*found)->subject.ends_with(":test")
                                                  ? store::KeyEnvironment::test
                                                  : store::KeyEnvironment::live;
    CallerResult resolved =
        co_await resolve_account(worker_.callers(), deps.accounts, (*found)->account_id,
                                 environment, policy_, policy_version_);
    if (resolved) {
      caller = std::move(*resolved);
    } else {
      spdlog::error("account store: {}", resolved.error());
    }
  } else if (!found) {
    log_store_failure("session store: find", found.error().detail);
  }
  if (!caller) {
    // Anyone can ask for a made-up session: a line a second, not a line an attempt.
    if (auto held_back = unknown_session_log.admit()) {
      spdlog::info(
          "stream for session {} the gateway did not see created: free plan limits ({} more "
          "such streams since the last line)",
          session_id, *held_back);
    }
  }

  // The upstream side first, so its refusal (a bad token, say) reaches the client as is.
  auto lease = co_await worker_.upstream().acquire(config.upstream, /*fresh_only=*/true);
  if (!lease) {
    co_await respond_upstream_failure(exchange, lease.error() == UpstreamErrc::timeout);
    co_return;
  }
  beast::tcp_stream& upstream_tcp = lease->connection->stream;
  upstream_tcp.expires_never();
  // Shared: a transport's last socket write may complete after this frame is gone.
  const auto upstream_transport =
      std::make_shared<RelayTransport>(upstream_tcp.socket(), worker_.relay_buffers());
  StreamRelay::WebSocket upstream(*upstream_transport);
  upstream.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  upstream.read_message_max(kMaxUpstreamMessageBytes);  // bounds memory; the upstream is trusted
  std::vector<std::pair<std::string, std::string>> passed;
  const HopByHopFilter hop_by_hop(req);
  for (const auto& field : req) {
    if (hop_by_hop.drops(field)) continue;
    const OriginField origin = origin_field(field.name_string());
    if (origin == OriginField::forwarded_for) continue;  // set below, as resolved
    if (origin == OriginField::other && !exchange.upstream.from_trusted_proxy) continue;
    switch (field.name()) {
      case http::field::host:
      case http::field::content_length:  // zero: checked above
      case http::field::sec_websocket_key:
      case http::field::sec_websocket_version:
      case http::field::sec_websocket_extensions:
        continue;  // the handshake sets its own
      default:
        passed.emplace_back(field.name_string(), field.value());
    }
  }
  passed.emplace_back("X-Forwarded-For", exchange.upstream.forwarded_for);
  passed.emplace_back("X-Forwarded-Proto", "http");
  passed.emplace_back("X-Request-ID", exchange.request_id);
  upstream.set_option(
      websocket::stream_base::decorator([passed = std::move(passed)](websocket::request_type& r) {
        for (const auto& [name, value] : passed) r.set(name, value);
      }));
  websocket::response_type upstream_answer;
  const std::string host = config.upstream.host + ":" + std::to_string(config.upstream.port);
  const std::string target(req.target());
  auto [hec] = co_await upstream.async_handshake(upstream_answer, host, target, use_nothrow);
  if (hec) {
    if (upstream_answer.result_int() >= 400) {
      // The upstream refused the stream (a bad token, an ended session): say so.
      const std::string body = upstream_answer.body();
      co_await respond(exchange, upstream_answer.result(), body);
    } else {
      co_await respond_upstream_failure(exchange, is_timeout(hec));
    }
    co_return;
  }

  // Then the client side, agreeing to the subprotocol the upstream chose.
  stream_.expires_never();
  const auto client_transport =
      std::make_shared<RelayTransport>(stream_.socket(), worker_.relay_buffers());
  StreamRelay::WebSocket client(*client_transport);
  client.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  client.read_message_max(0);  // the relay enforces max_message_bytes itself (with 1009)
  std::string protocol(upstream_answer[http::field::sec_websocket_protocol]);
  client.set_option(websocket::stream_base::decorator(
      [protocol = std::move(protocol), id = exchange.request_id,
       date = std::string(core::http_date(core::to_unix_seconds(exchange.now)))](
          websocket::response_type& r) {
        if (!protocol.empty()) r.set(http::field::sec_websocket_protocol, protocol);
        r.set(http::field::date, date);
        r.set("X-Request-ID", id);
      }));
  auto [aec] = co_await client.async_accept(req, use_nothrow);
  if (aec) {
    co_await upstream.async_close(websocket::close_code::going_away, use_nothrow);
    co_return;
  }

  StreamRelay relay(worker_, client, upstream, std::move(caller), std::move(session_id));
  co_await relay.run();
}

// Status line and fields for the client: the upstream's, less hop-by-hop fields and the
// fields the gateway sets itself, plus the gateway's.
void HttpConnection::write_client_response_head(Exchange& exchange,
                                                const http::response_header<>& res, bool keep_alive,
                                                HeadBuffer& out) {
  HeadWriter head(out);
  head.status_line(res.result_int(), res.reason());
  // RFC 9110 §6.6.1: a response forwarded without a Date gets one.
  if (res.find(http::field::date) == res.end()) {
    head.field("Date", core::http_date(core::to_unix_seconds(exchange.now)));
  }
  const HopByHopFilter hop_by_hop(res);
  for (const auto& field : res) {
    if (hop_by_hop.drops(field)) continue;
    const std::string_view name = field.name_string();
    if (beast::iequals(name, "X-Request-ID")) continue;
    if (exchange.decided &&
        (name.size() > 12 && beast::iequals(name.substr(0, 12), "X-RateLimit-"))) {
      continue;
    }
    head.field(name, field.value());
  }
  write_gateway_fields(exchange, head);
  write_connection_field(exchange, head, keep_alive);
  head.end();
}

// Streams one message: `head` (already written for the other side) goes out with the first
// piece of body, then the body as the parser yields it from `in`, through a relay buffer
// (a 50 MB upload is never held whole). A chunked body is re-chunked as it is relayed.
template <class Parser>
net::awaitable<HttpConnection::RelayResult> HttpConnection::relay_message(
    tcp::socket& in, beast::flat_buffer& in_buffer, Parser& parser,
    std::chrono::milliseconds read_timeout, tcp::socket& out,
    std::chrono::milliseconds write_timeout, bool chunked, const HeadBuffer& head,
    std::string* capture) {
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  auto& body = parser.get().body();
  std::optional<RelayBuffers::Handle> chunk;
  bool head_sent = false;
  std::uint64_t taken = 0;  // body bytes
  for (;;) {
    std::size_t bytes = 0;
    if (!parser.is_done()) {
      if (!chunk) chunk.emplace(worker_.relay_buffers().take());
      body.data = chunk->data();
      body.size = chunk->size();
      // Relay what has arrived instead of waiting for a full buffer; read only when the
      // parser has nothing buffered to go on with (see head_reader.h for why not
      // http::async_read_some).
      beast::error_code ec;
      if (feed_body(in_buffer, parser, ec) && !ec && body.size == chunk->size()) {
        arm(read_timeout);
        const std::size_t size = beast::read_size(in_buffer, 65536);
        if (size == 0) {
          co_return RelayResult{.read_error = http::error::buffer_overflow, .body_bytes = taken};
        }
        auto [read_ec, n] = co_await in.async_read_some(in_buffer.prepare(size), use_nothrow);
        if (read_ec == net::error::eof) {
          parser.put_eof(ec);  // completes a body delimited by the end of the connection
        } else if (read_ec) {
          ec = read_ec;
        } else {
          in_buffer.commit(n);
          continue;
        }
      }
      if (ec) co_return RelayResult{.read_error = ec, .body_bytes = taken};
      bytes = chunk->size() - body.size;
      taken += bytes;
    }
    const bool last = parser.is_done();
    if (bytes == 0 && !last) continue;

    char size_line[20];
    std::array<net::const_buffer, 5> buffers{};
    std::size_t count = 0;
    if (!head_sent) buffers[count++] = net::buffer(head.data(), head.size());
    if (bytes > 0) {
      if (chunked) {
        auto [end, ec] = std::to_chars(size_line, size_line + 16, bytes, 16);
        (void)ec;
        end[0] = '\r';
        end[1] = '\n';
        buffers[count++] = net::buffer(size_line, static_cast<std::size_t>(end + 2 - size_line));
      }
      buffers[count++] = net::buffer(chunk->data(), bytes);
      if (chunked) buffers[count++] = net::buffer(kCrlf);
      if (capture != nullptr && capture->size() < kMaxCapturedBytes) {
        capture->append(chunk->data(), std::min(bytes, kMaxCapturedBytes - capture->size()));
      }
    }
    if (last && chunked) buffers[count++] = net::buffer(kLastChunk);
    if (count > 0) {
      arm(write_timeout);
      auto [ec, n] = co_await net::async_write(out, buffers, use_nothrow);
      if (ec) co_return RelayResult{.write_error = ec, .body_bytes = taken};
    }
    head_sent = true;
    if (last) co_return RelayResult{.body_bytes = taken};
  }
}

}  // namespace gw::proxy

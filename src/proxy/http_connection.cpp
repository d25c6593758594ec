#include "proxy/http_connection.h"

#include <boost/beast/websocket/rfc6455.hpp>

#include "core/request_id.h"
#include "policy/request_target.h"
#include "proxy/client_address.h"
#include "proxy/credentials.h"
#include "proxy/head_reader.h"
#include "proxy/request_validation.h"
#include "proxy/worker.h"

namespace gw::proxy {
using policy::is_normal_target;
using policy::normalize_target;

namespace {

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
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
  const auto& trusted = settings().trusted_proxies;
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
  deadline_.arm(worker_.deps().clock.steady_now(), timeout);
  expired_ = false;
}

void HttpConnection::expire_if_due(core::SteadyTime now) {
  if (!deadline_.due(now)) return;
  disarm();
  expired_ = true;
  stream_.cancel();
  if (upstream_in_use_ != nullptr) upstream_in_use_->cancel();
}

bool HttpConnection::timed_out(const beast::error_code& ec) const {
  return is_timeout(ec) || (expired_ && ec == net::error::operation_aborted);
}

void HttpConnection::refresh_config() {
  const std::uint64_t version = worker_.deps().running.version();
  if (version != decision_context_.policy_version) {
    running_ = worker_.deps().running.current();
    decision_context_ = {running_->shared_policy(), version, running_->decision()};
  }
}

net::awaitable<void> HttpConnection::run() {
  refresh_config();
  while (!worker_.draining()) {
    if (!co_await wait_for_request()) break;
    const auto& http_config = settings().http;
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
  arm(settings().http.idle_timeout);
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
  refresh_config();

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

  if (auto length = parser.content_length(); length && *length > settings().http.max_body_bytes) {
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
  // (A cached caller costs no coroutine frame. No co_await inside a conditional
  // expression: GCC 12 mishandles the temporaries.)
  decision::Decider& decider = worker_.decider();
  const decision::PresentedCredential credential = presented_credential(req);
  std::optional<decision::Identity> identity =
      decider.identify_now(credential, exchange.client, decision_context_);
  if (!identity)
    identity = co_await decider.identify(credential, exchange.client, decision_context_);
  if (identity->refusal) co_return co_await refuse(exchange, *identity->refusal);
  exchange.caller = std::move(identity->caller);
  if (identity->key_charged) {
    exchange.upstream.credential = {credential.key, credential.via_authorization};
  }

  // 2. Self-service status: answered here, never counted, never forwarded.
  if (req.method() == http::verb::get && path == "/v1/rate_limits") {
    co_return co_await answer_rate_limits(exchange);
  }

  // 3. The limits: plan-wide and the route's group.
  exchange.limits = decision::Decider::limits(*exchange.caller, method, path, policy());

  // 4. A new session first needs a free slot (before its rate-limit units are spent, so a
  // refusal costs nothing).
  if (session_route == policy::SessionRoute::create) {
    if (!co_await acquire_session_slot(exchange)) co_return false;  // answered
    if (exchange.slot && !exchange.slot->grant().acquired) {
      co_return co_await respond_no_session_slot(exchange);
    }
  }

  // 5. The decision: all or nothing.
  std::optional<decision::Verdict> verdict =
      decider.check_now(*exchange.caller, exchange.limits, 1, exchange.now, decision_context_);
  if (!verdict) {
    verdict = co_await decider.check(exchange.caller, exchange.limits, 1, exchange.now,
                                     decision_context_);
  }
  exchange.verdict = std::move(*verdict);
  if (exchange.verdict.refusal) {
    co_await cancel_session_slot(exchange);
    co_return co_await refuse(exchange, *exchange.verdict.refusal);
  }

  // 6. Forward and relay; a session's slot follows the upstream's answer.
  if (session_route == policy::SessionRoute::end) exchange.ending_session = std::move(session_id);
  co_return co_await forward(exchange);  // settles a new or ended session's slot
}

// A request the decision refused: its body is read and dropped if small (so the
// connection can go on), then the refusal is answered. After a 503 the connection
// closes: the client should come back later, not send more on it.
net::awaitable<bool> HttpConnection::refuse(Exchange& exchange, decision::Refusal refusal) {
  const bool keep = co_await discard_request_body(exchange);
  const bool kept = co_await respond_refusal(exchange, refusal);
  co_return keep&& kept&& refusal.status != 503;
}

}  // namespace gw::proxy

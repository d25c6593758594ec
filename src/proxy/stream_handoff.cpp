// A session stream's hand-off (SPEC §5): `GET /v1/sessions/{id}/connect` with an Upgrade
// is admitted (upgrades per client block, streams per session and in all), its session's
// creator found (its limits apply), the upstream's WebSocket handshake completed first
// (so its refusal reaches the client as is), then the client's; both sockets then go to
// a StreamRelay for the stream's life.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/websocket.hpp>

#include "core/http_date.h"
#include "core/log_throttle.h"
#include "decision/rate_limit_fields.h"
#include "decision/store_failure_log.h"
#include "proxy/client_address.h"
#include "proxy/hop_by_hop.h"
#include "proxy/http_connection.h"
#include "proxy/worker.h"
#include "store/store_await.h"
#include "store/subject.h"
#include "stream/stream_relay.h"

namespace gw::proxy {
namespace {

constexpr std::uint64_t kMaxUpstreamMessageBytes = 64ull * 1024 * 1024;

}  // namespace

// Stream upgrades carry no API key (the upstream checks the session's token), yet each
// costs an upstream connection and two handshakes: they are limited per client block
// (websocket.upgrades_per_minute_per_ip) on the shared counters, before anything else.
// A store failure admits: the per-instance stream caps still bound what it can cost.
net::awaitable<bool> HttpConnection::admit_stream_upgrade(Exchange& exchange) {
  static core::LogThrottle refusal_log;
  const ProxyDeps& deps = worker_.deps();
  const config::GatewayConfig& config = settings();
  const std::string client = core::client_block_text(exchange.client);
  const std::string subject = "upgrade:" + client;
  const store::LimitRef limit{
      "stream_upgrades", limiter::LimitSpec{.limit = config.websocket.upgrades_per_minute_per_ip,
                                            .window = std::chrono::seconds(60),
                                            .algorithm = config.algorithm}};
  const store::CheckRequest request{subject, {&limit, 1}, 1, store::hash_subject(subject)};
  std::optional<store::CheckOutcome> decided =
      deps.counters.check_immediately(request, exchange.now);
  if (!decided) decided = co_await store::async_check(deps.counters, request, exchange.now);
  if (!*decided) {
    decision::log_store_failure("counter store error (stream upgrade)", decided->error().detail);
    co_return true;
  }
  const store::CheckResult& result = **decided;
  if (result.admitted) co_return true;
  deps.metrics.refused("upgrades_per_minute_per_ip");
  if (auto held_back = refusal_log.admit()) {
    spdlog::warn("stream upgrades from {} refused: over {} a minute ({} more held back)", client,
                 config.websocket.upgrades_per_minute_per_ip, *held_back);
  }
  const std::int64_t retry = decision::retry_after_seconds(result.decisions[0]);
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
  const config::GatewayConfig& config = settings();
  auto& req = exchange.parser->get();

  if (!co_await admit_stream_upgrade(exchange)) co_return;
  // Caps of this instance, taken before the upstream is contacted and held for the
  // stream's life.
  stream::StreamAdmission::Ticket admission;
  switch (worker_.limits().streams.admit(session_id, config.websocket.max_streams,
                                         config.websocket.max_streams_per_session, admission)) {
    case stream::StreamAdmission::Refusal::none:
      break;
    case stream::StreamAdmission::Refusal::total:
      deps.metrics.refused("max_streams");
      co_await respond_error(exchange, http::status::service_unavailable, "api_error",
                             "server_busy",
                             "This gateway instance has no room for another stream. Retry "
                             "shortly (another instance may take it).",
                             1);
      co_return;
    case stream::StreamAdmission::Refusal::per_session: {
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
  std::shared_ptr<const decision::Caller> caller;
  auto found = co_await store::async_session<std::optional<store::SessionRecord>>(
      [&](auto executor, auto done) {
        deps.sessions.find(session_id, exchange.now, executor, std::move(done));
      });
  if (found && *found) {
    const store::KeyEnvironment environment = store::environment_of((*found)->subject);
    decision::Identity identity = co_await worker_.decider().identify_account(
        (*found)->account_id, environment, decision_context_);
    caller = std::move(identity.caller);  // null when the store failed (logged) or it is gone
  } else if (!found) {
    decision::log_store_failure("session store: find", found.error().detail);
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
      std::make_shared<stream::RelayTransport>(upstream_tcp.socket(), worker_.relay_buffers());
  stream::StreamRelay::WebSocket upstream(*upstream_transport);
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
      std::make_shared<stream::RelayTransport>(stream_.socket(), worker_.relay_buffers());
  stream::StreamRelay::WebSocket client(*client_transport);
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

  stream::StreamRelay relay(worker_.stream_deps(), client, upstream, std::move(caller),
                            std::move(session_id));
  co_await relay.run();
}

// Status line and fields for the client: the upstream's, less hop-by-hop fields and the
// fields the gateway sets itself, plus the gateway's.

}  // namespace gw::proxy

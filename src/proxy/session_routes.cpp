// The session routes' part of a request (SPEC §4 concurrent sessions): POST /v1/sessions
// first takes a slot (a refusal is a 429 that charges no rate-limit unit); the slot
// (SessionSlot) is bound to the id of the upstream's 2xx answer or given back. POST
// /v1/sessions/{id}/end answered 2xx frees the session's slot.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/api_error.h"
#include "decision/store_failure_log.h"
#include "proxy/http_connection.h"
#include "proxy/worker.h"
#include "store/store_await.h"

namespace gw::proxy {

net::awaitable<bool> HttpConnection::acquire_session_slot(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  const decision::Caller& caller = *exchange.caller;
  const std::chrono::seconds lease = settings().sessions.lease;
  auto grant = co_await store::async_session<store::SlotGrant>([&](auto executor, auto done) {
    deps.sessions.acquire(caller.subject, caller.account_id, caller.limits.concurrent_sessions,
                          exchange.now, lease, executor, std::move(done));
  });
  if (!grant) {
    deps.metrics.store_error();
    decision::log_store_failure("session store", grant.error().detail);
    if (settings().store.on_failure != config::OnStoreFailure::fail_closed) {
      // Degraded (fail_open, and local: slots are only meaningful shared): the session is
      // created without a slot; there is nothing to bind later.
      co_return true;
    }
    co_await refuse(exchange, decision::rate_limiter_unavailable());
    co_return false;
  }
  exchange.slot.emplace(deps.sessions, stream_.get_executor(), caller.subject, std::move(*grant));
  co_return true;
}

net::awaitable<bool> HttpConnection::respond_no_session_slot(Exchange& exchange) {
  const ProxyDeps& deps = worker_.deps();
  // Its X-RateLimit-* fields describe the session limit, not the request counters (which
  // have room, and would tell a header-driven client to go on).
  exchange.session_limit_refused = true;
  deps.metrics.decision(exchange.caller->plan_name, exchange.limits.group_name,
                        metrics::DecisionResult::denied);
  deps.metrics.rejected_429("concurrent_session_limit_exceeded");
  if (!exchange.caller->anonymous) {
    deps.usage.record(exchange.caller->account_id, false, exchange.now);
  }
  const store::SlotGrant& slot = exchange.slot->grant();
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

net::awaitable<void> HttpConnection::settle_session_slot(Exchange& exchange,
                                                         std::string_view response_body) {
  if (!creating_session(exchange)) co_return;
  co_await exchange.slot->settle(exchange.upstream_status, response_body, exchange.now,
                                 settings().sessions.lease);
}

net::awaitable<void> HttpConnection::cancel_session_slot(Exchange& exchange) {
  if (exchange.slot) co_await exchange.slot->cancel();
}

// `POST /v1/sessions/{id}/end` answered 2xx: the session's slot is free (idempotent).
net::awaitable<void> HttpConnection::release_session_slot(Exchange& exchange,
                                                          std::string session_id) {
  const ProxyDeps& deps = worker_.deps();
  const decision::Caller& caller = *exchange.caller;
  auto released = co_await store::async_session<bool>([&](auto executor, auto done) {
    deps.sessions.release(caller.subject, session_id, executor, std::move(done));
  });
  if (!released) spdlog::error("session store: release: {}", released.error().detail);
}

}  // namespace gw::proxy

// The admin API's routes (SPEC §6): accounts, keys, usage, sessions under /admin/v1/
// and the decision service's POST /v1/check (SPEC §8) (bearer token required), and the operator
// endpoints /healthz, /readyz, /metrics and /dashboard (no token: they hold no account data, and
// the admin listener binds to loopback by default).
//
// Transport-free: handle() takes a parsed request and yields a response, so it is tested
// without sockets. Errors use the Kallglot error body; 400/404 are invalid_request_error,
// 401 authentication_error, store failures 500/503 api_error. Tokens and keys are never
// logged.
//
// Thread-safety: handle() is const and may run concurrently on any threads; the state it
// touches (stores, usage, metrics) is thread-safe, and POST /v1/check decides on
// `deps.decider`, which belongs to the thread that runs the admin listener. `deps` must
// outlive the router and every handle() in flight.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "admin/admin_deps.h"
#include "admin/admin_http.h"

namespace gw::admin {

class AdminRouter {
 public:
  using Done = std::function<void(Response)>;

  explicit AdminRouter(AdminDeps deps);

  // Answers `request`: the response itself when it is ready at once (`done` is then never
  // called), or nullopt when the route waits for a store (usage, sessions, a check that
  // needs Redis); `done` then runs exactly once, on `executor`, never inline.
  std::optional<Response> handle(Request request, boost::asio::any_io_executor executor,
                                 Done done) const;

 private:
  struct Context;  // one request being routed

  std::optional<Response> route(Context& ctx) const;  // nullopt: answered asynchronously
  std::optional<Response> route_admin(Context& ctx) const;
  // 401 unless the request carries the admin token.
  std::optional<Response> refuse_unauthorized(Context& ctx) const;

  Response put_account(Context& ctx, std::string_view account_id) const;
  Response get_account(Context& ctx, std::string_view account_id) const;
  Response delete_account(Context& ctx, std::string_view account_id) const;
  Response create_key(Context& ctx, std::string_view account_id) const;
  Response revoke_key(Context& ctx, std::string_view key_id) const;
  std::optional<Response> get_usage(Context& ctx, std::string_view account_id) const;
  std::optional<Response> list_sessions(Context& ctx, std::string_view account_id) const;
  std::optional<Response> free_session(Context& ctx, std::string_view account_id,
                                       std::string_view session_id) const;

  std::optional<Response> post_check(Context& ctx) const;  // POST /v1/check (SPEC §8)

  Response healthz(Context& ctx) const;
  Response readyz(Context& ctx) const;
  Response metrics(Context& ctx) const;
  Response dashboard(Context& ctx) const;

  void accounts_changed() const;

  AdminDeps deps_;
};

}  // namespace gw::admin

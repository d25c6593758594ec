#include "admin/admin_router.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "admin/account_json.h"
#include "admin/admin_auth.h"
#include "admin/check_exchange.h"
#include "admin/dashboard_page.h"
#include "admin/json_body.h"
#include "admin/usage_query.h"
#include "decision/check_runner.h"
#include "store/subject.h"

namespace gw::admin {

// Admin paths have at most five segments; a longer one is held on the heap and found in
// no route.
using PathSegments = boost::container::small_vector<std::string_view, 6>;

struct AdminRouter::Context {
  const Request& request;
  std::string request_id;
  boost::asio::any_io_executor executor;
  Done done;  // taken by asynchronous routes
  http::verb method;
  PathSegments segments;  // of the path, without the query
};

namespace {

// The answer to HEAD: the GET answer's head, its Content-Length included, with no body.
void without_body(Response& res) {
  const auto length = res.body().size();
  res.body().clear();
  res.content_length(length);
}

bool is_valid_id(std::string_view id) { return store::is_valid_account_id(id); }

PathSegments split_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  PathSegments segments;
  if (target.empty() || target.front() != '/') return segments;
  target.remove_prefix(1);
  for (;;) {
    const auto slash = target.find('/');
    segments.push_back(target.substr(0, slash));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash + 1);
  }
  return segments;
}

Response not_found(std::string_view message, std::string_view request_id,
                   std::string_view code = "not_found") {
  return error_response(http::status::not_found, kInvalidRequest, code, message, request_id);
}

Response bad_request(std::string_view message, std::string_view request_id,
                     std::optional<std::string_view> param = std::nullopt,
                     std::string_view code = "invalid_request") {
  return error_response(http::status::bad_request, kInvalidRequest, code, message, request_id,
                        param);
}

Response method_not_allowed(std::string_view allow, std::string_view request_id) {
  Response res =
      error_response(http::status::method_not_allowed, kInvalidRequest, "method_not_allowed",
                     "Method not allowed for this route.", request_id);
  res.set(http::field::allow, allow);
  return res;
}

Response store_failure(std::string_view what, const store::AccountStoreError& error,
                       std::string_view request_id) {
  spdlog::error("admin: {}: account store: {} (request {})", what, error.detail, request_id);
  return error_response(http::status::internal_server_error, kApiError, "internal_error",
                        "The account store failed; see the gateway log.", request_id);
}

Response invalid_account_id(std::string_view request_id) {
  return bad_request("account_id must be 1 to 128 characters of A-Z, a-z, 0-9, '_', '-', '.'.",
                     request_id, "account_id");
}

Response policy_unavailable(std::string_view request_id) {
  return error_response(http::status::service_unavailable, kApiError, "configuration_unavailable",
                        "No configuration is loaded.", request_id);
}

// A path segment with its %XX escapes decoded: session ids are the upstream's, so unlike
// account ids they may hold characters a client has to escape. nullopt: a malformed escape.
std::optional<std::string> percent_decode(std::string_view segment) {
  const auto escaped = boost::urls::make_pct_string_view(segment);
  if (!escaped) return std::nullopt;
  return escaped->decode();
}

// The answer to POST /v1/check: 200 with the decision, or 400 when the check itself is
// malformed (a path the proxy would refuse, say).
Response check_response(const decision::CheckAnswer& answer, std::string_view request_id) {
  if (answer.refusal && answer.refusal->status == 400) {
    const std::string_view param = answer.refusal->code == "invalid_cost" ? "cost" : "path";
    return bad_request(answer.refusal->message, request_id, param, answer.refusal->code);
  }
  return text_response(http::status::ok, check_answer_json(answer, request_id), "application/json",
                       request_id);
}

// POST /v1/check when the decision waits for a store (a caller not cached, Redis): the
// coroutine runs on the executor handle() was given and answers there.
boost::asio::awaitable<void> answer_check(decision::Decider& decider, decision::CheckQuery query,
                                          decision::DecisionContext context, core::UnixNanos now,
                                          std::string request_id, AdminRouter::Done done) {
  const decision::CheckAnswer answer =
      co_await decision::run_check(decider, std::move(query), std::move(context), now);
  done(check_response(answer, request_id));
}

}  // namespace

AdminRouter::AdminRouter(AdminDeps deps) : deps_(std::move(deps)) {}

std::optional<Response> AdminRouter::handle(Request request, boost::asio::any_io_executor executor,
                                            Done done) const {
  Context ctx{.request = request,
              .request_id = request_id_for(request),
              .executor = executor,
              .done = std::move(done),
              .method = request.method(),
              .segments = split_path(request.target())};
  const bool head = ctx.method == http::verb::head;
  if (head) {
    // HEAD is GET without the body (load balancers probe /healthz that way).
    ctx.method = http::verb::get;
    ctx.done = [done = std::move(ctx.done)](Response res) {
      without_body(res);
      done(std::move(res));
    };
  }

  std::optional<Response> res;
  try {
    res = route(ctx);
  } catch (const std::exception& e) {
    // Only allocation failures can get here; answer rather than drop the connection.
    spdlog::error("admin: {} request failed: {} (request {})", std::string(request.method_string()),
                  e.what(), ctx.request_id);
    res = error_response(http::status::internal_server_error, kApiError, "internal_error",
                         "Internal error.", ctx.request_id);
  }
  if (res && head) without_body(*res);
  return res;
}

std::optional<Response> AdminRouter::route(Context& ctx) const {
  const auto& s = ctx.segments;
  if (!s.empty() && s[0] == "admin") return route_admin(ctx);
  if (s.size() == 2 && s[0] == "v1" && s[1] == "check") {
    if (auto refused = refuse_unauthorized(ctx)) return refused;
    if (ctx.method != http::verb::post) return method_not_allowed("POST", ctx.request_id);
    return post_check(ctx);
  }

  if (s.size() == 1) {
    using Handler = Response (AdminRouter::*)(Context&) const;
    Handler handler = nullptr;
    if (s[0] == "healthz") handler = &AdminRouter::healthz;
    if (s[0] == "readyz") handler = &AdminRouter::readyz;
    if (s[0] == "metrics") handler = &AdminRouter::metrics;
    if (s[0] == "dashboard") handler = &AdminRouter::dashboard;
    if (handler) {
      if (ctx.method != http::verb::get) return method_not_allowed("GET, HEAD", ctx.request_id);
      return (this->*handler)(ctx);
    }
  }
  return not_found("Unknown route.", ctx.request_id);
}

std::optional<Response> AdminRouter::refuse_unauthorized(Context& ctx) const {
  // Two Authorization fields are no credential (RFC 9110 §5.3: it is not a list), whichever
  // of them holds the token.
  const AdminAuth auth =
      ctx.request.count(http::field::authorization) > 1
          ? AdminAuth::invalid
          : check_admin_token(ctx.request[http::field::authorization], deps_.admin_token);
  if (auth == AdminAuth::ok) return std::nullopt;
  const std::string_view message =
      auth == AdminAuth::disabled ? "The admin API is disabled: no admin token is configured."
      : auth == AdminAuth::missing
          ? "Missing admin token: send Authorization: Bearer <admin token>."
          : "Invalid admin token.";
  Response res = error_response(http::status::unauthorized, kAuthenticationError,
                                "invalid_admin_token", message, ctx.request_id);
  res.set(http::field::www_authenticate, "Bearer realm=\"kallglot-gateway-admin\"");
  return res;
}

std::optional<Response> AdminRouter::route_admin(Context& ctx) const {
  if (auto refused = refuse_unauthorized(ctx)) return refused;

  const auto& s = ctx.segments;
  const http::verb m = ctx.method;
  const std::string_view id = s.size() >= 4 ? s[3] : std::string_view();
  if (s.size() >= 4 && s[1] == "v1" && s[2] == "accounts" && !id.empty()) {
    if (s.size() == 4) {
      if (!is_valid_id(id)) return invalid_account_id(ctx.request_id);
      if (m == http::verb::put) return put_account(ctx, id);
      if (m == http::verb::get) return get_account(ctx, id);
      if (m == http::verb::delete_) return delete_account(ctx, id);
      return method_not_allowed("GET, HEAD, PUT, DELETE", ctx.request_id);
    }
    if (s.size() == 5 && s[4] == "keys") {
      if (!is_valid_id(id)) return invalid_account_id(ctx.request_id);
      if (m == http::verb::post) return create_key(ctx, id);
      return method_not_allowed("POST", ctx.request_id);
    }
    if (s.size() == 5 && s[4] == "usage") {
      if (!is_valid_id(id)) return invalid_account_id(ctx.request_id);
      if (m == http::verb::get) return get_usage(ctx, id);
      return method_not_allowed("GET, HEAD", ctx.request_id);
    }
    if (s.size() == 5 && s[4] == "sessions") {
      if (!is_valid_id(id)) return invalid_account_id(ctx.request_id);
      if (m == http::verb::get) return list_sessions(ctx, id);
      return method_not_allowed("GET, HEAD", ctx.request_id);
    }
    if (s.size() == 6 && s[4] == "sessions" && !s[5].empty()) {
      if (!is_valid_id(id)) return invalid_account_id(ctx.request_id);
      if (m == http::verb::delete_) return free_session(ctx, id, s[5]);
      return method_not_allowed("DELETE", ctx.request_id);
    }
  }
  if (s.size() == 4 && s[1] == "v1" && s[2] == "keys" && !s[3].empty()) {
    if (m == http::verb::delete_) return revoke_key(ctx, s[3]);
    return method_not_allowed("DELETE", ctx.request_id);
  }
  return not_found("Unknown admin route.", ctx.request_id);
}

Response AdminRouter::put_account(Context& ctx, std::string_view account_id) const {
  auto body = parse_object(ctx.request.body(), false);
  if (!body) return bad_request(body.error(), ctx.request_id);
  if (auto field = unknown_field(*body, {"plan", "overrides"})) {
    return bad_request("Unknown field \"" + *field + "\"; expected \"plan\" and \"overrides\".",
                       ctx.request_id, *field);
  }
  const auto* plan = body->if_contains("plan");
  if (plan == nullptr || !plan->is_string()) {
    return bad_request("\"plan\" is required and must be a plan name.", ctx.request_id, "plan");
  }
  boost::json::object overrides;
  if (const auto* given = body->if_contains("overrides"); given && !given->is_null()) {
    if (!given->is_object()) {
      return bad_request("\"overrides\" must be an object.", ctx.request_id, "overrides");
    }
    overrides = given->get_object();
  }

  const auto policy = deps_.policy();
  if (!policy) return policy_unavailable(ctx.request_id);
  const std::string plan_name(plan->get_string());
  if (policy->plan(plan_name) == nullptr) {
    return bad_request("Unknown plan \"" + plan_name + "\".", ctx.request_id, "plan",
                       "unknown_plan");
  }
  if (auto problem = policy->validate_overrides(overrides)) {
    return bad_request(problem->message, ctx.request_id, problem->param);
  }
  auto effective = policy->effective_limits(plan_name, overrides);
  if (!effective) return bad_request(effective.error(), ctx.request_id, "overrides");

  const store::Account account{
      .id = std::string(account_id), .plan = plan_name, .overrides = std::move(overrides)};
  auto created = deps_.accounts.put_account(account);
  if (!created) return store_failure("put account", created.error(), ctx.request_id);
  accounts_changed();
  spdlog::info("admin: account {} {} with plan {} (request {})", account.id,
               *created ? "created" : "updated", plan_name, ctx.request_id);

  auto keys = deps_.accounts.list_keys(account_id);
  if (!keys) return store_failure("list keys", keys.error(), ctx.request_id);
  return json_response(*created ? http::status::created : http::status::ok,
                       account_json(account, &*effective, *keys), ctx.request_id);
}

Response AdminRouter::get_account(Context& ctx, std::string_view account_id) const {
  auto account = deps_.accounts.get_account(account_id);
  if (!account) return store_failure("get account", account.error(), ctx.request_id);
  if (!account->has_value()) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  auto keys = deps_.accounts.list_keys(account_id);
  if (!keys) return store_failure("list keys", keys.error(), ctx.request_id);

  const auto policy = deps_.policy();
  if (!policy) return policy_unavailable(ctx.request_id);
  // A plan removed from the configuration since leaves the account without limits to
  // show; the account itself is still worth showing (and fixing with a PUT).
  const auto effective = policy->effective_limits((*account)->plan, (*account)->overrides);
  return json_response(http::status::ok,
                       account_json(**account, effective ? &*effective : nullptr, *keys),
                       ctx.request_id);
}

Response AdminRouter::delete_account(Context& ctx, std::string_view account_id) const {
  auto deleted = deps_.accounts.delete_account(account_id);
  if (!deleted) return store_failure("delete account", deleted.error(), ctx.request_id);
  if (!*deleted) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  accounts_changed();
  spdlog::info("admin: account {} deleted, its keys revoked (request {})", account_id,
               ctx.request_id);
  return empty_response(http::status::no_content, ctx.request_id);
}

Response AdminRouter::create_key(Context& ctx, std::string_view account_id) const {
  auto body = parse_object(ctx.request.body(), true);
  if (!body) return bad_request(body.error(), ctx.request_id);
  if (auto field = unknown_field(*body, {"environment"})) {
    return bad_request("Unknown field \"" + *field + "\"; expected \"environment\".",
                       ctx.request_id, *field);
  }
  store::KeyEnvironment environment = store::KeyEnvironment::live;
  if (const auto* given = body->if_contains("environment"); given && !given->is_null()) {
    if (given->is_string() && given->get_string() == "test") {
      environment = store::KeyEnvironment::test;
    } else if (!given->is_string() || given->get_string() != "live") {
      return bad_request("\"environment\" must be \"live\" or \"test\".", ctx.request_id,
                         "environment");
    }
  }

  auto account = deps_.accounts.get_account(account_id);
  if (!account) return store_failure("get account", account.error(), ctx.request_id);
  if (!account->has_value()) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  auto created = deps_.accounts.create_key(account_id, environment);
  if (!created) return store_failure("create key", created.error(), ctx.request_id);
  accounts_changed();
  spdlog::info("admin: key {} ({}) created for account {} (request {})", created->record.key_id,
               store::environment_name(environment), account_id, ctx.request_id);
  return json_response(http::status::created, created_key_json(*created), ctx.request_id);
}

Response AdminRouter::revoke_key(Context& ctx, std::string_view key_id) const {
  if (!is_valid_id(key_id)) {
    return not_found("No such key.", ctx.request_id);
  }
  auto revoked = deps_.accounts.revoke_key(key_id);
  if (!revoked) return store_failure("revoke key", revoked.error(), ctx.request_id);
  if (!*revoked) {
    return not_found("No such key: " + std::string(key_id) + ".", ctx.request_id);
  }
  accounts_changed();
  spdlog::info("admin: key {} revoked (request {})", key_id, ctx.request_id);
  return empty_response(http::status::no_content, ctx.request_id);
}

std::optional<Response> AdminRouter::post_check(Context& ctx) const {
  auto query = read_check_body(ctx.request.body());
  if (!query) {
    const auto& error = query.error();
    return bad_request(error.message, ctx.request_id,
                       error.param ? std::optional<std::string_view>(*error.param) : std::nullopt);
  }
  if (deps_.decider == nullptr || !deps_.decision_context) {
    return error_response(http::status::service_unavailable, kApiError, "rate_limiter_unavailable",
                          "The decision service is not running.", ctx.request_id);
  }
  decision::DecisionContext context = deps_.decision_context();
  const core::UnixNanos now = deps_.clock.now();
  // Mostly decided here and now: a cached caller on the memory store waits for nothing.
  if (auto answer = decision::run_check_now(*deps_.decider, *query, context, now)) {
    return check_response(*answer, ctx.request_id);
  }
  boost::asio::co_spawn(ctx.executor,
                        answer_check(*deps_.decider, std::move(*query), std::move(context), now,
                                     std::move(ctx.request_id), std::move(ctx.done)),
                        boost::asio::detached);
  return std::nullopt;
}

std::optional<Response> AdminRouter::get_usage(Context& ctx, std::string_view account_id) const {
  auto account = deps_.accounts.get_account(account_id);
  if (!account) return store_failure("get account", account.error(), ctx.request_id);
  if (!account->has_value()) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  auto policy = deps_.policy();
  if (!policy) return policy_unavailable(ctx.request_id);
  const auto effective = policy->effective_limits((*account)->plan, (*account)->overrides);
  if (!effective) {
    return error_response(http::status::conflict, kInvalidRequest, "unknown_plan",
                          "The account's limits cannot be resolved: " + effective.error() +
                              ". Update the account with a plan of the configuration.",
                          ctx.request_id);
  }
  UsageQuery::start(deps_, std::move(policy), std::move(**account), *effective,
                    std::move(ctx.request_id), ctx.executor, std::move(ctx.done));
  return std::nullopt;
}

std::optional<Response> AdminRouter::list_sessions(Context& ctx,
                                                   std::string_view account_id) const {
  auto account = deps_.accounts.get_account(account_id);
  if (!account) return store_failure("get account", account.error(), ctx.request_id);
  if (!account->has_value()) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  // Live, then test, one after the other: each completion starts the next, so they never
  // overlap and need no lock, on whatever executor.
  struct Listing {
    std::string account_id;
    std::string request_id;
    Done done;
    boost::json::array sessions;
    boost::json::object active;
  };
  auto state = std::make_shared<Listing>(Listing{.account_id = std::string(account_id),
                                                 .request_id = std::move(ctx.request_id),
                                                 .done = std::move(ctx.done),
                                                 .sessions = {},
                                                 .active = {}});
  // Adds one subject's listing; the error answer if the store failed.
  auto add =
      [state](
          store::KeyEnvironment environment,
          store::SessionOutcome<store::SessionStore::Listing>& outcome) -> std::optional<Response> {
    if (!outcome) {
      return session_store_failure("list sessions of account " + state->account_id, outcome.error(),
                                   state->request_id);
    }
    for (const store::SessionRecord& session : outcome->sessions) {
      state->sessions.push_back(session_json(session, environment));
    }
    state->active[store::environment_name(environment)] = outcome->active;
    return std::nullopt;
  };
  store::SessionStore& sessions = deps_.sessions;
  const core::UnixNanos now = deps_.clock.now();
  using Outcome = store::SessionOutcome<store::SessionStore::Listing>;
  sessions.list(store::subject_of(state->account_id, store::KeyEnvironment::live), now,
                ctx.executor, [state, add, &sessions, now, executor = ctx.executor](Outcome live) {
                  if (auto failed = add(store::KeyEnvironment::live, live)) {
                    return state->done(std::move(*failed));
                  }
                  sessions.list(
                      store::subject_of(state->account_id, store::KeyEnvironment::test), now,
                      executor, [state, add](Outcome test) {
                        if (auto failed = add(store::KeyEnvironment::test, test)) {
                          return state->done(std::move(*failed));
                        }
                        boost::json::object body;
                        body["account_id"] = state->account_id;
                        body["sessions"] = std::move(state->sessions);
                        body["active"] = std::move(state->active);
                        state->done(json_response(http::status::ok, body, state->request_id));
                      });
                });
  return std::nullopt;
}

std::optional<Response> AdminRouter::free_session(Context& ctx, std::string_view account_id,
                                                  std::string_view session_segment) const {
  auto account = deps_.accounts.get_account(account_id);
  if (!account) return store_failure("get account", account.error(), ctx.request_id);
  if (!account->has_value()) {
    return not_found("No such account: " + std::string(account_id) + ".", ctx.request_id);
  }
  const std::string shown = is_valid_id(session_segment) ? std::string(session_segment) : "?";
  std::string message =
      "No active session " + shown + " for account " + std::string(account_id) + ".";
  const auto session_id = percent_decode(session_segment);
  if (!session_id || session_id->empty()) {
    return not_found(message, ctx.request_id, "session_not_found");
  }

  // The live subject first (where sessions normally are), then the test one.
  struct Freeing {
    std::string account_id;
    std::string session_id;
    std::string shown;  // the id as logs may show it: no control characters from the path
    std::string request_id;
    std::string not_found_message;
    Done done;
  };
  auto state = std::make_shared<Freeing>(Freeing{.account_id = std::string(account_id),
                                                 .session_id = std::move(*session_id),
                                                 .shown = shown,
                                                 .request_id = std::move(ctx.request_id),
                                                 .not_found_message = std::move(message),
                                                 .done = std::move(ctx.done)});
  store::SessionStore& sessions = deps_.sessions;
  auto answer = [state](store::KeyEnvironment environment,
                        const store::SessionOutcome<bool>& outcome) -> std::optional<Response> {
    if (!outcome) {
      return session_store_failure("free session of account " + state->account_id, outcome.error(),
                                   state->request_id);
    }
    if (!*outcome) return std::nullopt;
    spdlog::info("admin: session {} of account {} ({}) freed (request {})", state->shown,
                 state->account_id, store::environment_name(environment), state->request_id);
    return empty_response(http::status::no_content, state->request_id);
  };
  sessions.release(
      store::subject_of(state->account_id, store::KeyEnvironment::live), state->session_id,
      ctx.executor,
      [state, answer, &sessions, executor = ctx.executor](store::SessionOutcome<bool> live) {
        if (auto res = answer(store::KeyEnvironment::live, live)) {
          return state->done(std::move(*res));
        }
        sessions.release(store::subject_of(state->account_id, store::KeyEnvironment::test),
                         state->session_id, executor,
                         [state, answer](store::SessionOutcome<bool> test) {
                           if (auto res = answer(store::KeyEnvironment::test, test)) {
                             return state->done(std::move(*res));
                           }
                           state->done(not_found(state->not_found_message, state->request_id,
                                                 "session_not_found"));
                         });
      });
  return std::nullopt;
}

Response AdminRouter::healthz(Context& ctx) const {
  return json_response(http::status::ok, boost::json::object{{"status", "ok"}}, ctx.request_id);
}

Response AdminRouter::readyz(Context& ctx) const {
  const bool store_ok = !deps_.store_healthy || deps_.store_healthy();
  const bool ready = (!deps_.ready || deps_.ready()) && (store_ok || !deps_.store_required);
  const char* status = !ready ? "not_ready" : store_ok ? "ready" : "degraded";
  return json_response(
      ready ? http::status::ok : http::status::service_unavailable,
      boost::json::object{{"status", status}, {"store", store_ok ? "ok" : "unavailable"}},
      ctx.request_id);
}

Response AdminRouter::metrics(Context& ctx) const {
  return text_response(http::status::ok, deps_.metrics.serialize(),
                       "text/plain; version=0.0.4; charset=utf-8", ctx.request_id);
}

Response AdminRouter::dashboard(Context& ctx) const {
  Response res = text_response(http::status::ok, std::string(kDashboardHtml),
                               "text/html; charset=utf-8", ctx.request_id);
  // The page is self-contained: inline script and style, requests to this listener only.
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'; frame-ancestors 'none'");
  return res;
}

void AdminRouter::accounts_changed() const {
  if (deps_.on_accounts_changed) deps_.on_accounts_changed();
}

}  // namespace gw::admin

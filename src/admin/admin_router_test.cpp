#include "admin/admin_router.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "admin/admin_auth.h"
#include "admin/admin_test_fixture.h"

namespace gw::admin {
namespace {

using namespace std::chrono_literals;

using testing::AdminWorld;
using testing::answer;
using testing::kAdminToken;

class AdminRouterTest : public ::testing::Test {
 protected:
  Response call(http::verb method, std::string_view target, std::string body = {},
                std::optional<std::string_view> token = kAdminToken) {
    Request request{method, target, 11};
    if (token) request.set(http::field::authorization, "Bearer " + std::string(*token));
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = std::move(body);
    }
    request.prepare_payload();
    return answer(router_, std::move(request), io_);
  }

  static boost::json::object json(const Response& res) {
    boost::system::error_code ec;
    auto value = boost::json::parse(res.body(), ec);
    EXPECT_FALSE(ec) << res.body();
    EXPECT_TRUE(value.is_object()) << res.body();
    return value.is_object() ? value.as_object() : boost::json::object{};
  }

  static std::string error_code(const Response& res) {
    auto body = json(res);
    const auto* error = body.if_contains("error");
    return error ? std::string(error->at("code").as_string()) : std::string("<no error>");
  }

  Response put(std::string_view id, std::string body) {
    return call(http::verb::put, "/admin/v1/accounts/" + std::string(id), std::move(body));
  }

  // Reserves a slot of `subject` and binds it to `session_id`, as the proxy does.
  void create_session(std::string_view subject, std::string_view session_id, core::UnixNanos now,
                      std::optional<std::int64_t> limit = std::nullopt) {
    const std::string account(subject.substr(0, subject.find(':')));
    auto grant = world_.sessions->acquire_now(subject, account, limit, now, kLease);
    ASSERT_TRUE(grant.has_value() && grant->acquired);
    auto bound = world_.sessions->bind_now(subject, grant->reservation, session_id, now, kLease);
    ASSERT_TRUE(bound.has_value() && *bound);
  }

  void body_is_empty_listing(std::string_view account) {
    auto res = call(http::verb::get, "/admin/v1/accounts/" + std::string(account) + "/sessions");
    ASSERT_EQ(res.result(), http::status::ok);
    auto body = json(res);
    EXPECT_TRUE(body.at("sessions").as_array().empty());
    EXPECT_EQ(body.at("active").at("live").as_int64(), 0);
    EXPECT_EQ(body.at("active").at("test").as_int64(), 0);
  }

  static constexpr std::chrono::seconds kLease{14400};

  boost::asio::io_context io_;
  AdminWorld world_;
  AdminRouter router_{world_.deps()};
};

TEST(AdminAuth, ChecksBearerTokenAgainstItsDigest) {
  const std::optional<core::KeyedDigest> hash = core::KeyedDigest::of("s3cret");
  EXPECT_EQ(check_admin_token("Bearer s3cret", hash), AdminAuth::ok);
  EXPECT_EQ(check_admin_token("bearer   s3cret ", hash), AdminAuth::ok);
  EXPECT_EQ(check_admin_token("Bearer s3cret2", hash), AdminAuth::invalid);
  EXPECT_EQ(check_admin_token("Bearer S3CRET", hash), AdminAuth::invalid);
  EXPECT_EQ(check_admin_token("", hash), AdminAuth::missing);
  EXPECT_EQ(check_admin_token("Bearer ", hash), AdminAuth::missing);
  EXPECT_EQ(check_admin_token("Basic czNjcmV0", hash), AdminAuth::missing);
  EXPECT_EQ(check_admin_token("Bearers3cret", hash), AdminAuth::missing);
  EXPECT_EQ(check_admin_token("Bearer s3cret", std::nullopt), AdminAuth::disabled);
}

TEST_F(AdminRouterTest, OperatorEndpointsNeedNoToken) {
  auto res = call(http::verb::get, "/healthz", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res).at("status").as_string(), "ok");

  res = call(http::verb::get, "/readyz", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res).at("status").as_string(), "ready");
  EXPECT_EQ(json(res).at("store").as_string(), "ok");
  world_.ready = false;
  res = call(http::verb::get, "/readyz", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(json(res).at("status").as_string(), "not_ready");

  world_.metrics.decision("pro", "", metrics::DecisionResult::allowed);
  res = call(http::verb::get, "/metrics?x=1", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res.body(), world_.metrics.serialize());

  res = call(http::verb::get, "/dashboard", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res[http::field::content_type].starts_with("text/html"));
  EXPECT_NE(res.body().find("/metrics"), std::string::npos);
}

TEST_F(AdminRouterTest, HeadIsGetWithoutBody) {
  auto res = call(http::verb::head, "/healthz", {}, std::nullopt);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[http::field::content_length], "15");  // {"status":"ok"}
}

TEST_F(AdminRouterTest, AdminRoutesNeedTheToken) {
  for (auto token : {std::optional<std::string_view>(), std::optional<std::string_view>("nope")}) {
    for (auto target : {"/admin/v1/accounts/a", "/admin/v1/nothing", "/admin"}) {
      auto res = call(http::verb::get, target, {}, token);
      EXPECT_EQ(res.result(), http::status::unauthorized) << target;
      auto body = json(res);
      EXPECT_EQ(body.at("error").at("type").as_string(), "authentication_error");
      EXPECT_EQ(body.at("error").at("code").as_string(), "invalid_admin_token");
      EXPECT_FALSE(body.at("error").at("request_id").as_string().empty());
      EXPECT_EQ(res[http::field::www_authenticate], "Bearer realm=\"kallglot-gateway-admin\"");
    }
  }
}

TEST(AdminRouterDisabled, EmptyTokenHashRefusesEverything) {
  boost::asio::io_context io;
  AdminWorld world{std::nullopt};
  AdminRouter router{world.deps()};
  Request request{http::verb::get, "/admin/v1/accounts/a", 11};
  request.set(http::field::authorization, "Bearer ");
  const std::optional<Response> out = answer(router, request, io);
  EXPECT_EQ(out->result(), http::status::unauthorized);
  EXPECT_NE(out->body().find("disabled"), std::string::npos);
}

TEST_F(AdminRouterTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(call(http::verb::get, "/nothing").result(), http::status::not_found);
  EXPECT_EQ(error_code(call(http::verb::get, "/admin/v1/nothing")), "not_found");
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/a/b/c/d").result(), http::status::not_found);

  auto res = call(http::verb::post, "/admin/v1/accounts/a");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/a/keys").result(),
            http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::post, "/healthz").result(), http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::get, "/admin/v1/keys/key_1").result(),
            http::status::method_not_allowed);
}

TEST_F(AdminRouterTest, PutCreatesThenUpdatesAccount) {
  auto res = put("acct_1", R"({"plan":"pro","overrides":{"api_requests_per_minute":900,
      "concurrent_sessions":null,"groups":{"analysis":10}}})");
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(world_.changes, 1);
  auto body = json(res);
  EXPECT_EQ(body.at("id").as_string(), "acct_1");
  EXPECT_EQ(body.at("plan").as_string(), "pro");
  EXPECT_EQ(body.at("overrides").at("api_requests_per_minute").as_int64(), 900);
  const auto& limits = body.at("effective_limits").as_object();
  EXPECT_EQ(limits.at("api_requests_per_minute").as_int64(), 900);
  EXPECT_TRUE(limits.at("concurrent_sessions").is_null());
  EXPECT_EQ(limits.at("ws_messages_per_second").as_int64(), 1000);
  EXPECT_EQ(limits.at("ws_audio_bytes_per_second").as_int64(), 131072);
  EXPECT_EQ(limits.at("groups").at("analysis").as_int64(), 10);
  EXPECT_EQ(limits.at("groups").at("sessions_write").as_int64(), 300);
  EXPECT_FALSE(limits.at("shadow_mode").as_bool());
  EXPECT_TRUE(body.at("keys").as_array().empty());

  res = put("acct_1", R"({"plan":"starter"})");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(world_.changes, 2);
  body = json(res);
  EXPECT_TRUE(body.at("overrides").as_object().empty());
  EXPECT_EQ(body.at("effective_limits").at("concurrent_sessions").as_int64(), 10);

  res = call(http::verb::get, "/admin/v1/accounts/acct_1");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res).at("plan").as_string(), "starter");
  EXPECT_EQ(json(res).at("effective_limits").at("api_requests_per_minute").as_int64(), 120);
}

// An override out of the configuration's bounds is a 400 whose `param` names the field;
// the account is neither created nor changed.
TEST_F(AdminRouterTest, PutNamesTheOffendingOverrideInParam) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro","overrides":{"api_requests_per_minute":900}})").result(),
            http::status::created);
  const auto before = world_.accounts->get_account("acct_1");
  const int changes = world_.changes;
  const std::pair<std::string, std::string> cases[] = {
      {R"({"api_requests_per_minute":1000000001})", "overrides.api_requests_per_minute"},
      {R"({"api_requests_per_minute":9223372036854775808})", "overrides.api_requests_per_minute"},
      {R"({"ws_audio_bytes_per_second":1e300})", "overrides.ws_audio_bytes_per_second"},
      {R"({"ws_messages_per_second":2.5})", "overrides.ws_messages_per_second"},
      {R"({"concurrent_sessions":"5"})", "overrides.concurrent_sessions"},
      {R"({"groups":{"analysis":-3}})", "overrides.groups.analysis"},
      {R"({"groups":{"nope":1}})", "overrides.groups.nope"},
      {R"({"burst":1})", "overrides.burst"},
  };
  for (const auto& [overrides, param] : cases) {
    auto res = put("acct_1", R"({"plan":"pro","overrides":)" + overrides + "}");
    EXPECT_EQ(res.result(), http::status::bad_request) << overrides;
    const auto body = json(res);
    EXPECT_EQ(body.at("error").at("code").as_string(), "invalid_request") << overrides;
    EXPECT_EQ(body.at("error").at("param").as_string(), param) << overrides;
  }
  EXPECT_EQ(world_.changes, changes);
  const auto after = world_.accounts->get_account("acct_1");
  ASSERT_TRUE(after && *after && before && *before);
  EXPECT_EQ((*after)->overrides, (*before)->overrides);

  auto res = put("acct_1", R"({"plan":"pro","overrides":{"api_requests_per_minute":1000000000}})");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res).at("effective_limits").at("api_requests_per_minute").as_int64(),
            1'000'000'000);
}

TEST_F(AdminRouterTest, PutRejectsBadInput) {
  struct Case {
    std::string body;
    std::string code;
    std::string message_part;
  };
  const Case cases[] = {
      {"", "invalid_request", "JSON object"},
      {"{", "invalid_request", "Malformed JSON"},
      {"[1]", "invalid_request", "JSON object"},
      {R"({"overrides":{}})", "invalid_request", "plan"},
      {R"({"plan":7})", "invalid_request", "plan"},
      {R"({"plan":"platinum"})", "unknown_plan", "platinum"},
      {R"({"plan":"pro","overrides":[]})", "invalid_request", "overrides"},
      {R"({"plan":"pro","overrides":{"api_requests_per_minute":-1}})", "invalid_request",
       "api_requests_per_minute"},
      {R"({"plan":"pro","overrides":{"groups":{"nope":1}}})", "invalid_request", "nope"},
      {R"({"plan":"pro","overrides":{"colour":"red"}})", "invalid_request", "colour"},
      {R"({"plan":"pro","id":"acct_1"})", "invalid_request", "id"},
  };
  for (const auto& c : cases) {
    auto res = put("acct_1", c.body);
    EXPECT_EQ(res.result(), http::status::bad_request) << c.body;
    auto body = json(res);
    EXPECT_EQ(body.at("error").at("type").as_string(), "invalid_request_error") << c.body;
    EXPECT_EQ(body.at("error").at("code").as_string(), c.code) << c.body;
    EXPECT_NE(std::string(body.at("error").at("message").as_string()).find(c.message_part),
              std::string::npos)
        << c.body << " -> " << res.body();
  }
  EXPECT_EQ(world_.changes, 0);
  EXPECT_FALSE(world_.accounts->get_account("acct_1")->has_value());

  auto res = put("bad:id", R"({"plan":"pro"})");
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(json(res).at("error").at("param").as_string(), "account_id");
  EXPECT_EQ(put(std::string(129, 'a'), R"({"plan":"pro"})").result(), http::status::bad_request);
  EXPECT_EQ(put("a%2Fb", R"({"plan":"pro"})").result(), http::status::bad_request);
}

TEST_F(AdminRouterTest, GetAndDeleteUnknownAccountAre404) {
  auto res = call(http::verb::get, "/admin/v1/accounts/ghost");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(error_code(res), "not_found");
  EXPECT_EQ(json(res).at("error").at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/accounts/ghost").result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/ghost/usage").result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::post, "/admin/v1/accounts/ghost/keys").result(),
            http::status::not_found);
  EXPECT_EQ(world_.changes, 0);
}

TEST_F(AdminRouterTest, KeysLifecycle) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);

  auto res = call(http::verb::post, "/admin/v1/accounts/acct_1/keys");  // no body: live
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  auto live = json(res);
  EXPECT_EQ(live.at("environment").as_string(), "live");
  EXPECT_EQ(live.at("account_id").as_string(), "acct_1");
  const std::string live_key(live.at("key").as_string());
  const std::string live_id(live.at("key_id").as_string());
  EXPECT_TRUE(live_key.starts_with("sk_live_"));

  res = call(http::verb::post, "/admin/v1/accounts/acct_1/keys", R"({"environment":"test"})");
  ASSERT_EQ(res.result(), http::status::created);
  const std::string test_key(json(res).at("key").as_string());
  EXPECT_TRUE(test_key.starts_with("sk_test_"));

  EXPECT_EQ(call(http::verb::post, "/admin/v1/accounts/acct_1/keys", R"({"environment":"prod"})")
                .result(),
            http::status::bad_request);
  EXPECT_EQ(call(http::verb::post, "/admin/v1/accounts/acct_1/keys", R"({"env":"test"})").result(),
            http::status::bad_request);
  EXPECT_EQ(call(http::verb::post, "/admin/v1/accounts/acct_1/keys", "nope").result(),
            http::status::bad_request);
  EXPECT_EQ(world_.changes, 3);

  // The account view lists both keys, never a key itself.
  res = call(http::verb::get, "/admin/v1/accounts/acct_1");
  EXPECT_EQ(json(res).at("keys").as_array().size(), 2u);
  EXPECT_EQ(res.body().find(live_key), std::string::npos);
  EXPECT_EQ(res.body().find(test_key), std::string::npos);

  auto found = world_.accounts->find_key(live_key);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->key_id, live_id);

  res = call(http::verb::delete_, "/admin/v1/keys/" + live_id);
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(world_.changes, 4);
  EXPECT_FALSE(world_.accounts->find_key(live_key)->has_value());
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/keys/" + live_id).result(),
            http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/keys/key_x%00").result(), http::status::not_found);
  EXPECT_EQ(world_.changes, 4);
}

TEST_F(AdminRouterTest, DeleteAccountRevokesKeys) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  auto key = json(call(http::verb::post, "/admin/v1/accounts/acct_1/keys"));
  const std::string plain(key.at("key").as_string());

  auto res = call(http::verb::delete_, "/admin/v1/accounts/acct_1");
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(world_.changes, 3);
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/acct_1").result(), http::status::not_found);
  EXPECT_FALSE(world_.accounts->find_key(plain)->has_value());
}

TEST_F(AdminRouterTest, UsagePeeksLiveAndTestCountersWithoutCharging) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro","overrides":{"groups":{"analysis":10}}})").result(),
            http::status::created);
  world_.counters.set_used(4);
  const auto now = world_.clock.now();
  world_.usage.record("acct_1", true, now);
  world_.usage.record("acct_1", true, now);
  world_.usage.record("acct_1", false, now);

  auto res = call(http::verb::get, "/admin/v1/accounts/acct_1/usage");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto body = json(res);
  EXPECT_EQ(body.at("account_id").as_string(), "acct_1");
  EXPECT_EQ(body.at("plan").as_string(), "pro");
  EXPECT_EQ(body.at("active_sessions").as_int64(), 0);
  EXPECT_EQ(body.at("test_active_sessions").as_int64(), 0);
  EXPECT_EQ(body.at("concurrent_sessions_limit").as_int64(), 50);
  EXPECT_EQ(body.at("test_concurrent_sessions_limit").as_int64(), 2);
  EXPECT_EQ(body.at("last_60_minutes").at("allowed").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(body.at("last_60_minutes").at("denied").to_number<std::uint64_t>(), 1u);

  const auto& limits = body.at("limits").as_object();
  EXPECT_EQ(limits.size(), 3u);  // api + the plan's two groups
  EXPECT_EQ(limits.at("api").at("limit").as_int64(), 600);
  EXPECT_EQ(limits.at("api").at("remaining").as_int64(), 596);
  EXPECT_EQ(limits.at("api").at("used").as_int64(), 4);
  EXPECT_EQ(limits.at("api").at("reset").as_int64(), testing::kResetS);
  EXPECT_EQ(limits.at("api").at("window_seconds").as_int64(), 60);
  EXPECT_EQ(limits.at("analysis").at("limit").as_int64(), 10);
  EXPECT_EQ(limits.at("sessions_write").at("limit").as_int64(), 300);

  const auto& test_limits = body.at("test_limits").as_object();
  EXPECT_EQ(test_limits.at("api").at("limit").as_int64(), 60);
  EXPECT_EQ(test_limits.at("analysis").at("limit").as_int64(), 15);
  EXPECT_EQ(test_limits.at("sessions_write").at("limit").as_int64(), 30);

  const auto seen = world_.counters.seen();
  ASSERT_EQ(seen.size(), 4u);  // [api, group] per group, per environment
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].subject, i < 2 ? "acct_1:live" : "acct_1:test");
    EXPECT_EQ(seen[i].cost, 0);
    ASSERT_EQ(seen[i].names.size(), 2u);
    EXPECT_EQ(seen[i].names[0], "api");
  }
}

TEST_F(AdminRouterTest, UsageOfPlanWithoutGroupsPeeksApiOnly) {
  ASSERT_EQ(put("big", R"({"plan":"enterprise"})").result(), http::status::created);
  auto res = call(http::verb::get, "/admin/v1/accounts/big/usage");
  ASSERT_EQ(res.result(), http::status::ok);
  auto body = json(res);
  EXPECT_EQ(body.at("limits").as_object().size(), 1u);
  EXPECT_EQ(body.at("limits").at("api").at("limit").as_int64(), 600);
  EXPECT_EQ(body.at("test_limits").as_object().size(), 3u);
  EXPECT_EQ(world_.counters.seen().front().names.size(), 1u);
}

TEST_F(AdminRouterTest, UsageStoreFailureIs503) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  world_.counters.set_failing(true);
  auto res = call(http::verb::get, "/admin/v1/accounts/acct_1/usage");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(error_code(res), "rate_limiter_unavailable");
  EXPECT_EQ(res.body().find("injected"), std::string::npos);  // details stay in the log
}

TEST_F(AdminRouterTest, AccountWhosePlanLeftTheConfiguration) {
  ASSERT_TRUE(world_.accounts->put_account({.id = "old", .plan = "legacy", .overrides = {}}));
  auto res = call(http::verb::get, "/admin/v1/accounts/old");
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(json(res).at("effective_limits").is_null());
  res = call(http::verb::get, "/admin/v1/accounts/old/usage");
  EXPECT_EQ(res.result(), http::status::conflict);
  EXPECT_EQ(error_code(res), "unknown_plan");
}

TEST_F(AdminRouterTest, ListsTheSessionsOfBothEnvironments) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  const auto t0 = world_.clock.now();
  create_session("acct_1:live", "sess_1", t0);
  create_session("acct_1:live", "sess_2", t0 + 1s);
  create_session("acct_1:test", "sess_t", t0 + 2s);
  create_session("acct_2:live", "sess_x", t0);
  ASSERT_TRUE(world_.sessions->acquire_now("acct_1:live", "acct_1", 50, t0, kLease)->acquired);

  auto res = call(http::verb::get, "/admin/v1/accounts/acct_1/sessions");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto body = json(res);
  EXPECT_EQ(body.at("account_id").as_string(), "acct_1");
  EXPECT_EQ(body.at("active").at("live").as_int64(), 3);  // the reservation counts
  EXPECT_EQ(body.at("active").at("test").as_int64(), 1);
  const auto& sessions = body.at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 3u);
  const std::int64_t t0_s = core::to_unix_seconds(t0);
  EXPECT_EQ(sessions[0].at("session_id").as_string(), "sess_1");
  EXPECT_EQ(sessions[0].at("environment").as_string(), "live");
  EXPECT_EQ(sessions[0].at("created").as_int64(), t0_s);
  EXPECT_EQ(sessions[0].at("lease_expires").as_int64(), t0_s + kLease.count());
  EXPECT_EQ(sessions[1].at("session_id").as_string(), "sess_2");
  EXPECT_EQ(sessions[2].at("session_id").as_string(), "sess_t");
  EXPECT_EQ(sessions[2].at("environment").as_string(), "test");
  EXPECT_EQ(sessions[2].at("created").as_int64(), t0_s + 2);

  // Leases are honoured: once they run out the slots are free and no longer listed.
  world_.clock.advance(kLease + 2s);  // sess_t, the last one, was taken at t0 + 2 s
  body = json(call(http::verb::get, "/admin/v1/accounts/acct_1/sessions"));
  EXPECT_TRUE(body.at("sessions").as_array().empty());
  EXPECT_EQ(body.at("active").at("live").as_int64(), 0);
  EXPECT_EQ(body.at("active").at("test").as_int64(), 0);
}

TEST_F(AdminRouterTest, SessionRoutesOfUnknownAccountsAndMethods) {
  EXPECT_EQ(error_code(call(http::verb::get, "/admin/v1/accounts/ghost/sessions")), "not_found");
  EXPECT_EQ(error_code(call(http::verb::delete_, "/admin/v1/accounts/ghost/sessions/sess_1")),
            "not_found");
  EXPECT_EQ(call(http::verb::get, "/admin/v1/accounts/bad:id/sessions").result(),
            http::status::bad_request);
  auto res = call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, HEAD");
  res = call(http::verb::get, "/admin/v1/accounts/acct_1/sessions/sess_1");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "DELETE");

  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  body_is_empty_listing("acct_1");
}

TEST_F(AdminRouterTest, FreeingASessionReleasesItsSlot) {
  ASSERT_EQ(put("acct_1", R"({"plan":"free"})").result(), http::status::created);
  const auto t0 = world_.clock.now();
  create_session("acct_1:live", "sess_1", t0, 2);
  create_session("acct_1:live", "sess_2", t0, 2);
  create_session("acct_1:test", "sess_t", t0, 2);
  create_session("acct_2:live", "sess_x", t0, 2);
  EXPECT_FALSE(world_.sessions->acquire_now("acct_1:live", "acct_1", 2, t0, kLease)->acquired);

  auto res = call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/sess_1");
  EXPECT_EQ(res.result(), http::status::no_content) << res.body();
  EXPECT_TRUE(res.body().empty());
  EXPECT_FALSE(world_.sessions->find_now("sess_1", t0)->has_value());
  // The slot is free for the next session.
  EXPECT_TRUE(world_.sessions->acquire_now("acct_1:live", "acct_1", 2, t0, kLease)->acquired);

  // Idempotent: a second DELETE finds nothing to free.
  res = call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/sess_1");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(error_code(res), "session_not_found");

  // A test-key session is found under the test subject.
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/sess_t").result(),
            http::status::no_content);
  EXPECT_EQ(world_.sessions->list_now("acct_1:test", t0)->active, 0);

  // Another account's session is not freed through this one.
  EXPECT_EQ(error_code(call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/sess_x")),
            "session_not_found");
  EXPECT_TRUE(world_.sessions->find_now("sess_x", t0)->has_value());
  EXPECT_EQ(world_.sessions->list_now("acct_1:live", t0)->active, 2);
}

TEST_F(AdminRouterTest, FreeingASessionDecodesItsId) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  const auto t0 = world_.clock.now();
  create_session("acct_1:live", "sess/1 x", t0);
  for (auto bad : {"sess%2", "sess%zz1", "%"}) {
    auto res = call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/" + std::string(bad));
    EXPECT_EQ(error_code(res), "session_not_found") << bad;
    EXPECT_EQ(res.body().find(bad), std::string::npos);  // odd input is not echoed
  }
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/sess%2F1%20x").result(),
            http::status::no_content);
  EXPECT_EQ(world_.sessions->slot_count(), 0u);
}

TEST_F(AdminRouterTest, UsageCountsSessionSlots) {
  ASSERT_EQ(put("acct_1", R"({"plan":"pro"})").result(), http::status::created);
  ASSERT_EQ(put("big", R"({"plan":"enterprise"})").result(), http::status::created);
  const auto t0 = world_.clock.now();
  create_session("acct_1:live", "sess_1", t0);
  create_session("acct_1:live", "sess_2", t0);
  create_session("acct_1:test", "sess_t", t0);
  ASSERT_TRUE(world_.sessions->acquire_now("acct_1:live", "acct_1", 50, t0, kLease)->acquired);

  auto body = json(call(http::verb::get, "/admin/v1/accounts/acct_1/usage"));
  EXPECT_EQ(body.at("active_sessions").as_int64(), 3);
  EXPECT_EQ(body.at("test_active_sessions").as_int64(), 1);
  EXPECT_EQ(body.at("concurrent_sessions_limit").as_int64(), 50);
  EXPECT_EQ(body.at("test_concurrent_sessions_limit").as_int64(), 2);

  body = json(call(http::verb::get, "/admin/v1/accounts/big/usage"));
  EXPECT_EQ(body.at("active_sessions").as_int64(), 0);
  EXPECT_TRUE(body.at("concurrent_sessions_limit").is_null());  // unlimited

  ASSERT_EQ(put("acct_1", R"({"plan":"pro","overrides":{"concurrent_sessions":7}})").result(),
            http::status::ok);
  body = json(call(http::verb::get, "/admin/v1/accounts/acct_1/usage"));
  EXPECT_EQ(body.at("concurrent_sessions_limit").as_int64(), 7);

  world_.clock.advance(kLease);
  body = json(call(http::verb::get, "/admin/v1/accounts/acct_1/usage"));
  EXPECT_EQ(body.at("active_sessions").as_int64(), 0);
  EXPECT_EQ(body.at("test_active_sessions").as_int64(), 0);
}

// A session store that fails every call, after a posted hop.
class FailingSessionStore final : public store::SessionStore {
 public:
  explicit FailingSessionStore(bool transient) : transient_(transient) {}

  void acquire(std::string_view, std::string_view, std::optional<std::int64_t>, core::UnixNanos,
               std::chrono::seconds, boost::asio::any_io_executor executor,
               store::SessionHandler<store::SlotGrant> done) override {
    fail(executor, std::move(done));
  }
  void bind(std::string_view, std::string_view, std::string_view, core::UnixNanos,
            std::chrono::seconds, boost::asio::any_io_executor executor,
            store::SessionHandler<bool> done) override {
    fail(executor, std::move(done));
  }
  void cancel(std::string_view, std::string_view, boost::asio::any_io_executor executor,
              store::SessionHandler<bool> done) override {
    fail(executor, std::move(done));
  }
  void release(std::string_view, std::string_view, boost::asio::any_io_executor executor,
               store::SessionHandler<bool> done) override {
    fail(executor, std::move(done));
  }
  void find(std::string_view, core::UnixNanos, boost::asio::any_io_executor executor,
            store::SessionHandler<std::optional<store::SessionRecord>> done) override {
    fail(executor, std::move(done));
  }
  void renew(std::string_view, core::UnixNanos, std::chrono::seconds,
             boost::asio::any_io_executor executor, store::SessionHandler<bool> done) override {
    fail(executor, std::move(done));
  }
  void list(std::string_view, core::UnixNanos, boost::asio::any_io_executor executor,
            store::SessionHandler<Listing> done) override {
    fail(executor, std::move(done));
  }

 private:
  template <typename T>
  void fail(boost::asio::any_io_executor executor, store::SessionHandler<T> done) {
    boost::asio::post(executor, [done = std::move(done), transient = transient_] {
      done(core::unexpected(store::StoreError{.transient = transient, .detail = "injected"}));
    });
  }
  bool transient_;
};

TEST(AdminRouterSessionStoreFailure, AnswersWithoutTheDetail) {
  for (bool transient : {false, true}) {
    boost::asio::io_context io;
    AdminWorld world;
    ASSERT_TRUE(world.accounts->put_account({.id = "acct_1", .plan = "pro", .overrides = {}}));
    FailingSessionStore failing(transient);
    AdminDeps deps = world.deps();
    AdminRouter router{AdminDeps{.accounts = deps.accounts,
                                 .counters = deps.counters,
                                 .sessions = failing,
                                 .metrics = deps.metrics,
                                 .usage = deps.usage,
                                 .clock = deps.clock,
                                 .policy = deps.policy,
                                 .admin_token = deps.admin_token,
                                 .ready = deps.ready,
                                 .on_accounts_changed = deps.on_accounts_changed}};
    for (auto [method, target] :
         {std::pair{http::verb::get, "/admin/v1/accounts/acct_1/sessions"},
          std::pair{http::verb::delete_, "/admin/v1/accounts/acct_1/sessions/s"},
          std::pair{http::verb::get, "/admin/v1/accounts/acct_1/usage"}}) {
      Request request{method, target, 11};
      request.set(http::field::authorization, "Bearer " + std::string(kAdminToken));
      const std::optional<Response> out = answer(router, request, io);
      ASSERT_TRUE(out) << target;
      EXPECT_EQ(out->result(),
                transient ? http::status::service_unavailable : http::status::internal_server_error)
          << target;
      EXPECT_NE(out->body().find(transient ? "rate_limiter_unavailable" : "internal_error"),
                std::string::npos);
      EXPECT_EQ(out->body().find("injected"), std::string::npos);
    }
  }
}

// /readyz with a shared store: unavailable is "degraded" (still serving) unless every
// request would fail without it (on_failure: fail_closed), then 503.
TEST_F(AdminRouterTest, ReadyzReportsTheSharedStore) {
  std::atomic<bool> store_ok{false};
  for (const bool required : {false, true}) {
    AdminDeps deps = world_.deps();
    deps.store_healthy = [&store_ok] { return store_ok.load(); };
    deps.store_required = required;
    AdminRouter router{deps};
    const std::optional<Response> out =
        answer(router, Request{http::verb::get, "/readyz", 11}, io_);
    EXPECT_EQ(out->result(), required ? http::status::service_unavailable : http::status::ok);
    EXPECT_EQ(json(*out).at("status").as_string(), required ? "not_ready" : "degraded");
    EXPECT_EQ(json(*out).at("store").as_string(), "unavailable");
  }
}

TEST_F(AdminRouterTest, RequestIdIsPropagatedOrGenerated) {
  Request request{http::verb::get, "/healthz", 11};
  request.set("X-Request-ID", "req_from_client");
  const std::optional<Response> out = answer(router_, request, io_);
  EXPECT_EQ((*out)["X-Request-ID"], "req_from_client");

  auto res = call(http::verb::get, "/admin/v1/accounts/ghost");
  const std::string id(res["X-Request-ID"]);
  EXPECT_TRUE(id.starts_with("req_"));
  EXPECT_EQ(json(res).at("error").at("request_id").as_string(), id);
}

TEST_F(AdminRouterTest, NoPolicyIs503) {
  world_.policy = nullptr;
  auto res = put("acct_1", R"({"plan":"pro"})");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(error_code(res), "configuration_unavailable");
}

}  // namespace
}  // namespace gw::admin

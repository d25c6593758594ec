#include "policy/policy.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/parse.hpp>
#include <stdexcept>

namespace gw::policy {
namespace {

using namespace std::chrono_literals;

// A small configuration built by hand (policy/ does not depend on config/'s loader).
std::shared_ptr<config::GatewayConfig> make_config() {
  auto c = std::make_shared<config::GatewayConfig>();
  c->algorithm = limiter::Algorithm::sliding_window;
  c->groups = {
      {"sessions_write", {"POST /v1/sessions", "POST /v1/sessions/{id}/end"}, false},
      {"sessions_read", {"GET /v1/sessions/{id}", "GET /v1/sessions/{id}/transcript"}, false},
      {"analysis", {"* /v1/sessions/{id}/analysis*", "* /v1/analysis/*"}, true},
  };
  PlanLimits free;
  free.api_requests_per_minute = 60;
  free.concurrent_sessions = 2;
  free.ws_messages_per_second = 100;
  free.ws_audio_bytes_per_second = 32768;
  free.groups = {{"sessions_write", 30}, {"sessions_read", 60}, {"analysis", 15}};
  c->plans.emplace("free", free);
  PlanLimits dark = free;
  dark.shadow_mode = true;
  c->plans.emplace("dark", dark);
  PlanLimits open = free;
  open.groups.clear();
  open.concurrent_sessions.reset();
  c->plans.emplace("open", open);
  return c;
}

boost::json::object json(std::string_view text) { return boost::json::parse(text).as_object(); }

using Refs = std::array<store::LimitRef, store::kMaxLimitsPerCheck>;

TEST(Policy, PlansByName) {
  const Policy policy(make_config());
  ASSERT_NE(policy.plan("free"), nullptr);
  EXPECT_EQ(policy.plan("free")->api_requests_per_minute, 60);
  EXPECT_EQ(policy.plan("gold"), nullptr);
}

TEST(Policy, MatchGroup) {
  const Policy policy(make_config());
  EXPECT_EQ(policy.match_group("POST", "/v1/sessions"), 0u);
  EXPECT_EQ(policy.match_group("POST", "/v1/sessions/x/end"), 0u);
  EXPECT_EQ(policy.match_group("GET", "/v1/sessions/x"), 1u);
  EXPECT_EQ(policy.match_group("DELETE", "/v1/sessions/x/analysis"), 2u);
  EXPECT_EQ(policy.group_name(2), "analysis");
  EXPECT_EQ(policy.match_group("GET", "/v1/sessions"), std::nullopt);
}

TEST(Policy, SessionRoutes) {
  const Policy policy(make_config());
  std::string id = "stale";
  EXPECT_EQ(policy.match_session_route("POST", "/v1/sessions", &id), SessionRoute::create);
  EXPECT_EQ(id, "");
  EXPECT_EQ(policy.match_session_route("POST", "/v1/sessions/ses_1/end", &id), SessionRoute::end);
  EXPECT_EQ(id, "ses_1");
  EXPECT_EQ(policy.match_session_route("GET", "/v1/sessions/ses_2/connect?token=abc", &id),
            SessionRoute::stream);
  EXPECT_EQ(id, "ses_2");
  EXPECT_EQ(policy.match_session_route("GET", "/v1/sessions/ses_2", nullptr), SessionRoute::none);
  EXPECT_EQ(policy.match_session_route("POST", "/v1/sessions/ses_1/end", nullptr),
            SessionRoute::end);
}

TEST(Policy, LimitsForPlanAndGroup) {
  const Policy policy(make_config());
  Refs out;
  const PlanLimits& free = *policy.plan("free");

  ASSERT_EQ(policy.limits_for(free, std::nullopt, out), 1u);
  EXPECT_EQ(out[0].name, "api");
  EXPECT_EQ(out[0].spec.limit, 60);
  EXPECT_EQ(out[0].spec.window, 60s);
  EXPECT_EQ(out[0].spec.algorithm, limiter::Algorithm::sliding_window);
  EXPECT_TRUE(out[0].spec.enforced);

  ASSERT_EQ(policy.limits_for(free, 0, out), 2u);
  EXPECT_EQ(out[1].name, "sessions_write");
  EXPECT_EQ(out[1].spec.limit, 30);
  EXPECT_EQ(out[1].spec.window, 60s);
  EXPECT_EQ(out[1].spec.algorithm, limiter::Algorithm::sliding_window);
  EXPECT_TRUE(out[1].spec.enforced);
  // The name points into the Policy's configuration, not into a temporary.
  EXPECT_EQ(out[1].name.data(), policy.group_name(0).data());
}

TEST(Policy, GroupNotLimitedByThePlanGivesOnlyTheApiLimit) {
  const Policy policy(make_config());
  Refs out;
  EXPECT_EQ(policy.limits_for(*policy.plan("open"), 1, out), 1u);
  EXPECT_EQ(out[0].name, "api");
}

TEST(Policy, ShadowFlags) {
  Refs out;
  {
    const Policy policy(make_config());
    // Group shadow: only the group's limit is not enforced.
    ASSERT_EQ(policy.limits_for(*policy.plan("free"), 2, out), 2u);
    EXPECT_TRUE(out[0].spec.enforced);
    EXPECT_FALSE(out[1].spec.enforced);
    // Plan shadow: nothing is enforced.
    ASSERT_EQ(policy.limits_for(*policy.plan("dark"), 0, out), 2u);
    EXPECT_FALSE(out[0].spec.enforced);
    EXPECT_FALSE(out[1].spec.enforced);
  }
  {
    auto c = make_config();
    c->shadow_mode = true;  // global
    const Policy policy(c);
    ASSERT_EQ(policy.limits_for(*policy.plan("free"), 0, out), 2u);
    EXPECT_FALSE(out[0].spec.enforced);
    EXPECT_FALSE(out[1].spec.enforced);
  }
}

TEST(Policy, EffectiveLimitsWithoutOverridesIsThePlan) {
  const Policy policy(make_config());
  const auto limits = policy.effective_limits("free", {});
  ASSERT_TRUE(limits) << limits.error();
  EXPECT_EQ(limits->api_requests_per_minute, 60);
  EXPECT_EQ(limits->concurrent_sessions, 2);
  EXPECT_EQ(limits->groups.size(), 3u);
}

TEST(Policy, EffectiveLimitsApplyOverrides) {
  const Policy policy(make_config());
  const auto limits = policy.effective_limits(
      "free", json(R"({"api_requests_per_minute": 1000, "concurrent_sessions": null,
                       "ws_messages_per_second": 0, "ws_audio_bytes_per_second": 65536,
                       "shadow_mode": true, "groups": {"analysis": 5, "sessions_read": 0}})"));
  ASSERT_TRUE(limits) << limits.error();
  EXPECT_EQ(limits->api_requests_per_minute, 1000);
  EXPECT_EQ(limits->concurrent_sessions, std::nullopt);
  EXPECT_EQ(limits->ws_messages_per_second, 0);
  EXPECT_EQ(limits->ws_audio_bytes_per_second, 65536);
  EXPECT_TRUE(limits->shadow_mode);
  EXPECT_EQ(limits->groups.at("analysis"), 5);
  EXPECT_EQ(limits->groups.at("sessions_read"), 0);
  EXPECT_EQ(limits->groups.at("sessions_write"), 30);  // not overridden

  // A group the plan does not limit can be limited for one account.
  const auto open = policy.effective_limits("open", json(R"({"groups": {"analysis": 7},
                                                             "concurrent_sessions": 3})"));
  ASSERT_TRUE(open) << open.error();
  EXPECT_EQ(open->groups.size(), 1u);
  EXPECT_EQ(open->groups.at("analysis"), 7);
  EXPECT_EQ(open->concurrent_sessions, 3);
}

TEST(Policy, EffectiveLimitsRejectBadOverrides) {
  const Policy policy(make_config());
  const auto error_of = [&](std::string_view plan, std::string_view overrides) -> std::string {
    const auto r = policy.effective_limits(plan, json(overrides));
    return r ? std::string("(accepted)") : r.error();
  };
  EXPECT_EQ(error_of("gold", "{}"), "unknown plan \"gold\"");
  EXPECT_EQ(error_of("free", R"({"api_requests_per_minute": -1})"),
            "overrides.api_requests_per_minute must be an integer >= 0");
  EXPECT_EQ(error_of("free", R"({"api_requests_per_minute": 1.5})"),
            "overrides.api_requests_per_minute must be an integer >= 0");
  EXPECT_EQ(error_of("free", R"({"ws_messages_per_second": "100"})"),
            "overrides.ws_messages_per_second must be an integer >= 0");
  EXPECT_EQ(error_of("free", R"({"ws_audio_bytes_per_second": null})"),
            "overrides.ws_audio_bytes_per_second must be an integer >= 0");
  EXPECT_EQ(error_of("free", R"({"concurrent_sessions": -2})"),
            "overrides.concurrent_sessions must be an integer >= 0 or null (unlimited)");
  EXPECT_EQ(error_of("free", R"({"shadow_mode": 1})"),
            "overrides.shadow_mode must be true or false");
  EXPECT_EQ(error_of("free", R"({"groups": [1]})"),
            "overrides.groups must be an object of group name to limit per minute");
  EXPECT_EQ(error_of("free", R"({"groups": {"search": 1}})"),
            "overrides.groups.search: no such endpoint group");
  EXPECT_EQ(error_of("free", R"({"groups": {"analysis": -1}})"),
            "overrides.groups.analysis must be an integer >= 0");
  EXPECT_EQ(error_of("free", R"({"plan": "pro"})"), "overrides.plan: unknown field");
  EXPECT_EQ(error_of("free", R"({"api_requests_per_minute": 18446744073709551615})"),
            "overrides.api_requests_per_minute must be an integer >= 0");
}

TEST(Policy, ValidateOverrides) {
  const Policy policy(make_config());
  EXPECT_EQ(policy.validate_overrides(json(R"({"groups": {"analysis": 3}})")), std::nullopt);
  EXPECT_EQ(policy.validate_overrides(json(R"({"burst": 3})")), "overrides.burst: unknown field");
}

TEST(Policy, InvalidConfigurationIsAProgrammingError) {
  auto c = make_config();
  c->groups[1].routes.push_back("POST /v1/sessions");  // also in sessions_write
  EXPECT_THROW(Policy{c}, std::invalid_argument);
}

}  // namespace
}  // namespace gw::policy

#include "policy/policy.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/parse.hpp>
#include <stdexcept>

#include "limiter/limit_bounds.h"

namespace gw::policy {
namespace {

using namespace std::chrono_literals;

// A small configuration built by hand (policy/ does not depend on config/'s loader).
std::shared_ptr<PolicyConfig> make_config() {
  auto c = std::make_shared<PolicyConfig>();
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
            "overrides.api_requests_per_minute must be an integer from 0 to 1000000000");
  EXPECT_EQ(error_of("free", R"({"concurrent_sessions": -2})"),
            "overrides.concurrent_sessions must be an integer from 0 to 1000000000, or null "
            "(unlimited)");
  EXPECT_EQ(error_of("free", R"({"groups": {"search": 1}})"),
            "overrides.groups.search: no such endpoint group (groups: sessions_write, "
            "sessions_read, analysis)");
}

// Every number of an override is held to the configuration's own bounds
// (limiter::kMaxLimit), and the error names the field as the admin API's `param`.
TEST(Policy, ValidateOverridesNamesTheField) {
  const Policy policy(make_config());
  const auto param_of = [&](std::string_view overrides) -> std::string {
    const auto error = policy.validate_overrides(json(overrides));
    return error ? error->param : std::string("(accepted)");
  };
  for (const std::string field : {"api_requests_per_minute", "ws_messages_per_second",
                                  "ws_audio_bytes_per_second", "concurrent_sessions"}) {
    for (const std::string bad :
         {"-1", "1.5", "1e3", "1000000001", "9223372036854775807", "9223372036854775808",
          "18446744073709551615", "1e300", "-1e300", "\"100\"", "true", "[1]", "{}"}) {
      EXPECT_EQ(param_of("{\"" + field + "\": " + bad + "}"), "overrides." + field) << bad;
    }
    EXPECT_EQ(param_of("{\"" + field + "\": 1000000000}"), "(accepted)");
    EXPECT_EQ(param_of("{\"" + field + "\": 0}"), "(accepted)");
  }
  EXPECT_EQ(param_of(R"({"ws_audio_bytes_per_second": null})"),
            "overrides.ws_audio_bytes_per_second");
  EXPECT_EQ(param_of(R"({"concurrent_sessions": null})"), "(accepted)");
  EXPECT_EQ(param_of(R"({"groups": {"analysis": 1000000001}})"), "overrides.groups.analysis");
  EXPECT_EQ(param_of(R"({"groups": {"analysis": -1}})"), "overrides.groups.analysis");
  EXPECT_EQ(param_of(R"({"groups": {"analysis": 2.5}})"), "overrides.groups.analysis");
  EXPECT_EQ(param_of(R"({"groups": {"analysis": "7"}})"), "overrides.groups.analysis");
  EXPECT_EQ(param_of(R"({"groups": {"analysis": 1000000000}})"), "(accepted)");
  EXPECT_EQ(param_of(R"({"groups": {"search": 1}})"), "overrides.groups.search");
  EXPECT_EQ(param_of(R"({"groups": [1]})"), "overrides.groups");
  EXPECT_EQ(param_of(R"({"shadow_mode": 1})"), "overrides.shadow_mode");
  EXPECT_EQ(param_of(R"({"burst": 3})"), "overrides.burst");
  EXPECT_EQ(param_of(R"({"plan": "pro"})"), "overrides.plan");

  const auto error = policy.validate_overrides(json(R"({"api_requests_per_minute": 2e9})"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message,
            "overrides.api_requests_per_minute must be an integer from 0 to 1000000000");
}

TEST(Policy, TheLargestOverridesApply) {
  const Policy policy(make_config());
  const auto limits = policy.effective_limits(
      "free", json(R"({"api_requests_per_minute": 1000000000, "concurrent_sessions": 1000000000,
                       "ws_messages_per_second": 1000000000,
                       "ws_audio_bytes_per_second": 1000000000,
                       "groups": {"analysis": 1000000000}})"));
  ASSERT_TRUE(limits) << limits.error();
  EXPECT_EQ(limits->api_requests_per_minute, limiter::kMaxLimit);
  EXPECT_EQ(limits->concurrent_sessions, limiter::kMaxLimit);
  EXPECT_EQ(limits->ws_messages_per_second, limiter::kMaxLimit);
  EXPECT_EQ(limits->ws_audio_bytes_per_second, limiter::kMaxLimit);
  EXPECT_EQ(limits->groups.at("analysis"), limiter::kMaxLimit);
}

TEST(Policy, InvalidConfigurationIsAProgrammingError) {
  auto c = make_config();
  c->groups[1].routes.push_back("POST /v1/sessions");  // also in sessions_write
  EXPECT_THROW(Policy{c}, std::invalid_argument);
}

}  // namespace
}  // namespace gw::policy

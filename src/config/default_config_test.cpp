// The built-in config/gateway.yaml holds every number of the published policy (SPEC §1) and
// every key of SPEC §3, and its routes put each endpoint in the documented group.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "config/config_loader.h"
#include "policy/policy.h"

namespace gw::config {
namespace {

using namespace std::chrono_literals;

struct PlanRow {
  const char* plan;
  std::int64_t api_per_minute;
  std::optional<std::int64_t> sessions;
  std::int64_t ws_messages;
  std::int64_t ws_audio_bytes;
};

TEST(DefaultConfig, PlanTableMatchesThePublishedPolicy) {
  const auto config = default_config();
  const PlanRow rows[] = {
      {"free", 60, 2, 100, 32768},
      {"starter", 120, 10, 500, 65536},
      {"pro", 600, 50, 1000, 131072},
      {"enterprise", 600, std::nullopt, 1000, 131072},  // per account; defaults = pro's
      {"anonymous", 60, 2, 100, 32768},                 // ours: free's numbers
  };
  ASSERT_EQ(config->plans.size(), std::size(rows));
  for (const PlanRow& row : rows) {
    SCOPED_TRACE(row.plan);
    const auto it = config->plans.find(row.plan);
    ASSERT_NE(it, config->plans.end());
    EXPECT_EQ(it->second.api_requests_per_minute, row.api_per_minute);
    EXPECT_EQ(it->second.concurrent_sessions, row.sessions);
    EXPECT_EQ(it->second.ws_messages_per_second, row.ws_messages);
    EXPECT_EQ(it->second.ws_audio_bytes_per_second, row.ws_audio_bytes);
    EXPECT_FALSE(it->second.shadow_mode);
  }
}

TEST(DefaultConfig, GroupLimitsPerPlan) {
  const auto config = default_config();
  // sessions_write, sessions_read, recordings, analysis, webhooks
  const std::map<std::string, std::array<std::int64_t, 5>> expected = {
      {"free", {30, 60, 30, 15, 30}},  // half of starter
      {"starter", {60, 120, 60, 30, 60}},
      {"pro", {300, 600, 300, 150, 300}},
      {"enterprise", {300, 600, 300, 150, 300}},
      {"anonymous", {30, 60, 30, 15, 30}},
  };
  const char* groups[] = {"sessions_write", "sessions_read", "recordings", "analysis", "webhooks"};
  for (const auto& [plan, limits] : expected) {
    SCOPED_TRACE(plan);
    const auto& plan_groups = config->plans.at(plan).groups;
    ASSERT_EQ(plan_groups.size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(plan_groups.at(groups[i]), limits[i]) << groups[i];
    }
  }
}

TEST(DefaultConfig, GroupsAndRoutesInFileOrder) {
  const auto config = default_config();
  ASSERT_EQ(config->groups.size(), 5u);
  EXPECT_EQ(config->groups[0].name, "sessions_write");
  EXPECT_EQ(config->groups[0].routes,
            (std::vector<std::string>{"POST /v1/sessions", "POST /v1/sessions/{id}/end"}));
  EXPECT_EQ(config->groups[1].name, "sessions_read");
  EXPECT_EQ(
      config->groups[1].routes,
      (std::vector<std::string>{"GET /v1/sessions/{id}", "GET /v1/sessions/{id}/transcript"}));
  EXPECT_EQ(config->groups[2].name, "recordings");
  EXPECT_EQ(config->groups[2].routes,
            (std::vector<std::string>{"GET /v1/sessions/{id}/recordings*",
                                      "DELETE /v1/sessions/{id}/recordings*",
                                      "GET /v1/recordings/*", "DELETE /v1/recordings/*"}));
  EXPECT_EQ(config->groups[3].name, "analysis");
  EXPECT_EQ(config->groups[3].routes,
            (std::vector<std::string>{"* /v1/sessions/{id}/analysis*", "* /v1/analysis/*"}));
  EXPECT_EQ(config->groups[4].name, "webhooks");
  EXPECT_EQ(config->groups[4].routes, (std::vector<std::string>{"* /v1/webhooks*"}));
  for (const auto& g : config->groups) {
    EXPECT_FALSE(g.shadow_mode) << g.name;
  }
}

TEST(DefaultConfig, EverySettingOfSpecSection3) {
  const auto c = default_config();
  EXPECT_EQ(c->listen.host, "0.0.0.0");
  EXPECT_EQ(c->listen.port, 8080);
  EXPECT_EQ(c->shutdown_grace, 10000ms);
  EXPECT_EQ(c->admin.listen.host, "127.0.0.1");
  EXPECT_EQ(c->admin.listen.port, 9090);
  EXPECT_EQ(c->admin.token_env, "KALLGLOT_GATEWAY_ADMIN_TOKEN");
  EXPECT_EQ(c->upstream.url, "http://127.0.0.1:7000");
  EXPECT_EQ(c->upstream.host, "127.0.0.1");
  EXPECT_EQ(c->upstream.port, 7000);
  EXPECT_EQ(c->upstream.connect_timeout, 1000ms);
  EXPECT_EQ(c->upstream.request_timeout, 30000ms);
  EXPECT_EQ(c->upstream.pool_idle_timeout, 4000ms);
  EXPECT_EQ(c->store.backend, StoreBackend::memory);
  EXPECT_EQ(c->store.redis_urls, std::vector<std::string>{"redis://127.0.0.1:6379/0"});
  EXPECT_EQ(c->store.redis_timeout, 50ms);
  EXPECT_EQ(c->store.on_failure, OnStoreFailure::fail_open);
  EXPECT_EQ(c->accounts.path, "./data/accounts.db");
  EXPECT_EQ(c->accounts.cache, 60s);
  EXPECT_EQ(c->http.max_header_bytes, 16384u);
  EXPECT_EQ(c->http.max_body_bytes, 104857600u);
  EXPECT_EQ(c->http.header_timeout, 10000ms);
  EXPECT_EQ(c->http.idle_timeout, 60000ms);
  EXPECT_EQ(c->algorithm, limiter::Algorithm::fixed_window);
  EXPECT_TRUE(c->x_ratelimit_headers);
  EXPECT_FALSE(c->ietf_headers);
  EXPECT_EQ(c->unknown_key, UnknownKey::reject);
  EXPECT_FALSE(c->shadow_mode);
  EXPECT_EQ(c->sessions.create_route, "POST /v1/sessions");
  EXPECT_EQ(c->sessions.end_route, "POST /v1/sessions/{id}/end");
  EXPECT_EQ(c->sessions.stream_route, "GET /v1/sessions/{id}/connect");
  EXPECT_EQ(c->sessions.lease, 14400s);
  EXPECT_EQ(c->websocket.messages_over_limit, OverLimitAction::reject);
  EXPECT_EQ(c->websocket.audio_over_limit, OverLimitAction::shape);
  EXPECT_EQ(c->websocket.close_after_violation, 10000ms);
  EXPECT_EQ(c->websocket.max_message_bytes, 16777216u);
}

TEST(DefaultConfig, EmptyUserFileIsTheDefaults) {
  for (const char* text : {"", "# nothing but a comment\n", "---\n"}) {
    const auto loaded = load_config_text(text, "empty.yaml");
    ASSERT_TRUE(loaded) << loaded.error().front().to_string();
    EXPECT_EQ((*loaded)->plans.at("pro").api_requests_per_minute, 600);
    EXPECT_EQ((*loaded)->groups.size(), 5u);
  }
}

// Every default route lands in its group through the compiled Policy.
TEST(DefaultConfig, DefaultRoutesMatchTheirGroups) {
  const policy::Policy policy(default_config());
  const auto group_of = [&](std::string_view method, std::string_view path) -> std::string {
    const auto g = policy.match_group(method, path);
    return g ? policy.group_name(*g) : "(none)";
  };
  EXPECT_EQ(group_of("POST", "/v1/sessions"), "sessions_write");
  EXPECT_EQ(group_of("POST", "/v1/sessions/ses_1/end"), "sessions_write");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1"), "sessions_read");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/transcript"), "sessions_read");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/recordings"), "recordings");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/recordings/rec_1"), "recordings");
  EXPECT_EQ(group_of("DELETE", "/v1/sessions/ses_1/recordings/rec_1"), "recordings");
  EXPECT_EQ(group_of("GET", "/v1/recordings/rec_1"), "recordings");
  EXPECT_EQ(group_of("DELETE", "/v1/recordings/rec_1"), "recordings");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/analysis"), "analysis");
  EXPECT_EQ(group_of("POST", "/v1/sessions/ses_1/analysis"), "analysis");
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/analysis/summary"), "analysis");
  EXPECT_EQ(group_of("PUT", "/v1/analysis/an_1"), "analysis");
  EXPECT_EQ(group_of("GET", "/v1/webhooks"), "webhooks");
  EXPECT_EQ(group_of("DELETE", "/v1/webhooks/wh_1"), "webhooks");
  EXPECT_EQ(group_of("POST", "/v1/webhooks?limit=3"), "webhooks");

  // Only the plan-wide limit for these.
  EXPECT_EQ(group_of("GET", "/v1/sessions"), "(none)");           // list: not in a group
  EXPECT_EQ(group_of("DELETE", "/v1/sessions/ses_1"), "(none)");  // only GET reads
  EXPECT_EQ(group_of("POST", "/v1/recordings/rec_1"), "(none)");  // only GET, DELETE
  EXPECT_EQ(group_of("GET", "/v1/recordings"), "(none)");         // `/*` needs a segment
  EXPECT_EQ(group_of("GET", "/v1/sessions/ses_1/connect"), "(none)");
  EXPECT_EQ(group_of("GET", "/v1/rate_limits"), "(none)");
}

TEST(DefaultConfig, DefaultSessionRoutes) {
  const policy::Policy policy(default_config());
  std::string id;
  EXPECT_EQ(policy.match_session_route("POST", "/v1/sessions", &id), policy::SessionRoute::create);
  EXPECT_EQ(policy.match_session_route("POST", "/v1/sessions/ses_9/end", &id),
            policy::SessionRoute::end);
  EXPECT_EQ(id, "ses_9");
  EXPECT_EQ(policy.match_session_route("GET", "/v1/sessions/ses_7/connect?token=t", &id),
            policy::SessionRoute::stream);
  EXPECT_EQ(id, "ses_7");
  EXPECT_EQ(policy.match_session_route("GET", "/v1/sessions/ses_7", &id),
            policy::SessionRoute::none);
}

}  // namespace
}  // namespace gw::config

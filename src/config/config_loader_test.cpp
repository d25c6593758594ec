// Loading a user's file over the defaults: key-by-key merge, list replacement, and errors
// with the exact file:line:col of the offending node.
#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace gw::config {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::shared_ptr<const GatewayConfig> load_ok(std::string_view yaml) {
  auto loaded = load_config_text(yaml, "user.yaml");
  if (!loaded) {
    std::string all;
    for (const auto& e : loaded.error()) {
      all += e.to_string() + "\n";
    }
    ADD_FAILURE() << "unexpected errors:\n" << all;
    return default_config();
  }
  return *loaded;
}

std::vector<std::string> errors_of(std::string_view yaml) {
  auto loaded = load_config_text(yaml, "user.yaml");
  std::vector<std::string> out;
  if (!loaded) {
    for (const auto& e : loaded.error()) {
      out.push_back(e.to_string());
    }
  }
  return out;
}

// ---- merging ----------------------------------------------------------------------------

TEST(ConfigMerge, OneNumberChangesEverythingElseStays) {
  const auto c = load_ok("plans: {free: {api_requests_per_minute: 30}}");
  const auto d = default_config();
  const auto& free = c->plans.at("free");
  EXPECT_EQ(free.api_requests_per_minute, 30);
  EXPECT_EQ(free.concurrent_sessions, 2);
  EXPECT_EQ(free.ws_messages_per_second, 100);
  EXPECT_EQ(free.ws_audio_bytes_per_second, 32768);
  EXPECT_EQ(free.groups, d->plans.at("free").groups);
  EXPECT_EQ(c->plans.at("starter").api_requests_per_minute, 120);
  EXPECT_EQ(c->plans.size(), d->plans.size());
  EXPECT_EQ(c->groups.size(), d->groups.size());
  EXPECT_EQ(c->listen.port, 8080);
  EXPECT_EQ(c->upstream.url, d->upstream.url);
}

TEST(ConfigMerge, MinimalUpstreamFile) {
  const auto c = load_ok("upstream: {url: http://10.0.0.5:7100}\n");
  EXPECT_EQ(c->upstream.url, "http://10.0.0.5:7100");
  EXPECT_EQ(c->upstream.host, "10.0.0.5");
  EXPECT_EQ(c->upstream.port, 7100);
  EXPECT_EQ(c->upstream.connect_timeout, 1000ms);  // sibling keys keep their defaults
  EXPECT_EQ(c->upstream.request_timeout, 30000ms);

  const auto no_port = load_ok("upstream: {url: 'http://api.internal/'}");
  EXPECT_EQ(no_port->upstream.host, "api.internal");
  EXPECT_EQ(no_port->upstream.port, 80);
}

TEST(ConfigMerge, NestedMapsMergeDeeply) {
  const auto c = load_ok(R"(
store:
  redis:
    timeout_ms: 20
plans:
  pro:
    groups: {analysis: 10}
)");
  EXPECT_EQ(c->store.redis_timeout, 20ms);
  EXPECT_EQ(c->store.backend, StoreBackend::memory);
  EXPECT_EQ(c->store.redis_urls, std::vector<std::string>{"redis://127.0.0.1:6379/0"});
  const auto& pro = c->plans.at("pro");
  EXPECT_EQ(pro.groups.at("analysis"), 10);
  EXPECT_EQ(pro.groups.at("sessions_write"), 300);
  EXPECT_EQ(pro.groups.size(), 5u);
}

TEST(ConfigMerge, ListsReplaceTheDefaultList) {
  const auto c = load_ok(R"(
headers: [ietf]
groups:
  webhooks: {routes: ["POST /v1/hooks", "GET /v1/hooks/{id}"]}
store:
  redis: {url: [redis://h1:7000, redis://h2:7000]}
)");
  EXPECT_FALSE(c->x_ratelimit_headers);
  EXPECT_TRUE(c->ietf_headers);
  const auto& webhooks = c->groups.at(4);
  EXPECT_EQ(webhooks.name, "webhooks");
  EXPECT_EQ(webhooks.routes, (std::vector<std::string>{"POST /v1/hooks", "GET /v1/hooks/{id}"}));
  EXPECT_EQ(c->groups.at(0).routes.size(), 2u);  // other groups untouched
  EXPECT_EQ(c->store.redis_urls, (std::vector<std::string>{"redis://h1:7000", "redis://h2:7000"}));

  const auto both = load_ok("headers: [x-ratelimit, ietf]");
  EXPECT_TRUE(both->x_ratelimit_headers);
  EXPECT_TRUE(both->ietf_headers);
  const auto none = load_ok("headers: []");
  EXPECT_FALSE(none->x_ratelimit_headers);
  EXPECT_FALSE(none->ietf_headers);
}

TEST(ConfigMerge, NewPlanAndNewGroup) {
  const auto c = load_ok(R"(
plans:
  gold:
    api_requests_per_minute: 5000
    concurrent_sessions: null
    ws_messages_per_second: 2000
    ws_audio_bytes_per_second: 262144
    groups: {search: 100, analysis: 400}
groups:
  search:
    routes: ["GET /v1/search*"]
    shadow_mode: true
)");
  const auto& gold = c->plans.at("gold");
  EXPECT_EQ(gold.api_requests_per_minute, 5000);
  EXPECT_EQ(gold.concurrent_sessions, std::nullopt);
  EXPECT_EQ(gold.groups.size(), 2u);
  EXPECT_EQ(gold.groups.at("search"), 100);
  ASSERT_EQ(c->groups.size(), 6u);
  EXPECT_EQ(c->groups.back().name, "search");  // new groups follow the defaults' order
  EXPECT_TRUE(c->groups.back().shadow_mode);
  // A new group is limited only where a plan lists it.
  EXPECT_EQ(c->plans.at("pro").groups.count("search"), 0u);
}

TEST(ConfigMerge, NullGroupLimitStopsLimitingTheGroupForThePlan) {
  const auto c = load_ok("plans: {free: {groups: {webhooks: null}}}");
  EXPECT_EQ(c->plans.at("free").groups.count("webhooks"), 0u);
  EXPECT_EQ(c->plans.at("free").groups.size(), 4u);
  EXPECT_EQ(c->plans.at("starter").groups.at("webhooks"), 60);
}

TEST(ConfigMerge, ConcurrentSessionsNullIsUnlimitedAndNumbersReplaceNull) {
  const auto c = load_ok(R"(
plans:
  pro: {concurrent_sessions: null}
  enterprise: {concurrent_sessions: 0}
)");
  EXPECT_EQ(c->plans.at("pro").concurrent_sessions, std::nullopt);
  EXPECT_EQ(c->plans.at("enterprise").concurrent_sessions, 0);
}

TEST(ConfigMerge, ShadowModeGlobalPlanAndGroup) {
  const auto c = load_ok(R"(
shadow_mode: true
plans: {starter: {shadow_mode: true}}
groups: {analysis: {shadow_mode: true}}
)");
  EXPECT_TRUE(c->shadow_mode);
  EXPECT_TRUE(c->plans.at("starter").shadow_mode);
  EXPECT_FALSE(c->plans.at("pro").shadow_mode);
  EXPECT_TRUE(c->groups.at(3).shadow_mode);
  EXPECT_EQ(c->groups.at(3).routes.size(), 2u);  // routes kept
}

TEST(ConfigMerge, EveryOtherSetting) {
  const auto c = load_ok(R"(
listen: "[::1]:0"
shutdown_grace_ms: 0
admin: {listen: localhost:9191, token_env: MY_TOKEN}
upstream: {url: "http://[::1]:7001", connect_timeout_ms: 5, request_timeout_ms: 6}
store: {backend: redis, redis: {url: redis://:secret@cache:6380/2}, on_failure: local}
accounts: {path: /var/lib/gw/accounts.db, cache_seconds: 0}
http: {max_header_bytes: 8192, max_body_bytes: 1, header_timeout_ms: 7, idle_timeout_ms: 8}
algorithm: gcra
unknown_key: anonymous
sessions:
  create_route: POST /v2/sessions
  end_route: DELETE /v2/sessions/{sid}
  stream_route: "* /v2/sessions/{sid}/ws"
  lease_seconds: 60
websocket:
  messages_over_limit: shape
  audio_over_limit: reject
  close_after_violation_ms: 0
  max_message_bytes: 1024
)");
  EXPECT_EQ(c->listen.host, "::1");
  EXPECT_EQ(c->listen.port, 0);
  EXPECT_EQ(c->shutdown_grace, 0ms);
  EXPECT_EQ(c->admin.listen.host, "localhost");
  EXPECT_EQ(c->admin.listen.port, 9191);
  EXPECT_EQ(c->admin.token_env, "MY_TOKEN");
  EXPECT_EQ(c->upstream.host, "::1");
  EXPECT_EQ(c->upstream.port, 7001);
  EXPECT_EQ(c->upstream.connect_timeout, 5ms);
  EXPECT_EQ(c->upstream.request_timeout, 6ms);
  EXPECT_EQ(c->store.backend, StoreBackend::redis);
  EXPECT_EQ(c->store.redis_urls, std::vector<std::string>{"redis://:secret@cache:6380/2"});
  EXPECT_EQ(c->store.on_failure, OnStoreFailure::local);
  EXPECT_EQ(c->accounts.path, "/var/lib/gw/accounts.db");
  EXPECT_EQ(c->accounts.cache, 0s);
  EXPECT_EQ(c->http.max_header_bytes, 8192u);
  EXPECT_EQ(c->http.max_body_bytes, 1u);
  EXPECT_EQ(c->http.header_timeout, 7ms);
  EXPECT_EQ(c->http.idle_timeout, 8ms);
  EXPECT_EQ(c->algorithm, limiter::Algorithm::gcra);
  EXPECT_EQ(c->unknown_key, UnknownKey::anonymous);
  EXPECT_EQ(c->sessions.create_route, "POST /v2/sessions");
  EXPECT_EQ(c->sessions.end_route, "DELETE /v2/sessions/{sid}");
  EXPECT_EQ(c->sessions.stream_route, "* /v2/sessions/{sid}/ws");
  EXPECT_EQ(c->sessions.lease, 60s);
  EXPECT_EQ(c->websocket.messages_over_limit, OverLimitAction::shape);
  EXPECT_EQ(c->websocket.audio_over_limit, OverLimitAction::reject);
  EXPECT_EQ(c->websocket.close_after_violation, 0ms);
  EXPECT_EQ(c->websocket.max_message_bytes, 1024u);
}

TEST(ConfigMerge, AbuseBoundsAndTrustedProxies) {
  const auto defaults = default_config();
  EXPECT_EQ(defaults->http.max_connections, 10000u);
  EXPECT_EQ(defaults->http.max_connections_per_ip, 256u);
  EXPECT_TRUE(defaults->trusted_proxies.empty());
  const auto c = load_ok(R"(
http: {max_connections: 50, max_connections_per_ip: 5}
trusted_proxies: ["10.0.0.0/8", "2001:db8::/32", 192.0.2.7]
websocket: {max_streams: 9, max_streams_per_session: 1, max_buffered_bytes: 1000,
            upgrades_per_minute_per_ip: 7}
)");
  EXPECT_EQ(c->http.max_connections, 50u);
  EXPECT_EQ(c->http.max_connections_per_ip, 5u);
  ASSERT_EQ(c->trusted_proxies.size(), 3u);
  EXPECT_TRUE(c->trusted_proxies[0].contains(*core::parse_ip("10.200.0.1")));
  EXPECT_TRUE(c->trusted_proxies[2].contains(*core::parse_ip("192.0.2.7")));
  EXPECT_FALSE(c->trusted_proxies[2].contains(*core::parse_ip("192.0.2.8")));
  EXPECT_EQ(c->websocket.max_streams, 9u);
  EXPECT_EQ(c->websocket.max_streams_per_session, 1u);
  EXPECT_EQ(c->websocket.max_buffered_bytes, 1000u);
  EXPECT_EQ(c->websocket.upgrades_per_minute_per_ip, 7u);
}

TEST(ConfigErrors, AbuseBounds) {
  EXPECT_THAT(errors_of("http: {max_connections: 0}"),
              ElementsAre("user.yaml:1:25: http.max_connections: must be >= 1, got 0"));
  EXPECT_THAT(errors_of("websocket: {max_streams_per_session: -1}"),
              ElementsAre(StartsWith("user.yaml:1:38: websocket.max_streams_per_session: must "
                                     "be >= 1")));
  EXPECT_THAT(errors_of("trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]"),
              ElementsAre(StartsWith("user.yaml:1:31: trusted_proxies[1]: expected an IP "
                                     "address or a CIDR network")));
  EXPECT_THAT(errors_of("trusted_proxies: 10.0.0.0/8"),
              ElementsAre(HasSubstr("trusted_proxies: expected a list")));
}

TEST(ConfigMerge, EmptySectionChangesNothing) {
  const auto c = load_ok("admin:\nplans:\n  free:\n");
  EXPECT_EQ(c->admin.listen.port, 9090);
  EXPECT_EQ(c->plans.at("free").api_requests_per_minute, 60);
}

// ---- errors: exact positions ------------------------------------------------------------

TEST(ConfigErrors, UnknownKeyAtTheKey) {
  EXPECT_THAT(errors_of("lisen: 0.0.0.0:8080\n"),
              ElementsAre("user.yaml:1:1: unknown key 'lisen' (did you mean 'listen'?)"));
  EXPECT_THAT(errors_of("plans:\n  free:\n    api_request_per_minute: 30\n"),
              ElementsAre("user.yaml:3:5: unknown key 'api_request_per_minute' in plans.free "
                          "(did you mean 'api_requests_per_minute'?)"));
  EXPECT_THAT(errors_of("store:\n  redis:\n    cluster: true\n"),
              ElementsAre("user.yaml:3:5: unknown key 'cluster' in store.redis"));
}

TEST(ConfigErrors, WrongTypeAtTheValue) {
  EXPECT_THAT(errors_of("upstream:\n  connect_timeout_ms: fast\n"),
              ElementsAre("user.yaml:2:23: upstream.connect_timeout_ms: expected an integer, "
                          "got 'fast'"));
  EXPECT_THAT(errors_of("plans:\n  free:\n    api_requests_per_minute: \"60\"\n"),
              ElementsAre("user.yaml:3:30: plans.free.api_requests_per_minute: expected an "
                          "integer, got the string \"60\""));
  EXPECT_THAT(errors_of("shadow_mode: yes\n"),
              ElementsAre("user.yaml:1:14: shadow_mode: expected true or false, got 'yes'"));
  EXPECT_THAT(errors_of("plans: [free]\n"),
              ElementsAre("user.yaml:1:8: plans: expected a map, got a list"));
  EXPECT_THAT(errors_of("headers: x-ratelimit\n"),
              ElementsAre("user.yaml:1:10: headers: expected a list of x-ratelimit | ietf, got "
                          "'x-ratelimit'"));
}

TEST(ConfigErrors, EmptyValueIsReportedAtItsKey) {
  EXPECT_THAT(errors_of("plans:\n  free:\n    api_requests_per_minute:\n    shadow_mode: true\n"),
              ElementsAre("user.yaml:3:5: plans.free.api_requests_per_minute: expected an "
                          "integer, got null"));
}

TEST(ConfigErrors, NegativeLimit) {
  EXPECT_THAT(errors_of("plans: {pro: {api_requests_per_minute: -1}}"),
              ElementsAre("user.yaml:1:40: plans.pro.api_requests_per_minute: must be >= 0, "
                          "got -1"));
  EXPECT_THAT(errors_of("plans: {pro: {groups: {analysis: -5}}}"),
              ElementsAre("user.yaml:1:34: plans.pro.groups.analysis: must be >= 0, got -5"));
  EXPECT_THAT(errors_of("plans: {pro: {concurrent_sessions: -1}}"),
              ElementsAre(StartsWith("user.yaml:1:36: plans.pro.concurrent_sessions: must be "
                                     ">= 0")));
}

TEST(ConfigErrors, OutOfRangeNumbers) {
  EXPECT_THAT(errors_of("upstream: {request_timeout_ms: 0}"),
              ElementsAre("user.yaml:1:32: upstream.request_timeout_ms: must be >= 1, got 0"));
  EXPECT_THAT(errors_of("plans: {pro: {api_requests_per_minute: 99999999999999999999}}"),
              ElementsAre(HasSubstr("is out of range")));
  EXPECT_THAT(errors_of("upstream: {pool_idle_timeout_ms: -1}"),
              ElementsAre("user.yaml:1:34: upstream.pool_idle_timeout_ms: must be >= 0, got -1"));
  EXPECT_THAT(
      errors_of("upstream: {pool_idle_timeout_ms: 3600001}"),
      ElementsAre(
          "user.yaml:1:34: upstream.pool_idle_timeout_ms: must be <= 3600000, got 3600001"));
}

TEST(ConfigMerge, PoolIdleTimeoutZeroMeansNoReuse) {
  EXPECT_EQ(load_ok("upstream: {pool_idle_timeout_ms: 0}")->upstream.pool_idle_timeout, 0ms);
}

TEST(ConfigErrors, RouteInTwoGroups) {
  // The user's route is later in group order: reported at the user's route.
  EXPECT_THAT(errors_of("groups:\n  webhooks:\n    routes: [\"* /v1/webhooks*\", \"GET "
                        "/v1/sessions/{sid}\"]\n"),
              ElementsAre("user.yaml:3:33: route \"GET /v1/sessions/{sid}\" (same as \"GET "
                          "/v1/sessions/{id}\") is in two groups: sessions_read and webhooks"));
  // The user's route is in the earlier group: still reported in the user's file.
  EXPECT_THAT(
      errors_of("groups:\n  sessions_write:\n    routes: [\"POST /v1/sessions\", \"* "
                "/v1/webhooks*\"]\n"),
      ElementsAre("user.yaml:3:35: route \"* /v1/webhooks*\" is in two groups: sessions_write "
                  "and webhooks"));
  EXPECT_THAT(errors_of("groups:\n  webhooks:\n    routes: [\"* /v1/webhooks*\", \"* "
                        "/v1/webhooks*\"]\n"),
              ElementsAre("user.yaml:3:33: route \"* /v1/webhooks*\" is listed twice in group "
                          "webhooks"));
}

TEST(ConfigErrors, MalformedRoute) {
  EXPECT_THAT(errors_of("groups:\n  extra:\n    routes:\n      - get /v1/x\n      - POST v1/y\n"),
              ElementsAre(StartsWith("user.yaml:4:9: groups.extra.routes[0]: malformed route "
                                     "\"get /v1/x\""),
                          StartsWith("user.yaml:5:9: groups.extra.routes[1]: malformed route "
                                     "\"POST v1/y\"")));
}

TEST(ConfigErrors, BadEnum) {
  EXPECT_THAT(errors_of("store: {backend: memory, on_failure: fail_silently}"),
              ElementsAre("user.yaml:1:38: store.on_failure: expected fail_open | fail_closed | "
                          "local, got 'fail_silently'"));
  EXPECT_THAT(errors_of("algorithm: token_bucket"),
              ElementsAre("user.yaml:1:12: algorithm: expected fixed_window | sliding_window | "
                          "gcra, got 'token_bucket'"));
  EXPECT_THAT(errors_of("unknown_key: allow"), ElementsAre(HasSubstr("1:14: unknown_key:")));
  EXPECT_THAT(errors_of("websocket: {audio_over_limit: drop}"),
              ElementsAre(HasSubstr("1:31: websocket.audio_over_limit: expected reject | shape")));
  EXPECT_THAT(errors_of("headers: [x-ratelimit, ietf-draft]"),
              ElementsAre("user.yaml:1:24: headers[1]: expected x-ratelimit | ietf, got "
                          "'ietf-draft'"));
}

TEST(ConfigErrors, YamlSyntaxError) {
  EXPECT_THAT(errors_of("listen: 0.0.0.0:8080\nplans:\n  free:\n    api_requests_per_minute: 30\n"
                        "   ws_messages_per_second: 5\n"),
              ElementsAre("user.yaml:5:4: YAML syntax error: end of map not found"));
  EXPECT_THAT(errors_of("plans: {free: {api_requests_per_minute: 30}\nlisten: 0.0.0.0:1\n"),
              ElementsAre("user.yaml:2:1: YAML syntax error: end of map flow not found"));
  // An unquoted IPv6 listen address is flow syntax; yaml-cpp rejects it as such.
  EXPECT_THAT(errors_of("listen: [::1]:8080\n"), ElementsAre(HasSubstr("YAML syntax error")));
}

// Found by fuzz/config_loader_fuzzer: on this text yaml-cpp 0.7 makes nodes without end
// until memory runs out (a SIGHUP with such a file took the gateway down).
TEST(ConfigErrors, YamlThatTheParserLoopsOnIsASyntaxError) {
  for (const std::string_view yaml : {",'x'", ",'", "listen: 0.0.0.0:8080\n---\n, 'a'"}) {
    EXPECT_THAT(errors_of(yaml),
                ElementsAre(AllOf(StartsWith("user.yaml:"),
                                  HasSubstr("YAML syntax error: the parser makes more nodes than "
                                            "the text holds"))))
        << yaml;
  }
}

// yaml-cpp recurses once per level (up to 2000 deep); the schema is 4 deep.
TEST(ConfigErrors, NestingDeeperThan32LevelsIsASyntaxError) {
  const std::string deep = "plans: " + std::string(33, '[') + std::string(33, ']') + "\n";
  EXPECT_THAT(errors_of(deep),
              ElementsAre("user.yaml:1:39: YAML syntax error: nested deeper than 32 levels"));
  const std::string deepest = "plans: " + std::string(1999, '[') + std::string(1999, ']');
  EXPECT_THAT(errors_of(deepest), ElementsAre(HasSubstr("nested deeper than 32 levels")));
  // 32 levels is still a (wrong) value, reported by the schema.
  const std::string ok = "plans: " + std::string(31, '[') + std::string(31, ']') + "\n";
  EXPECT_THAT(errors_of(ok), ElementsAre(HasSubstr("plans: expected a map, got a list")));
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_THAT(errors_of("shadow_mode: true\nalgorithm: gcra\nshadow_mode: false\n"),
              ElementsAre("user.yaml:3:1: shadow_mode: duplicate key (first given at line 1)"));
  EXPECT_THAT(errors_of("plans: {free: {groups: {analysis: 1, analysis: 2}}}"),
              ElementsAre(StartsWith("user.yaml:1:38: plans.free.groups.analysis: duplicate")));
}

TEST(ConfigErrors, GroupLimitNamingAnUnknownGroup) {
  EXPECT_THAT(errors_of("plans:\n  free:\n    groups: {sessions_write: 10, search: 3}\n"),
              ElementsAre("user.yaml:3:34: plans.free.groups.search: no such endpoint group "
                          "(groups: sessions_write, sessions_read, recordings, analysis, "
                          "webhooks)"));
}

TEST(ConfigErrors, NewPlanMustGiveItsNumbers) {
  EXPECT_THAT(errors_of("plans:\n  gold:\n    api_requests_per_minute: 10\n"),
              ElementsAre("user.yaml:2:3: plans.gold: a new plan must set concurrent_sessions, "
                          "ws_messages_per_second, ws_audio_bytes_per_second "
                          "(concurrent_sessions: null for unlimited)"));
  EXPECT_THAT(errors_of("groups:\n  search: {shadow_mode: true}\n"),
              ElementsAre("user.yaml:2:3: groups.search: a new group must set routes"));
}

TEST(ConfigErrors, ReservedAndMalformedNames) {
  EXPECT_THAT(errors_of("groups:\n  api: {routes: [\"GET /v1/x\"]}\n"),
              ElementsAre(StartsWith("user.yaml:2:3: groups.api: 'api' is the name")));
  EXPECT_THAT(errors_of("groups:\n  \"a b\": {routes: [\"GET /v1/x\"]}\n"),
              ElementsAre(StartsWith("user.yaml:2:3: groups.a b: a name may hold only")));
}

TEST(ConfigErrors, Addresses) {
  EXPECT_THAT(errors_of("listen: 0.0.0.0:70000"),
              ElementsAre("user.yaml:1:9: listen: the port must be a number from 0 to 65535 (0 "
                          "= any free port)"));
  EXPECT_THAT(errors_of("listen: example.com:80"),
              ElementsAre(StartsWith("user.yaml:1:9: listen: \"example.com\" is not an address")));
  EXPECT_THAT(errors_of("admin: {listen: 127.0.0.1}"),
              ElementsAre(StartsWith("user.yaml:1:17: admin.listen: missing port")));
  EXPECT_THAT(errors_of("upstream: {url: \"ftp://x\"}"),
              ElementsAre("user.yaml:1:17: upstream.url: expected http://host[:port]"));
  EXPECT_THAT(errors_of("upstream: {url: \"http://\"}"),
              ElementsAre(StartsWith("user.yaml:1:17: upstream.url: \"\" is not a valid host")));
  EXPECT_THAT(errors_of("upstream: {url: \"http://api:0\"}"), ElementsAre(HasSubstr("port")));
  EXPECT_THAT(errors_of("upstream: {url: \"http://api/v1\"}"), ElementsAre(HasSubstr("path")));
  EXPECT_THAT(errors_of("store: {redis: {url: []}}"),
              ElementsAre("user.yaml:1:22: store.redis.url: expected at least one URL"));
  EXPECT_THAT(errors_of("store: {redis: {url: {host: x}}}"),
              ElementsAre(HasSubstr("store.redis.url: expected a URL or a list of URLs")));
}

TEST(ConfigErrors, ListenersCannotShareAPort) {
  EXPECT_THAT(errors_of("admin: {listen: 127.0.0.1:8080}"),
              ElementsAre(StartsWith("user.yaml:1:17: admin.listen: the public and admin")));
  // Port 0 is ephemeral for both: no conflict.
  EXPECT_TRUE(errors_of("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}").empty());
}

TEST(ConfigDecision, GrpcListenIsOffUnlessSet) {
  EXPECT_FALSE(load_ok("")->decision.grpc_listen);
  EXPECT_FALSE(load_ok("decision: {grpc_listen: null}")->decision.grpc_listen);
  const auto c = load_ok("decision: {grpc_listen: \"127.0.0.1:8081\"}");
  ASSERT_TRUE(c->decision.grpc_listen);
  EXPECT_EQ(c->decision.grpc_listen->host, "127.0.0.1");
  EXPECT_EQ(c->decision.grpc_listen->port, 8081);
  EXPECT_TRUE(load_ok("decision: {grpc_listen: \"[::1]:0\"}")->decision.grpc_listen);
}

TEST(ConfigErrors, DecisionListener) {
  EXPECT_THAT(errors_of("decision: {grpc_listen: 127.0.0.1}"),
              ElementsAre(StartsWith("user.yaml:1:25: decision.grpc_listen: missing port")));
  EXPECT_THAT(errors_of("decision: {grpc_listen: \"127.0.0.1:9090\"}"),
              ElementsAre("user.yaml:1:25: decision.grpc_listen: port 9090 is taken by the admin "
                          "listener"));
  EXPECT_THAT(errors_of("decision: {grpc_listn: \"127.0.0.1:1\"}"),
              ElementsAre(HasSubstr("unknown key 'grpc_listn' in decision (did you mean "
                                    "'grpc_listen'?)")));
}

TEST(ConfigErrors, SessionRoutes) {
  EXPECT_THAT(errors_of("sessions:\n  end_route: POST /v1/sessions/end\n"),
              ElementsAre("user.yaml:2:14: sessions.end_route: must contain the session id as a "
                          "{id} segment"));
  EXPECT_THAT(errors_of("sessions:\n  stream_route: GET /v1/sessions/{id}/end\n"
                        "  end_route: GET /v1/sessions/{sid}/end\n"),
              ElementsAre("user.yaml:2:17: sessions.stream_route: same route as "
                          "sessions.end_route"));
  // Only the user's stream_route is new: the error points at it, not at the default.
  EXPECT_THAT(errors_of("sessions:\n  stream_route: POST /v1/sessions/{id}/end\n"),
              ElementsAre(HasSubstr("user.yaml:2:17: sessions.stream_route: a WebSocket"),
                          HasSubstr("user.yaml:2:17: sessions.stream_route: same route as "
                                    "sessions.end_route")));
  EXPECT_THAT(errors_of("sessions:\n  create_route: POST /v1/sessions/{id}/end\n"),
              ElementsAre("user.yaml:2:17: sessions.create_route: same route as "
                          "sessions.end_route"));
}

TEST(ConfigErrors, AllErrorsAreCollectedInFileOrder) {
  const auto errors = errors_of(R"(listen: nowhere
plans:
  free:
    api_requests_per_minute: -1
    ws_messages_per_second: lots
algorithm: leaky
bogus: 1
)");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_THAT(errors[0], StartsWith("user.yaml:1:9: listen:"));
  EXPECT_THAT(errors[1], StartsWith("user.yaml:4:30: plans.free.api_requests_per_minute:"));
  EXPECT_THAT(errors[2], StartsWith("user.yaml:5:29: plans.free.ws_messages_per_second:"));
  EXPECT_THAT(errors[3], StartsWith("user.yaml:6:12: algorithm:"));
  EXPECT_THAT(errors[4], StartsWith("user.yaml:7:1: unknown key 'bogus'"));
}

TEST(ConfigErrors, OddDocumentsNeverThrow) {
  EXPECT_THAT(errors_of("[1, 2]"),
              ElementsAre(StartsWith("user.yaml:1:1: the configuration must be a map")));
  EXPECT_THAT(errors_of("just words"), ElementsAre(StartsWith("user.yaml:1:1:")));
  EXPECT_THAT(errors_of("a: 1\n---\nb: 2\n"),
              ElementsAre(StartsWith("user.yaml:3:1: unexpected content after the end")));
  EXPECT_FALSE(errors_of("? [complex, key]\n: 1\n").empty());
  EXPECT_FALSE(errors_of("x: *undefined_alias\n").empty());
  EXPECT_FALSE(errors_of(std::string("\x00\xff\xfe", 3)).empty());
}

// ---- files and check-config -------------------------------------------------------------

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, LoadsAFileAndNamesItInErrors) {
  const auto ok = load_config_file(write_temp("gw_ok.yaml", "listen: 127.0.0.1:0\n"));
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->listen.port, 0);

  const std::string bad = write_temp("gw_bad.yaml", "\n\nalgorithm: nope\n");
  const auto loaded = load_config_file(bad);
  ASSERT_FALSE(loaded);
  ASSERT_EQ(loaded.error().size(), 1u);
  EXPECT_EQ(loaded.error()[0].file, bad);
  EXPECT_EQ(loaded.error()[0].line, 3);
  EXPECT_EQ(loaded.error()[0].column, 12);
}

TEST(ConfigFile, UnreadableFileIsOneErrorWithoutPosition) {
  const auto loaded = load_config_file("/nonexistent/gw.yaml");
  ASSERT_FALSE(loaded);
  ASSERT_EQ(loaded.error().size(), 1u);
  EXPECT_EQ(loaded.error()[0].line, 0);
  EXPECT_EQ(loaded.error()[0].to_string(),
            "/nonexistent/gw.yaml: cannot read the file: No such file or directory");
  EXPECT_FALSE(load_config_file(::testing::TempDir()));  // a directory
}

TEST(ConfigFile, CheckConfigExitCodes) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const std::string good =
      write_temp("gw_check_ok.yaml", "plans: {free: {api_requests_per_minute: 30}}\n");
  EXPECT_EQ(run_check_config(good), 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "OK: " + good + "\n");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");

  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const std::string bad = write_temp("gw_check_bad.yaml", "lisen: x\nshadow_mode: 3\n");
  EXPECT_EQ(run_check_config(bad), 2);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            bad + ":1:1: unknown key 'lisen' (did you mean 'listen'?)\n" + bad +
                ":2:14: shadow_mode: expected true or false, got '3'\n");
}

TEST(ConfigFile, TheRepositoryDefaultFileChecksClean) {
  // The built-in copy is what default_config() parses; the text must load as a user file too.
  const auto loaded = load_config_text(kDefaultConfigYaml, "config/gateway.yaml");
  ASSERT_TRUE(loaded) << loaded.error().front().to_string();
}

TEST(ConfigErrorFormat, ToString) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "bad"}).to_string(), "a.yaml:3:7: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "gone"}).to_string(), "a.yaml: gone");
}

}  // namespace
}  // namespace gw::config

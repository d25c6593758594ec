#include "policy/route_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "policy/route_pattern.h"

// Counts heap allocations, to hold match() to its no-allocation contract.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace gw::policy {
namespace {

RouteTable build(const std::vector<RouteTable::Entry>& entries) {
  auto table = RouteTable::build(entries);
  EXPECT_TRUE(table) << table.error();
  return table ? std::move(table).value() : RouteTable{};
}

std::optional<std::size_t> match(const RouteTable& t, std::string_view m, std::string_view p) {
  return t.match(m, p);
}

TEST(RouteTable, LiteralRoutesMatchTheirTextInAnyLetterCase) {
  const auto t = build(
      {{"POST /v1/sessions", 1}, {"POST /v1/sessions/{id}/end", 2}, {"GET /v1/sessions/{id}", 3}});
  EXPECT_EQ(match(t, "POST", "/v1/sessions"), 1u);
  EXPECT_EQ(match(t, "POST", "/v1/sessions/x/end"), 2u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/x"), 3u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions"), std::nullopt);
  EXPECT_EQ(match(t, "POST", "/v1/sessions/x"), std::nullopt);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/x/end"), std::nullopt);
  EXPECT_EQ(match(t, "POST", "/v1/sessionsx"), std::nullopt);
  // Express routes case-insensitively: `/V1/Sessions` must take the creation's slot.
  EXPECT_EQ(match(t, "POST", "/v1/Sessions"), 1u);
  EXPECT_EQ(match(t, "POST", "/V1/SESSIONS/x/END"), 2u);
  EXPECT_EQ(match(t, "POST", "/v1/sessionsX"), std::nullopt);
  EXPECT_EQ(match(t, "post", "/v1/sessions"), std::nullopt);  // methods are case-sensitive
}

TEST(RouteTable, PrefixRoutesMatchInAnyLetterCase) {
  const auto t = build({{"* /v1/analysis*", 4}});
  EXPECT_EQ(match(t, "GET", "/V1/ANALYSIS/run"), 4u);
  EXPECT_EQ(match(t, "GET", "/v1/AnalysisX"), 4u);
  EXPECT_EQ(match(t, "GET", "/v1/analysi"), std::nullopt);
}

TEST(RouteTable, RoutesDifferingOnlyInLetterCaseAreTheSameRoute) {
  EXPECT_FALSE(RouteTable::build({{"GET /v1/Things", 1}, {"GET /v1/things", 2}}));
}

TEST(RouteTable, ParamIsExactlyOneNonEmptySegment) {
  const auto t = build({{"GET /v1/sessions/{id}/transcript", 7}});
  EXPECT_EQ(match(t, "GET", "/v1/sessions/abc/transcript"), 7u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/a/b/transcript"), std::nullopt);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/transcript"), std::nullopt);
  EXPECT_EQ(match(t, "GET", "/v1/sessions//transcript"), std::nullopt);
}

TEST(RouteTable, TrailingStarIsAPrefixCoveringDeeperPaths) {
  const auto t = build({{"GET /v1/sessions/{id}/recordings*", 1},
                        {"GET /v1/recordings/*", 2},
                        {"* /v1/webhooks*", 3}});
  EXPECT_EQ(match(t, "GET", "/v1/sessions/s/recordings"), 1u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/s/recordings/r1"), 1u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/s/recordings/r1/audio.wav"), 1u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/s/recordings_meta"), 1u);  // a prefix of the segment
  EXPECT_EQ(match(t, "GET", "/v1/sessions/s/record"), std::nullopt);
  EXPECT_EQ(match(t, "GET", "/v1/recordings/r1"), 2u);
  EXPECT_EQ(match(t, "GET", "/v1/recordings/r1/b"), 2u);
  EXPECT_EQ(match(t, "GET", "/v1/recordings"), std::nullopt);  // `/*` needs one more segment
  EXPECT_EQ(match(t, "DELETE", "/v1/webhooks"), 3u);
  EXPECT_EQ(match(t, "PATCH", "/v1/webhooks/wh_1/x"), 3u);
  EXPECT_EQ(match(t, "GET", "/v1/webhook"), std::nullopt);
}

TEST(RouteTable, StarMethodMatchesAnyMethod) {
  const auto t = build({{"* /v1/analysis/*", 4}, {"GET /v1/other", 5}});
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"}) {
    EXPECT_EQ(match(t, m, "/v1/analysis/a"), 4u) << m;
  }
  EXPECT_EQ(match(t, "HEAD", "/v1/other"), std::nullopt);
}

TEST(RouteTable, QueryStringAndFragmentAreIgnored) {
  const auto t = build({{"POST /v1/sessions", 1}, {"GET /v1/sessions/{id}", 2}});
  EXPECT_EQ(match(t, "POST", "/v1/sessions?x=1"), 1u);
  EXPECT_EQ(match(t, "POST", "/v1/sessions?next=/v1/sessions/a/end"), 1u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/abc?token=t#frag"), 2u);
  EXPECT_EQ(match(t, "GET", "/v1/sessions/?x"), std::nullopt);
}

TEST(RouteTable, EmptySegmentsCannotDodgeARoute) {
  const auto t = build({{"POST /v1/sessions", 1}, {"POST /v1/sessions/{id}/end", 2}});
  EXPECT_EQ(match(t, "POST", "/v1/sessions/"), 1u);
  EXPECT_EQ(match(t, "POST", "//v1//sessions"), 1u);
  EXPECT_EQ(match(t, "POST", "/v1/sessions//x/end/"), 2u);
}

TEST(RouteTable, FirstMatchInBuildOrderWins) {
  const auto t = build({{"GET /v1/x/special", 1}, {"* /v1/x/*", 2}});
  EXPECT_EQ(match(t, "GET", "/v1/x/special"), 1u);
  EXPECT_EQ(match(t, "POST", "/v1/x/special"), 2u);
  const auto reversed = build({{"* /v1/x/*", 2}, {"GET /v1/x/special", 1}});
  EXPECT_EQ(match(reversed, "GET", "/v1/x/special"), 2u);
}

TEST(RouteTable, CapturesTheFirstParam) {
  const auto t =
      build({{"GET /v1/sessions/{id}/connect", 1}, {"GET /a/{x}/{y}", 2}, {"GET /plain", 3}});
  std::string_view captured = "unchanged";
  EXPECT_EQ(t.match("GET", "/v1/sessions/ses_42/connect?token=z", &captured), 1u);
  EXPECT_EQ(captured, "ses_42");
  EXPECT_EQ(t.match("GET", "/a/first/second", &captured), 2u);
  EXPECT_EQ(captured, "first");
  EXPECT_EQ(t.match("GET", "/plain", &captured), 3u);
  EXPECT_EQ(captured, "");
  captured = "unchanged";
  EXPECT_EQ(t.match("GET", "/nothing", &captured), std::nullopt);
  EXPECT_EQ(captured, "unchanged");
}

TEST(RouteTable, RootAndEmptyTable) {
  const auto t = build({{"GET /", 1}});
  EXPECT_EQ(match(t, "GET", "/"), 1u);
  EXPECT_EQ(match(t, "GET", "/?x"), 1u);
  EXPECT_EQ(match(t, "GET", "/a"), std::nullopt);
  EXPECT_EQ(match(RouteTable{}, "GET", "/"), std::nullopt);
}

TEST(RouteTable, RejectsMalformedPatterns) {
  for (const char* p : {"",
                        "GET",
                        "GET ",
                        "/v1/x",
                        "get /v1/x",
                        "GET  /v1/x",
                        "GET v1/x",
                        "GET /v1//x",
                        "GET /v1/x/",
                        "GET /v1/*/x",
                        "GET /v1/{id",
                        "GET /v1/id}",
                        "GET /v1/{}",
                        "GET /v1/{a b}",
                        "GET /v1/x{id}",
                        "GET /v1/{id}*",
                        "GET /v1/x?y=1",
                        "GET /v1/x#f",
                        "G*T /v1",
                        "GET /a*b"}) {
    EXPECT_NE(RouteTable::validate_pattern(p), std::nullopt) << p;
    EXPECT_FALSE(RouteTable::build({{p, 0}})) << p;
  }
  for (const char* p : {"GET /", "* /v1/x", "DELETE /v1/{id}/y*", "GET /*", "PATCH /v1/a-b_c.d"}) {
    EXPECT_EQ(RouteTable::validate_pattern(p), std::nullopt) << p;
  }
}

TEST(RouteTable, RejectsTheSameRouteTwice) {
  EXPECT_FALSE(RouteTable::build({{"GET /v1/x", 0}, {"GET /v1/x", 1}}));
  EXPECT_FALSE(RouteTable::build({{"GET /v1/{id}", 0}, {"GET /v1/{sid}", 1}}));
  EXPECT_TRUE(RouteTable::build({{"GET /v1/x", 0}, {"* /v1/x", 1}}));
  EXPECT_TRUE(RouteTable::build({{"GET /v1/x*", 0}, {"GET /v1/x", 1}}));
}

TEST(RouteTable, MatchDoesNotAllocate) {
  const long at_start = g_allocations.load();
  const auto t = build({{"POST /v1/sessions", 1},
                        {"GET /v1/sessions/{id}/recordings*", 2},
                        {"* /v1/analysis/*", 3},
                        {"GET /v1/sessions/{id}", 4}});
  std::string_view captured;
  const long before = g_allocations.load();
  ASSERT_GT(before, at_start);  // the counter is live: building allocates
  std::size_t hits = 0;
  for (int i = 0; i < 100; ++i) {
    hits += t.match("GET", "/v1/sessions/ses_a_rather_long_session_identifier/recordings/r1?x=1",
                    &captured)
                .value_or(0);
    hits += t.match("DELETE", "/v1/analysis/a/b").value_or(0);
    hits += t.match("GET", "/v1/nothing/here").value_or(0);
  }
  EXPECT_EQ(g_allocations.load(), before);
  EXPECT_EQ(hits, 500u);
  EXPECT_EQ(captured, "ses_a_rather_long_session_identifier");
}

TEST(RoutePattern, CanonicalFormDropsParamNames) {
  const auto a = parse_route_pattern("GET /v1/sessions/{id}/recordings*");
  ASSERT_TRUE(a);
  EXPECT_EQ(canonical_route(*a), "GET /v1/sessions/{}/recordings*");
  const auto root = parse_route_pattern("* /");
  ASSERT_TRUE(root);
  EXPECT_EQ(canonical_route(*root), "* /");
}

}  // namespace
}  // namespace gw::policy

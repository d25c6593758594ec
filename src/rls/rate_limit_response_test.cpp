#include "rls/rate_limit_response.h"

#include <gtest/gtest.h>

#include <map>

namespace gw::rls {
namespace {

using envoy::service::ratelimit::v3::RateLimitResponse;
using std::chrono::seconds;

constexpr std::int64_t kNow = 1'800'000'000;

std::map<std::string, std::string> headers_of(const RateLimitResponse& response) {
  std::map<std::string, std::string> out;
  for (const auto& h : response.response_headers_to_add()) out[h.key()] = h.value();
  return out;
}

// An answer over two limits, "api" (10/min, 4 left) and "analysis" (2/min), for three
// descriptors: [plan], [group analysis], [a route in no group].
decision::CheckAnswer answer(bool analysis_over) {
  decision::CheckAnswer a;
  a.now = core::UnixNanos(seconds(kNow));
  a.selectors = 3;
  a.checked = true;
  a.limits.count = 2;
  a.limits.storage[0] = {"api", {.limit = 10, .window = seconds(60)}};
  a.limits.storage[1] = {"analysis", {.limit = 2, .window = seconds(60)}};
  a.selected = {0u, 1u, std::nullopt};
  auto& r = a.verdict.result;
  r.count = 2;
  r.admitted = !analysis_over;
  r.decisions[0] = {
      .allowed = true, .limit = 10, .remaining = 4, .used = 6, .reset_unix_s = kNow + 40};
  r.decisions[1] = {.allowed = !analysis_over,
                    .over_limit = analysis_over,
                    .limit = 2,
                    .remaining = analysis_over ? 0 : 1,
                    .used = analysis_over ? 2 : 1,
                    .reset_unix_s = kNow + 40,
                    .retry_after = seconds(analysis_over ? 40 : 0)};
  a.verdict.decided = true;
  a.verdict.admitted = !analysis_over;
  if (analysis_over) {
    a.refusal = decision::Refusal{.status = 429,
                                  .type = "rate_limit_error",
                                  .code = "rate_limit_exceeded",
                                  .message = "Rate limit exceeded for analysis.",
                                  .retry_after_s = 40};
  }
  return a;
}

TEST(RateLimitResponse, AdmittedStatusesAlignWithDescriptors) {
  RateLimitResponse out;
  write_answer(answer(false), "req_1", out);
  EXPECT_EQ(out.overall_code(), RateLimitResponse::OK);
  ASSERT_EQ(out.statuses_size(), 3);
  const auto& api = out.statuses(0);
  EXPECT_EQ(api.code(), RateLimitResponse::OK);
  EXPECT_EQ(api.current_limit().name(), "api");
  EXPECT_EQ(api.current_limit().requests_per_unit(), 10u);
  EXPECT_EQ(api.current_limit().unit(), RateLimitResponse::RateLimit::MINUTE);
  EXPECT_EQ(api.limit_remaining(), 4u);
  EXPECT_EQ(api.duration_until_reset().seconds(), 40);
  EXPECT_EQ(out.statuses(1).current_limit().name(), "analysis");
  EXPECT_EQ(out.statuses(1).limit_remaining(), 1u);
  EXPECT_EQ(out.statuses(2).code(), RateLimitResponse::OK);
  EXPECT_FALSE(out.statuses(2).has_current_limit());  // a route in no group: no limit
  EXPECT_TRUE(out.raw_body().empty());
  auto headers = headers_of(out);
  EXPECT_EQ(headers["X-RateLimit-Limit"], "2");  // the most constraining, as the proxy sends
  EXPECT_EQ(headers["X-RateLimit-Remaining"], "1");
  EXPECT_EQ(headers["X-RateLimit-Resource"], "analysis");
  EXPECT_EQ(headers.count("Retry-After"), 0u);
  EXPECT_EQ(headers.count("Content-Type"), 0u);
}

TEST(RateLimitResponse, OverLimitMarksTheLimitThatIsOver) {
  RateLimitResponse out;
  write_answer(answer(true), "req_1", out);
  EXPECT_EQ(out.overall_code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(0).code(), RateLimitResponse::OK);
  EXPECT_EQ(out.statuses(1).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(1).limit_remaining(), 0u);
  auto headers = headers_of(out);
  EXPECT_EQ(headers["Retry-After"], "40");
  EXPECT_EQ(headers["Content-Type"], "application/json");
  EXPECT_NE(out.raw_body().find("\"code\":\"rate_limit_exceeded\""), std::string::npos);
  EXPECT_NE(out.raw_body().find("\"request_id\":\"req_1\""), std::string::npos);
}

TEST(RateLimitResponse, IetfFieldsWhenConfigured) {
  auto a = answer(false);
  a.fields = {.x_ratelimit = false, .ietf = true};
  RateLimitResponse out;
  write_answer(a, "req_1", out);
  auto headers = headers_of(out);
  EXPECT_EQ(headers.count("X-RateLimit-Limit"), 0u);
  EXPECT_EQ(headers.count("RateLimit-Policy"), 1u);
  EXPECT_EQ(headers.count("RateLimit"), 1u);
}

TEST(RateLimitResponse, RefusalBeforeTheCountersIsOverLimitEverywhere) {
  decision::CheckAnswer a;
  a.selectors = 2;
  a.refusal = decision::Refusal{.status = 401,
                                .type = "authentication_error",
                                .code = "invalid_api_key",
                                .message = "Invalid API key provided."};
  RateLimitResponse out;
  write_answer(a, "req_2", out);
  EXPECT_EQ(out.overall_code(), RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(out.statuses_size(), 2);
  for (const auto& s : out.statuses()) EXPECT_EQ(s.code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.raw_body(),
            R"({"error":{"type":"authentication_error","code":"invalid_api_key",)"
            R"("message":"Invalid API key provided.","param":null,"request_id":"req_2"}})");
}

TEST(RateLimitResponse, StoreFailureUnderFailClosedRefusesEveryDescriptor) {
  auto a = answer(false);
  a.verdict.decided = false;
  a.refusal = decision::Refusal{.status = 503,
                                .type = "api_error",
                                .code = "rate_limiter_unavailable",
                                .message = "The rate limiter is unavailable. Retry later."};
  RateLimitResponse out;
  write_answer(a, "req_3", out);
  EXPECT_EQ(out.overall_code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(1).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(out.statuses(2).code(), RateLimitResponse::OK);  // it names no limit
  EXPECT_EQ(headers_of(out).count("X-RateLimit-Limit"), 0u);
  EXPECT_NE(out.raw_body().find("rate_limiter_unavailable"), std::string::npos);
}

}  // namespace
}  // namespace gw::rls

#include "decision/rate_limit_fields.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace gw::decision {
namespace {

using namespace std::chrono_literals;
// The fields written, by name.
struct FieldMap {
  std::map<std::string, std::string> fields;
  void field(std::string_view name, std::int64_t value) {
    fields[std::string(name)] = std::to_string(value);
  }
  void field(std::string_view name, std::string_view value) {
    fields[std::string(name)] = std::string(value);
  }
};

limiter::Decision decision(std::int64_t limit, std::int64_t remaining, std::int64_t reset,
                           bool allowed = true) {
  return {.allowed = allowed,
          .over_limit = !allowed,
          .limit = limit,
          .remaining = remaining,
          .used = limit - remaining,
          .reset_unix_s = reset,
          .retry_after = allowed ? 0ns : std::chrono::nanoseconds(12s)};
}

TEST(RateLimitHeaders, ShowTheLimitWithTheLeastRemaining) {
  const std::array<store::LimitRef, 2> limits{store::LimitRef{"api", {.limit = 60}},
                                              store::LimitRef{"analysis", {.limit = 15}}};
  const std::array<limiter::Decision, 2> decisions{decision(60, 40, 1'700'000'040),
                                                   decision(15, 3, 1'700'000'040)};
  FieldMap writer;
  write_rate_limit_fields(writer, limits, decisions, true, 1'700'000'010, {});
  auto fields = writer.fields;
  EXPECT_EQ(fields["X-RateLimit-Limit"], "15");
  EXPECT_EQ(fields["X-RateLimit-Remaining"], "3");
  EXPECT_EQ(fields["X-RateLimit-Reset"], "1700000040");
  EXPECT_EQ(fields["X-RateLimit-Used"], "12");
  EXPECT_EQ(fields["X-RateLimit-Resource"], "analysis");
  EXPECT_EQ(fields.count("RateLimit"), 0u);
}

TEST(RateLimitHeaders, IetfFieldsListEveryPolicy) {
  const std::array<store::LimitRef, 2> limits{store::LimitRef{"api", {.limit = 60}},
                                              store::LimitRef{"analysis", {.limit = 15}}};
  const std::array<limiter::Decision, 2> decisions{decision(60, 40, 1'700'000'040),
                                                   decision(15, 3, 1'700'000'040)};
  FieldMap writer;
  write_rate_limit_fields(writer, limits, decisions, true, 1'700'000'010,
                          {.x_ratelimit = false, .ietf = true});
  auto fields = writer.fields;
  EXPECT_EQ(fields.count("X-RateLimit-Limit"), 0u);
  EXPECT_EQ(fields["RateLimit-Policy"], "\"api\";q=60;w=60, \"analysis\";q=15;w=60");
  EXPECT_EQ(fields["RateLimit"], "\"api\";r=40;t=30, \"analysis\";r=3;t=30");
}

TEST(RateLimitHeaders, RetryAfterRoundsUpToWholeSecondsAndIsAtLeastOne) {
  limiter::Decision d;
  d.retry_after = 11s + 1ns;
  EXPECT_EQ(retry_after_seconds(d), 12);
  d.retry_after = 12s;
  EXPECT_EQ(retry_after_seconds(d), 12);
  d.retry_after = 0ns;
  EXPECT_EQ(retry_after_seconds(d), 1);
}

}  // namespace
}  // namespace gw::decision

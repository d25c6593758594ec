#include "store/redis/over_limit_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw::store::redis {
namespace {

using namespace std::chrono_literals;
using limiter::Algorithm;
using limiter::Decision;
using limiter::LimitSpec;
using TimePoint = OverLimitCache::TimePoint;

constexpr core::UnixNanos kNow = 1'700'000'010s;  // wall time of the checks
constexpr std::int64_t kReset = 1'700'000'040;    // the minute's end, 30 s later
const TimePoint kT0{1000s};                       // steady time the check was sent

LimitSpec per_minute(std::int64_t limit, bool enforced = true) {
  return LimitSpec{
      .limit = limit, .window = 60s, .algorithm = Algorithm::fixed_window, .enforced = enforced};
}

Decision refused(std::int64_t limit, std::chrono::nanoseconds retry_after) {
  return Decision{.allowed = false,
                  .over_limit = true,
                  .limit = limit,
                  .remaining = 0,
                  .used = limit,
                  .reset_unix_s = kReset,
                  .retry_after = retry_after};
}

Decision with_room(std::int64_t limit, std::int64_t remaining) {
  return Decision{.allowed = true,
                  .over_limit = false,
                  .limit = limit,
                  .remaining = remaining,
                  .used = limit - remaining,
                  .reset_unix_s = kReset};
}

CheckResult result_of(std::vector<Decision> decisions, bool admitted = false) {
  CheckResult r;
  r.admitted = admitted;
  r.count = decisions.size();
  std::copy(decisions.begin(), decisions.end(), r.decisions.begin());
  return r;
}

struct Request {
  std::string subject = "acct_1:live";
  std::vector<LimitRef> limits;
  std::int64_t cost = 1;
  CheckRequest view() const { return {subject, limits, cost}; }
};

const Request kApiAndGroup{.limits = {{"api", per_minute(100)}, {"grp", per_minute(10)}}};

TEST(OverLimitCache, RefusesLocallyUntilTheLimitHasRoom) {
  OverLimitCache cache;
  EXPECT_FALSE(cache.lookup(kApiAndGroup.view(), kT0));  // knows nothing yet
  cache.record(kApiAndGroup.view(), result_of({with_room(100, 40), refused(10, 30s)}), kNow, kT0);

  const auto hit = cache.lookup(kApiAndGroup.view(), kT0 + 10s);
  ASSERT_TRUE(hit);
  EXPECT_FALSE(hit->admitted);
  ASSERT_EQ(hit->count, 2u);
  const Decision& grp = hit->decisions[1];
  EXPECT_FALSE(grp.allowed);
  EXPECT_TRUE(grp.over_limit);
  EXPECT_EQ(grp.remaining, 0);
  EXPECT_EQ(grp.reset_unix_s, kReset);
  EXPECT_EQ(grp.retry_after, 20s);          // what is left of Redis's 30 s
  const Decision& api = hit->decisions[0];  // reported as Redis last saw it
  EXPECT_TRUE(api.allowed);
  EXPECT_FALSE(api.over_limit);
  EXPECT_EQ(api.remaining, 40);
  EXPECT_EQ(api.retry_after, 0ns);

  EXPECT_TRUE(cache.lookup(kApiAndGroup.view(), kT0 + 30s - 1ns));
  EXPECT_FALSE(cache.lookup(kApiAndGroup.view(), kT0 + 30s));  // has room again: ask Redis
  EXPECT_FALSE(cache.lookup(kApiAndGroup.view(), kT0 + 1s));   // and the entry is gone
}

TEST(OverLimitCache, NeverRefusesAnotherSpecCostOrSubject) {
  OverLimitCache cache;
  const Request api_only{.limits = {{"api", per_minute(100)}}};
  cache.record(api_only.view(), result_of({refused(100, 30s)}), kNow, kT0);
  ASSERT_TRUE(cache.lookup(api_only.view(), kT0 + 1s));

  Request other = api_only;
  other.limits[0].spec.limit = 1000;  // plan upgrade
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.limits[0].spec.enforced = false;  // now in shadow mode
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.limits[0].spec.algorithm = Algorithm::gcra;
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.limits[0].spec.window = 1s;
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.cost = 0;
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.subject = "acct_2:live";
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));
  other = api_only;
  other.limits[0].name = "grp";
  EXPECT_FALSE(cache.lookup(other.view(), kT0 + 1s));

  EXPECT_TRUE(cache.lookup(api_only.view(), kT0 + 1s));  // the original still hits
}

TEST(OverLimitCache, AnswersOnlyWhenItKnowsEveryLimitOfTheRequest) {
  OverLimitCache cache;
  cache.record(kApiAndGroup.view(), result_of({refused(100, 30s), with_room(10, 4)}), kNow, kT0);
  EXPECT_TRUE(cache.lookup(kApiAndGroup.view(), kT0 + 1s));

  // The same refused api limit, with a group Redis said nothing about: ask Redis.
  const Request other_group{.limits = {{"api", per_minute(100)}, {"other", per_minute(10)}}};
  EXPECT_FALSE(cache.lookup(other_group.view(), kT0 + 1s));
  // Once Redis has answered that one too, it is known.
  cache.record(other_group.view(), result_of({refused(100, 29s), with_room(10, 9)}), kNow,
               kT0 + 1s);
  const auto hit = cache.lookup(other_group.view(), kT0 + 2s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->decisions[1].remaining, 9);

  // A request of the group alone was never refused: nothing to answer.
  const Request group_only{.limits = {{"grp", per_minute(10)}}};
  EXPECT_FALSE(cache.lookup(group_only.view(), kT0 + 1s));
}

TEST(OverLimitCache, ForgetsSnapshotsOnceTheyGoStale) {
  OverLimitCache cache;
  // Shadow limit over its limit with 5 s to go; its window resets in 30 s; the enforced
  // refusal lasts 50 s (a GCRA bucket, say).
  const Request request{.limits = {{"api", per_minute(100)}, {"shadow", per_minute(5, false)}}};
  Decision shadow = refused(5, 5s);
  shadow.allowed = true;  // shadow: over, but not blocking
  cache.record(request.view(), result_of({refused(100, 50s), shadow}), kNow, kT0);

  const auto hit = cache.lookup(request.view(), kT0 + 2s);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->decisions[1].allowed);
  EXPECT_TRUE(hit->decisions[1].over_limit);
  EXPECT_EQ(hit->decisions[1].retry_after, 3s);
  EXPECT_FALSE(cache.lookup(request.view(), kT0 + 5s));  // the shadow limit may have room

  // A sibling with room is good until its window resets, 30 s after kNow.
  const Request grp{.limits = {{"api", per_minute(100)}, {"grp", per_minute(10)}}};
  cache.record(grp.view(), result_of({refused(100, 50s), with_room(10, 3)}), kNow, kT0);
  EXPECT_TRUE(cache.lookup(grp.view(), kT0 + 30s - 1ns));
  EXPECT_FALSE(cache.lookup(grp.view(), kT0 + 30s));
}

TEST(OverLimitCache, AnAdmittedReplyErasesWhatItKnewOfThoseLimits) {
  OverLimitCache cache;
  cache.record(kApiAndGroup.view(), result_of({with_room(100, 40), refused(10, 30s)}), kNow, kT0);
  ASSERT_EQ(cache.size(), 2u);
  cache.record(kApiAndGroup.view(), result_of({with_room(100, 39), with_room(10, 0)}, true), kNow,
               kT0 + 1s);
  EXPECT_TRUE(cache.empty());
  EXPECT_FALSE(cache.lookup(kApiAndGroup.view(), kT0 + 2s));
}

TEST(OverLimitCache, IgnoresRepliesItCannotUse) {
  OverLimitCache cache;
  // Decisions for another number of limits.
  cache.record(kApiAndGroup.view(), result_of({refused(10, 30s)}), kNow, kT0);
  // Refused without any limit saying when it has room.
  cache.record(kApiAndGroup.view(), result_of({with_room(100, 4), with_room(10, 4)}), kNow, kT0);
  cache.record(kApiAndGroup.view(), result_of({with_room(100, 4), refused(10, 0s)}), kNow, kT0);
  EXPECT_FALSE(cache.lookup(kApiAndGroup.view(), kT0));
  // A cache of capacity 0 is off.
  OverLimitCache off(0);
  off.record(kApiAndGroup.view(), result_of({with_room(100, 40), refused(10, 30s)}), kNow, kT0);
  EXPECT_TRUE(off.empty());
}

TEST(OverLimitCache, StaysWithinItsCapacity) {
  OverLimitCache cache(4);
  const auto refuse = [&](const std::string& subject, std::chrono::seconds retry, TimePoint at) {
    const Request r{.subject = subject, .limits = {{"api", per_minute(100)}}};
    cache.record(r.view(), result_of({refused(100, retry)}), kNow, at);
    return r;
  };
  for (int i = 0; i < 4; ++i) refuse("short_" + std::to_string(i), 1s, kT0);
  EXPECT_EQ(cache.size(), 4u);

  // Full: the expired entries make room, the live one stays.
  const Request kept = refuse("long", 60s, kT0 + 2s);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.lookup(kept.view(), kT0 + 3s));

  // Full of live entries: it starts over rather than grow.
  for (int i = 0; i < 3; ++i) refuse("live_" + std::to_string(i), 60s, kT0 + 2s);
  EXPECT_EQ(cache.size(), 4u);
  const Request newest = refuse("newest", 60s, kT0 + 2s);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.lookup(newest.view(), kT0 + 3s));
  EXPECT_FALSE(cache.lookup(kept.view(), kT0 + 3s));
}

}  // namespace
}  // namespace gw::store::redis

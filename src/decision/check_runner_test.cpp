#include "decision/check_runner.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "decision/decider_test_fixture.h"
#include "limiter/limit_bounds.h"

namespace gw::decision {
namespace {

namespace net = boost::asio;
using Kind = LimitSelector::Kind;

class CheckRunnerTest : public testing::DeciderFixture {
 protected:
  static CheckQuery by_key(std::string key, std::vector<LimitSelector> selectors,
                           std::int64_t cost = 1) {
    CheckQuery q;
    q.key_kind = PresentedCredential::Kind::key;
    q.key = std::move(key);
    q.selectors = std::move(selectors);
    q.cost = cost;
    return q;
  }

  CheckAnswer run(CheckQuery query) {
    net::io_context io;
    std::optional<CheckAnswer> out;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          out = co_await run_check(decider, std::move(query), context, clock.now());
        },
        net::detached);
    io.run();
    return std::move(*out);
  }
};

TEST_F(CheckRunnerTest, PlanSelectorChecksThePlanWideLimitOnly) {
  const auto key = new_key("acct_1", "free");
  for (int i = 0; i < 3; ++i) {
    auto a = run(by_key(key, {{.kind = Kind::plan}}));
    ASSERT_FALSE(a.refusal) << i;
    ASSERT_EQ(a.limits.count, 1u);
    EXPECT_EQ(a.limits.storage[0].name, "api");
    EXPECT_EQ(a.verdict.result.decisions[0].remaining, 2 - i);
    ASSERT_EQ(a.selected.size(), 1u);
    EXPECT_EQ(a.selected[0], 0u);
  }
  auto over = run(by_key(key, {{.kind = Kind::plan}}));
  ASSERT_TRUE(over.refusal);
  EXPECT_EQ(over.refusal->status, 429);
  EXPECT_EQ(over.refusal->retry_after_s, 40);
  EXPECT_TRUE(over.checked);
}

TEST_F(CheckRunnerTest, GroupAndRouteSelectorsNameTheSameLimitOnce) {
  const auto key = new_key("acct_1", "free");
  auto a = run(by_key(key, {{.kind = Kind::group, .group = "analysis"},
                            {.kind = Kind::route, .method = "GET", .path = "/v1/analysis/x"}}));
  ASSERT_FALSE(a.refusal);
  ASSERT_EQ(a.limits.count, 1u);  // one limit, charged once
  EXPECT_EQ(a.limits.storage[0].name, "analysis");
  EXPECT_EQ(a.verdict.result.decisions[0].remaining, 1);
  EXPECT_EQ(a.selected, (std::vector<std::optional<std::size_t>>{0u, 0u}));
}

TEST_F(CheckRunnerTest, AllOrNothingAcrossSelectors) {
  const auto key = new_key("acct_1", "free");
  const std::vector<LimitSelector> both{{.kind = Kind::plan},
                                        {.kind = Kind::group, .group = "analysis"}};
  EXPECT_FALSE(run(by_key(key, both)).refusal);
  EXPECT_FALSE(run(by_key(key, both)).refusal);
  auto third = run(by_key(key, both));  // analysis (2) is over; the plan (3) must not be charged
  ASSERT_TRUE(third.refusal);
  auto plan_only = run(by_key(key, {{.kind = Kind::plan}}));
  ASSERT_FALSE(plan_only.refusal);
  EXPECT_EQ(plan_only.verdict.result.decisions[0].remaining, 0);
}

TEST_F(CheckRunnerTest, RouteOutsideAnyGroupOrUnlimitedGroupNamesNoLimit) {
  const auto key = new_key("acct_1", "free");
  auto a = run(by_key(key, {{.kind = Kind::route, .method = "GET", .path = "/v1/other"},
                            {.kind = Kind::group, .group = "voice"}}));
  EXPECT_FALSE(a.refusal);
  EXPECT_FALSE(a.checked);
  EXPECT_EQ(a.selected, (std::vector<std::optional<std::size_t>>{std::nullopt, std::nullopt}));
}

TEST_F(CheckRunnerTest, CostChargesEveryNamedLimitAndIsBounded) {
  const auto key = new_key("acct_1", "pro");
  auto a = run(by_key(key, {{.kind = Kind::plan}}, 4));
  ASSERT_FALSE(a.refusal);
  EXPECT_EQ(a.verdict.result.decisions[0].remaining, 6);
  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-1}, limiter::kMaxCost + 1,
                           std::numeric_limits<std::int64_t>::max()}) {
    auto refused = run(by_key(key, {{.kind = Kind::plan}}, bad));
    ASSERT_TRUE(refused.refusal) << bad;
    EXPECT_EQ(refused.refusal->code, "invalid_cost");
    EXPECT_FALSE(refused.checked);
  }
}

TEST_F(CheckRunnerTest, MalformedQueriesAreRefusedBeforeAnyCounter) {
  const auto key = new_key("acct_1", "free");
  EXPECT_EQ(run(by_key(key, {})).refusal->code, "no_limits");
  EXPECT_EQ(run(by_key(key, std::vector<LimitSelector>(kMaxSelectors + 1))).refusal->code,
            "too_many_limits");
  EXPECT_EQ(run(by_key(key, {{.kind = Kind::group, .group = "nope"}})).refusal->code,
            "unknown_group");
  EXPECT_EQ(
      run(by_key(key, {{.kind = Kind::route, .method = "GET", .path = "no-slash"}})).refusal->code,
      "invalid_request_target");
  // Nothing was charged.
  auto a = run(by_key(key, {{.kind = Kind::plan}}));
  EXPECT_EQ(a.verdict.result.decisions[0].remaining, 2);
}

TEST_F(CheckRunnerTest, UnknownKeyAndUnknownAccountAre401) {
  auto unknown = run(by_key("sk_live_" + std::string(32, 'a'), {{.kind = Kind::plan}}));
  ASSERT_TRUE(unknown.refusal);
  EXPECT_EQ(unknown.refusal->status, 401);
  EXPECT_FALSE(unknown.checked);

  CheckQuery q;
  q.by = CheckQuery::By::account;
  q.account_id = "acct_gone";
  q.selectors = {{.kind = Kind::plan}};
  auto gone = run(q);
  ASSERT_TRUE(gone.refusal);
  EXPECT_EQ(gone.refusal->code, "unknown_account");
}

TEST_F(CheckRunnerTest, AccountQueriesShareTheKeysCounters) {
  const auto key = new_key("acct_1", "free");
  EXPECT_FALSE(run(by_key(key, {{.kind = Kind::plan}})).refusal);
  CheckQuery q;
  q.by = CheckQuery::By::account;
  q.account_id = "acct_1";
  q.selectors = {{.kind = Kind::plan}};
  auto a = run(q);
  ASSERT_FALSE(a.refusal);
  EXPECT_EQ(a.verdict.result.decisions[0].remaining, 1);
}

TEST_F(CheckRunnerTest, NowAnswersWhenNothingWaitsAndChargesNothingWhenItCannot) {
  const auto key = new_key("acct_1", "free");
  const CheckQuery q = by_key(key, {{.kind = Kind::plan}});
  EXPECT_FALSE(run_check_now(decider, q, context, clock.now()));  // the caller is not cached
  auto first = run(q);
  ASSERT_FALSE(first.refusal);
  EXPECT_EQ(first.verdict.result.decisions[0].remaining, 2);  // the miss charged nothing
  auto now = run_check_now(decider, q, context, clock.now());
  ASSERT_TRUE(now);
  ASSERT_FALSE(now->refusal);
  EXPECT_EQ(now->verdict.result.decisions[0].remaining, 1);
  EXPECT_EQ(now->selected, (std::vector<std::optional<std::size_t>>{0u}));
  // Refusals of the query itself need nothing.
  auto invalid = run_check_now(decider, by_key(key, {}), context, clock.now());
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->refusal->code, "no_limits");

  CheckQuery by_account;
  by_account.by = CheckQuery::By::account;
  by_account.account_id = "acct_1";
  by_account.selectors = {{.kind = Kind::plan}};
  EXPECT_FALSE(run_check_now(decider, by_account, context, clock.now()));
  EXPECT_FALSE(run(by_account).refusal);
  auto cached = run_check_now(decider, by_account, context, clock.now());
  ASSERT_TRUE(cached);
  EXPECT_TRUE(cached->refusal);  // the plan's 3 are spent
  EXPECT_EQ(cached->refusal->status, 429);
}

TEST_F(CheckRunnerTest, AnonymousNeedsAnAddress) {
  context.settings.unknown_key = UnknownKey::anonymous;
  CheckQuery q;
  q.selectors = {{.kind = Kind::plan}};
  EXPECT_EQ(run(q).refusal->status, 401);  // no address: no anonymous caller
  q.client = core::ip_bytes(net::ip::make_address("192.0.2.7"));
  auto a = run(q);
  ASSERT_FALSE(a.refusal);
  EXPECT_TRUE(a.caller->anonymous);
  EXPECT_EQ(run(q).refusal->status, 429);  // the anonymous plan allows 1
}

}  // namespace
}  // namespace gw::decision

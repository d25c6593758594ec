#include "decision/decider.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "decision/decider_test_fixture.h"

namespace gw::decision {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;

// A counter store whose every answer is a transient failure (a Redis outage, as the
// decision sees it), asynchronously as the contract requires.
class FailingCounterStore final : public store::CounterStore {
 public:
  void check(const store::CheckRequest&, core::UnixNanos, net::any_io_executor executor,
             store::CheckHandler done) override {
    net::post(executor, [done = std::move(done)] {
      done(core::unexpected(store::StoreError{.detail = "down"}));
    });
  }
  void peek(const store::CheckRequest& request, core::UnixNanos now, net::any_io_executor executor,
            store::CheckHandler done) override {
    check(request, now, std::move(executor), std::move(done));
  }
};

using testing::small_policy;

class DeciderTest : public testing::DeciderFixture {
 protected:
  const core::IpBytes client = core::ip_bytes(net::ip::make_address("192.0.2.7"));

  static PresentedCredential key(std::string_view k) {
    return {.kind = PresentedCredential::Kind::key, .key = k};
  }

  // Runs identify() to completion on an event loop of its own.
  Identity identify(const PresentedCredential& credential) {
    net::io_context io;
    std::optional<Identity> out;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          out = co_await decider.identify(credential, client, context);
        },
        net::detached);
    io.run();
    return std::move(*out);
  }

  Verdict check(Decider& d, const Caller& caller, const LimitSet& limits) {
    if (auto now = d.check_now(caller, limits, 1, clock.now(), context)) return std::move(*now);
    net::io_context io;
    std::optional<Verdict> out;
    auto shared = std::make_shared<const Caller>(caller);
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          out = co_await d.check(shared, limits, 1, clock.now(), context);
        },
        net::detached);
    io.run();
    return std::move(*out);
  }
};

TEST_F(DeciderTest, NoKeyAndABadKeyAre401WithTheirOwnMessages) {
  auto none = decider.identify_now({}, client, context);
  ASSERT_TRUE(none && none->refusal);
  EXPECT_EQ(none->refusal->status, 401);
  EXPECT_EQ(none->refusal->code, "invalid_api_key");
  EXPECT_EQ(none->refusal->message,
            "No API key provided. Use 'Authorization: Bearer <key>' or 'X-API-Key'.");

  // Malformed: never looked up, answered at once.
  auto malformed = decider.identify_now(key("sk_live_short"), client, context);
  ASSERT_TRUE(malformed && malformed->refusal);
  EXPECT_EQ(malformed->refusal->message, "Invalid API key provided.");
}

TEST_F(DeciderTest, ConflictingKeysAre400) {
  auto identity =
      decider.identify_now({.kind = PresentedCredential::Kind::conflicting}, client, context);
  ASSERT_TRUE(identity && identity->refusal);
  EXPECT_EQ(identity->refusal->status, 400);
  EXPECT_EQ(identity->refusal->code, "multiple_api_keys");
}

TEST_F(DeciderTest, AKnownKeyIsLookedUpOnceThenAnsweredFromTheCache) {
  const std::string k = new_key("acme", "pro");
  EXPECT_FALSE(decider.identify_now(key(k), client, context));  // a miss: needs the store
  const Identity looked_up = identify(key(k));
  ASSERT_TRUE(looked_up.caller);
  EXPECT_FALSE(looked_up.refusal);
  EXPECT_TRUE(looked_up.key_charged);
  EXPECT_EQ(looked_up.caller->plan_name, "pro");
  EXPECT_EQ(looked_up.caller->subject, "acme:live");

  auto cached = decider.identify_now(key(k), client, context);
  ASSERT_TRUE(cached && cached->caller);
  EXPECT_EQ(cached->caller, looked_up.caller);
}

TEST_F(DeciderTest, UnknownKeysAreAnonymousByClientWhenConfiguredAndTheKeyIsNotForwarded) {
  context.settings.unknown_key = UnknownKey::anonymous;
  const std::string made_up = "sk_live_" + std::string(43, 'x');
  const Identity identity = identify(key(made_up));
  ASSERT_TRUE(identity.caller);
  EXPECT_FALSE(identity.refusal);
  EXPECT_FALSE(identity.key_charged);
  EXPECT_TRUE(identity.caller->anonymous);
  EXPECT_EQ(identity.caller->subject, "ip:192.0.2.7");
  EXPECT_EQ(identity.caller->plan_name, "anonymous");
}

TEST_F(DeciderTest, LimitsArePlanWideAndTheRoutesGroup) {
  const Identity identity = identify(key(new_key("acme", "free")));
  const LimitSet plain = Decider::limits(*identity.caller, "GET", "/v1/sessions", *context.policy);
  ASSERT_EQ(plain.count, 1u);
  EXPECT_EQ(plain.storage[0].name, "api");
  EXPECT_FALSE(plain.group);

  const LimitSet grouped =
      Decider::limits(*identity.caller, "POST", "/v1/analysis", *context.policy);
  ASSERT_EQ(grouped.count, 2u);
  EXPECT_EQ(grouped.group_name, "analysis");
  EXPECT_EQ(grouped.storage[1].name, "analysis");
  EXPECT_EQ(grouped.storage[1].spec.limit, 2);
}

TEST_F(DeciderTest, TheGroupLimitRefusesWithItsNameAndTheExactRetryAfter) {
  const Identity identity = identify(key(new_key("acme", "free")));
  const LimitSet limits =
      Decider::limits(*identity.caller, "POST", "/v1/analysis", *context.policy);
  for (int i = 0; i < 2; ++i) {
    const Verdict admitted = check(decider, *identity.caller, limits);
    EXPECT_TRUE(admitted.admitted);
    EXPECT_TRUE(admitted.decided);
    EXPECT_FALSE(admitted.refusal);
  }
  const Verdict over = check(decider, *identity.caller, limits);
  EXPECT_FALSE(over.admitted);
  EXPECT_TRUE(over.decided);
  ASSERT_TRUE(over.refusal);
  EXPECT_EQ(over.refusal->status, 429);
  EXPECT_EQ(over.refusal->code, "rate_limit_exceeded");
  EXPECT_EQ(over.refusal->retry_after_s, 40);  // the fixed window ends 40 s from now
  EXPECT_EQ(over.refusal->message,
            "Rate limit exceeded for analysis (2 per minute). Retry after 40 seconds.");
  EXPECT_EQ(usage.last_60_minutes("acme", clock.now()).allowed, 2u);
  EXPECT_EQ(usage.last_60_minutes("acme", clock.now()).denied, 1u);

  // A refused request charged nothing: the plan-wide limit (3) still has room for one.
  const LimitSet plain = Decider::limits(*identity.caller, "GET", "/v1/sessions", *context.policy);
  EXPECT_TRUE(check(decider, *identity.caller, plain).admitted);

  clock.advance(40s);  // the next window
  EXPECT_TRUE(check(decider, *identity.caller, limits).admitted);
}

TEST_F(DeciderTest, AStoreFailureAdmitsDegradedUnlessFailClosed) {
  FailingCounterStore failing;
  Decider degraded{callers, *accounts, failing, metrics, usage, clock};
  const Identity identity = identify(key(new_key("acme", "free")));
  const LimitSet limits = Decider::limits(*identity.caller, "GET", "/v1/sessions", *context.policy);

  const Verdict open = check(degraded, *identity.caller, limits);
  EXPECT_TRUE(open.admitted);
  EXPECT_FALSE(open.decided);  // no rate-limit fields: nothing was counted
  EXPECT_FALSE(open.refusal);

  context.settings.on_failure = OnStoreFailure::fail_closed;
  const Verdict closed = check(degraded, *identity.caller, limits);
  EXPECT_FALSE(closed.admitted);
  ASSERT_TRUE(closed.refusal);
  EXPECT_EQ(closed.refusal->status, 503);
  EXPECT_EQ(closed.refusal->code, "rate_limiter_unavailable");
}

TEST_F(DeciderTest, AShadowLimitOverIsAdmittedAndSaysSo) {
  auto c = std::make_shared<policy::PolicyConfig>(*small_policy());
  c->groups[0].shadow_mode = true;
  context.policy = std::make_shared<const policy::Policy>(c);
  context.policy_version = 2;
  const Identity identity = identify(key(new_key("acme", "free")));
  const LimitSet limits =
      Decider::limits(*identity.caller, "POST", "/v1/analysis", *context.policy);
  check(decider, *identity.caller, limits);
  check(decider, *identity.caller, limits);
  const Verdict third = check(decider, *identity.caller, limits);
  EXPECT_TRUE(third.admitted);
  EXPECT_TRUE(third.shadow_over);
  EXPECT_FALSE(third.refusal);
}

}  // namespace
}  // namespace gw::decision

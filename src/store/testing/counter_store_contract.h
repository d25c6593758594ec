// The CounterStore contract (store/counter_store.h) as one GoogleTest suite that every
// backend runs: a type-parameterized suite, instantiated in each backend's test target with
// a CounterStoreBackend that makes a fresh store (memory; Redis on a fresh redis-server;
// the local fallback over Redis, answering and gone).
//
// Time: a backend either decides with the `now` each call passes (Clocking::caller: the
// test's FakeClock, so window boundaries are exact) or with its own clock (Clocking::store:
// RedisCounterStore runs on Redis's TIME and ignores `now`). Every case runs on both; where
// the passing of time matters, the case says what each kind must show: a caller-clocked
// store moves to the next window when the FakeClock does, a store-clocked one does not
// (its clock has not moved), and times are checked against the store's clock read before
// and after the call. The windows are long (kWindow, 10 days, within the Redis script's
// limit), so a run on a store's clock never straddles a boundary (about 1 run in 10^7 may).
// The exact time arithmetic of the Redis script is held to the limiter's with a fixed clock
// by check_script_test.cpp; this suite holds the stores to the interface.
//
// Thread-safety: a fixture is used by its test's thread (and the threads a case starts).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/fake_clock.h"
#include "limiter/limit_bounds.h"
#include "store/counter_store.h"
#include "store/testing/contract_support.h"

namespace gw::store::contract {

// A backend under test: a fresh, empty store of its kind, and what the suite needs to look
// at it from outside the interface. Implementations are constructed from the test's
// FakeClock (`explicit Backend(core::FakeClock&)`) and own everything the store needs.
class CounterStoreBackend {
 public:
  virtual ~CounterStoreBackend() = default;
  virtual CounterStore& store() = 0;
  // A running event loop of the backend's: completions are posted there.
  virtual boost::asio::any_io_executor executor() = 0;
  virtual Clocking clocking() const = 0;
  // Clocking::store only: the store's clock now (Unix nanoseconds).
  virtual core::UnixNanos store_time() = 0;
  // Subjects the backend keeps state for (memory: counters held; Redis: keys).
  virtual std::size_t stored_subjects() = 0;
};

namespace counter_contract {

using namespace std::chrono_literals;
using limiter::Algorithm;
using limiter::LimitSpec;

inline constexpr std::chrono::seconds kWindow = 864'000s;  // 10 days
inline constexpr core::UnixNanos kT0 = 1968 * kWindow;     // a window boundary (2023-11-19)

inline LimitSpec limit_of(std::int64_t limit, Algorithm algorithm = Algorithm::fixed_window,
                          core::UnixNanos window = kWindow) {
  return LimitSpec{.limit = limit, .window = window, .algorithm = algorithm};
}

// When the fixed window holding `t` ends.
inline core::UnixNanos window_end(core::UnixNanos t, core::UnixNanos window = kWindow) {
  return (t / window + 1) * window;
}
inline std::int64_t unix_s(core::UnixNanos t) { return core::to_unix_seconds(t); }

// A check of subject "acct_1:live", as the gateway asks it.
struct Request {
  std::string subject = "acct_1:live";
  std::vector<LimitRef> limits;
  std::int64_t cost = 1;

  CheckRequest view() const { return CheckRequest{subject, limits, cost}; }
};

// The plan-wide limit and one group's.
inline Request api_and_group(std::int64_t api, std::int64_t group) {
  return Request{.limits = {LimitRef{"api", limit_of(api)}, LimitRef{"analysis", limit_of(group)}}};
}

inline const char* name_of(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::fixed_window:
      return "fixed_window";
    case Algorithm::sliding_window:
      return "sliding_window";
    case Algorithm::gcra:
      return "gcra";
  }
  return "?";
}

}  // namespace counter_contract

template <typename Backend>
class CounterStoreContract : public ::testing::Test {
  static_assert(std::is_base_of_v<CounterStoreBackend, Backend>);

 protected:
  CounterStore& store() { return backend_.store(); }

  CheckOutcome check(const CheckRequest& request) {
    return outcome_of([&](auto done) {
      store().check(request, clock_.now(), backend_.executor(), std::move(done));
    });
  }
  CheckOutcome peek(const CheckRequest& request) {
    return outcome_of([&](auto done) {
      store().peek(request, clock_.now(), backend_.executor(), std::move(done));
    });
  }
  // What the proxy does: the immediate answer if the store has one, else check().
  CheckOutcome decide(const CheckRequest& request) {
    if (auto immediate = store().check_immediately(request, clock_.now())) {
      return std::move(*immediate);
    }
    return check(request);
  }

  // Checks and peeks that must succeed: the result (empty, and a test failure, otherwise).
  CheckResult checked(const CheckRequest& request) { return result_of(check(request)); }
  CheckResult peeked(const CheckRequest& request) { return result_of(peek(request)); }
  CheckResult decided(const CheckRequest& request) { return result_of(decide(request)); }

  // Every request checked at once (issued without waiting), the outcomes in order.
  std::vector<CheckOutcome> check_all(const std::vector<counter_contract::Request>& requests) {
    std::vector<Captured<CheckOutcome>> captured(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      store().check(requests[i].view(), clock_.now(), backend_.executor(), captured[i].handler());
    }
    std::vector<CheckOutcome> outcomes;
    for (auto& c : captured) {
      auto outcome = c.get();
      outcomes.push_back(outcome ? std::move(*outcome)
                                 : CheckOutcome(core::unexpected(StoreError{.detail = "none"})));
    }
    return outcomes;
  }

  bool caller_clocked() const { return backend_.clocking() == Clocking::caller; }
  // The time the store decides with, now.
  core::UnixNanos deciding_time() {
    return caller_clocked() ? clock_.now() : backend_.store_time();
  }

  // The error every entry point must answer `request` with: a non-transient protocol_error,
  // charging nothing. check_immediately() may instead say "ask check()".
  void expect_refused_as_invalid(const CheckRequest& request) {
    if (auto immediate = store().check_immediately(request, clock_.now())) {
      ASSERT_FALSE(*immediate) << "check_immediately() decided an invalid request";
      EXPECT_EQ(immediate->error().code, StoreErrc::protocol_error);
      EXPECT_FALSE(immediate->error().transient);
    }
    for (const CheckOutcome& outcome : {check(request), peek(request)}) {
      ASSERT_FALSE(outcome) << "an invalid request was decided";
      EXPECT_EQ(outcome.error().code, StoreErrc::protocol_error) << outcome.error().detail;
      EXPECT_FALSE(outcome.error().transient);
    }
  }

  core::FakeClock clock_{counter_contract::kT0 + std::chrono::seconds(1)};
  Backend backend_{clock_};

 private:
  template <typename Start>
  CheckOutcome outcome_of(Start start) {
    auto outcome = await<CheckOutcome>(start);
    if (!outcome) return core::unexpected(StoreError{.detail = "no completion"});
    return std::move(*outcome);
  }
  static CheckResult result_of(const CheckOutcome& outcome) {
    EXPECT_TRUE(outcome) << outcome.error().detail;
    return outcome ? *outcome : CheckResult{};
  }
};

TYPED_TEST_SUITE_P(CounterStoreContract);

using namespace counter_contract;

// The all-or-nothing check: every limit charged when the request is admitted, none when
// one of them refuses it; decisions in the request's order.
TYPED_TEST_P(CounterStoreContract, ChargesEveryLimitOfTheSubjectOrNone) {
  const Request r = api_and_group(3, 2);
  const core::UnixNanos before = this->deciding_time();
  for (std::int64_t i = 1; i <= 2; ++i) {
    const CheckResult res = this->checked(r.view());
    ASSERT_TRUE(res.admitted);
    ASSERT_EQ(res.count, 2u);
    EXPECT_EQ(res.decisions[0].remaining, 3 - i);
    EXPECT_EQ(res.decisions[1].remaining, 2 - i);
    EXPECT_EQ(res.decisions[1].used, i);
    EXPECT_EQ(res.decisions[1].reset_unix_s, unix_s(window_end(before)));
  }
  const CheckResult refused = this->checked(r.view());
  const core::UnixNanos after = this->deciding_time();
  EXPECT_FALSE(refused.admitted);
  ASSERT_EQ(refused.count, 2u);
  EXPECT_TRUE(refused.decisions[0].allowed);
  EXPECT_EQ(refused.decisions[0].remaining, 1);  // api had room but was not charged
  EXPECT_FALSE(refused.decisions[1].allowed);
  EXPECT_TRUE(refused.decisions[1].over_limit);
  // The wait is until the window ends, on the clock that decides.
  if (this->caller_clocked()) {
    EXPECT_EQ(refused.decisions[1].retry_after, window_end(before) - before);
  } else {
    EXPECT_GE(refused.decisions[1].retry_after, window_end(after) - after);
    EXPECT_LE(refused.decisions[1].retry_after, window_end(before) - before);
  }

  // The api counter alone still has exactly one unit.
  const Request api_only{.limits = {LimitRef{"api", limit_of(3)}}};
  EXPECT_TRUE(this->checked(api_only.view()).admitted);
  EXPECT_FALSE(this->checked(api_only.view()).admitted);

  // The caller's clock moves to the next window: a caller-clocked store starts afresh; a
  // store-clocked one does not (its own clock is still in the window).
  this->clock_.advance(kWindow);
  const CheckResult next = this->checked(r.view());
  if (this->caller_clocked()) {
    EXPECT_TRUE(next.admitted);
    EXPECT_EQ(next.decisions[0].remaining, 2);
    EXPECT_EQ(next.decisions[1].remaining, 1);
  } else {
    EXPECT_FALSE(next.admitted);
    EXPECT_EQ(next.decisions[0].remaining, 0);
  }
}

// A peek shows the counters as they are ("remaining" does not count the request) and
// creates, charges and changes nothing.
TYPED_TEST_P(CounterStoreContract, PeekShowsTheCountersWithoutCharging) {
  const Request r = api_and_group(3, 2);
  const CheckResult fresh = this->peeked(r.view());
  EXPECT_TRUE(fresh.admitted);
  ASSERT_EQ(fresh.count, 2u);
  EXPECT_EQ(fresh.decisions[0].remaining, 3);
  EXPECT_EQ(fresh.decisions[0].used, 0);
  EXPECT_EQ(this->backend_.stored_subjects(), 0u);

  ASSERT_TRUE(this->checked(r.view()).admitted);
  for (int i = 0; i < 3; ++i) {
    const CheckResult seen = this->peeked(r.view());
    EXPECT_TRUE(seen.admitted);
    EXPECT_EQ(seen.decisions[0].remaining, 2);
    EXPECT_EQ(seen.decisions[0].used, 1);
    EXPECT_EQ(seen.decisions[1].remaining, 1);
    EXPECT_EQ(seen.decisions[1].used, 1);
  }
  // The peeks charged nothing: the api counter still has its two units.
  const Request api_only{.limits = {LimitRef{"api", limit_of(3)}}};
  EXPECT_TRUE(this->checked(api_only.view()).admitted);
  EXPECT_TRUE(this->checked(api_only.view()).admitted);
  EXPECT_FALSE(this->checked(api_only.view()).admitted);
}

TYPED_TEST_P(CounterStoreContract, AShadowLimitIsReportedButDoesNotBlock) {
  Request r = api_and_group(10, 1);
  r.limits[1].spec.enforced = false;
  EXPECT_TRUE(this->checked(r.view()).admitted);
  const CheckResult res = this->checked(r.view());
  EXPECT_TRUE(res.admitted);
  EXPECT_TRUE(res.decisions[1].allowed);
  EXPECT_TRUE(res.decisions[1].over_limit);
  EXPECT_GT(res.decisions[1].retry_after, core::UnixNanos::zero());  // its would-be wait
  EXPECT_EQ(res.decisions[0].remaining, 8);
}

TYPED_TEST_P(CounterStoreContract, ACostAboveOneChargesThatMany) {
  Request r = api_and_group(10, 10);
  r.cost = 4;
  EXPECT_TRUE(this->checked(r.view()).admitted);
  EXPECT_TRUE(this->checked(r.view()).admitted);
  const CheckResult res = this->checked(r.view());
  EXPECT_FALSE(res.admitted);
  EXPECT_EQ(res.decisions[0].remaining, 2);
  EXPECT_EQ(res.decisions[0].used, 8);
}

// A counter kept under another limit (a plan change) keeps what was spent.
TYPED_TEST_P(CounterStoreContract, APlanUpgradeKeepsTheSpentUnits) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(this->checked(api_and_group(5, 100).view()).admitted);
  }
  EXPECT_FALSE(this->checked(api_and_group(5, 100).view()).admitted);
  const CheckResult upgraded = this->checked(api_and_group(8, 100).view());
  EXPECT_TRUE(upgraded.admitted);
  EXPECT_EQ(upgraded.decisions[0].remaining, 2);  // 8 - 5 - 1
  EXPECT_EQ(upgraded.decisions[0].used, 6);
}

TYPED_TEST_P(CounterStoreContract, APlanChangeKeepsTheGcraDebt) {
  Request r{.limits = {LimitRef{"api", limit_of(60, Algorithm::gcra)}}, .cost = 30};
  ASSERT_TRUE(this->checked(r.view()).admitted);
  r.limits[0].spec.limit = 120;
  r.cost = 1;
  const CheckResult res = this->checked(r.view());
  EXPECT_EQ(res.decisions[0].used, 31);
  EXPECT_EQ(res.decisions[0].remaining, 89);
}

TYPED_TEST_P(CounterStoreContract, AnotherWindowOrAlgorithmStartsAfresh) {
  Request r{.limits = {LimitRef{"api", limit_of(5)}}};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(this->checked(r.view()).admitted);
  }
  r.limits[0].spec.window = kWindow / 10;
  EXPECT_EQ(this->checked(r.view()).decisions[0].remaining, 4);
  r.limits[0].spec.algorithm = Algorithm::sliding_window;
  EXPECT_EQ(this->checked(r.view()).decisions[0].remaining, 4);
}

TYPED_TEST_P(CounterStoreContract, SubjectsAreIndependent) {
  constexpr int kSubjects = 1000;
  std::vector<Request> requests;
  for (int i = 0; i < kSubjects; ++i) {
    requests.push_back(Request{.subject = "acct_" + std::to_string(i) + ":live",
                               .limits = {LimitRef{"api", limit_of(1)}}});
  }
  for (const bool admitted : {true, false}) {
    const std::vector<CheckOutcome> outcomes = this->check_all(requests);
    for (int i = 0; i < kSubjects; ++i) {
      ASSERT_TRUE(outcomes[i]) << outcomes[i].error().detail;
      ASSERT_EQ(outcomes[i]->admitted, admitted) << requests[i].subject;
    }
  }
  EXPECT_EQ(this->backend_.stored_subjects(), static_cast<std::size_t>(kSubjects));
  // Same counter name, another subject: "acct_1:test" counts apart from "acct_1:live".
  const Request test_key{.subject = "acct_1:test", .limits = {LimitRef{"api", limit_of(1)}}};
  EXPECT_TRUE(this->checked(test_key.view()).admitted);
}

TYPED_TEST_P(CounterStoreContract, ManyCountersInOneSubjectKeepApart) {
  // More names than fit inline, over several requests, none disturbing the others.
  const char* names[] = {"api",        "sessions_write", "sessions_read",
                         "recordings", "analysis",       "webhooks_with_a_long_name_beyond_sso"};
  for (int round = 1; round <= 3; ++round) {
    for (const char* name : names) {
      Request r{.limits = {LimitRef{"api", limit_of(100)}, LimitRef{name, limit_of(3)}}};
      if (std::string_view(name) == "api") r.limits.pop_back();
      const CheckResult res = this->checked(r.view());
      ASSERT_TRUE(res.admitted) << name;
      if (res.count == 2) {
        EXPECT_EQ(res.decisions[1].used, round) << name;
      }
    }
  }
  const Request api_only{.limits = {LimitRef{"api", limit_of(100)}}};
  EXPECT_EQ(this->peeked(api_only.view()).decisions[0].used, 18);
}

// Checks from many threads at once: exactly the limit is admitted, never more, and the
// counters agree with the admissions.
TYPED_TEST_P(CounterStoreContract, ExactUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kAttemptsPerThread = 500;  // 4'000 attempts for 2'000 units
  constexpr std::int64_t kApiLimit = 2'000;
  constexpr std::int64_t kGroupLimit = 700;
  // Even threads also hit the group limit; odd threads only the plan-wide one.
  std::atomic<std::int64_t> api_admitted{0};
  std::atomic<std::int64_t> group_admitted{0};
  std::atomic<int> errors{0};
  std::vector<Captured<bool>> finished(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Request r{.limits = {LimitRef{"api", limit_of(kApiLimit)}}};
      if (t % 2 == 0) r.limits.push_back(LimitRef{"analysis", limit_of(kGroupLimit)});
      auto pending = std::make_shared<std::atomic<int>>(kAttemptsPerThread);
      auto last = std::make_shared<std::function<void(bool)>>(finished[t].handler());
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        this->store().check(r.view(), this->clock_.now(), this->backend_.executor(),
                            [&, t, pending, last](CheckOutcome outcome) {
                              if (!outcome) {
                                ++errors;
                              } else if (outcome->admitted) {
                                ++api_admitted;
                                if (t % 2 == 0) ++group_admitted;
                              }
                              if (pending->fetch_sub(1) == 1) (*last)(true);
                            });
      }
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  for (auto& f : finished) ASSERT_TRUE(f.get());
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(api_admitted.load(), kApiLimit);
  EXPECT_LE(group_admitted.load(), kGroupLimit);
  const CheckResult state = this->peeked(api_and_group(kApiLimit, kGroupLimit).view());
  EXPECT_EQ(state.decisions[0].used, api_admitted.load());
  EXPECT_EQ(state.decisions[1].used, group_admitted.load());
}

TYPED_TEST_P(CounterStoreContract, ALimitOfZeroAdmitsNothing) {
  for (const Algorithm algorithm :
       {Algorithm::fixed_window, Algorithm::sliding_window, Algorithm::gcra}) {
    const Request r{.subject = std::string("zero:") + name_of(algorithm),
                    .limits = {LimitRef{"api", limit_of(0, algorithm)}}};
    for (int i = 0; i < 2; ++i) {
      const CheckResult res = this->decided(r.view());
      EXPECT_FALSE(res.admitted) << name_of(algorithm);
      EXPECT_FALSE(res.decisions[0].allowed) << name_of(algorithm);
      EXPECT_EQ(res.decisions[0].remaining, 0) << name_of(algorithm);
    }
  }
}

TYPED_TEST_P(CounterStoreContract, AnEmptyCheckIsAdmitted) {
  const Request none;
  for (const CheckResult& res :
       {this->checked(none.view()), this->peeked(none.view()), this->decided(none.view())}) {
    EXPECT_TRUE(res.admitted);
    EXPECT_EQ(res.count, 0u);
  }
  EXPECT_EQ(this->backend_.stored_subjects(), 0u);
}

// `done` runs exactly once (await() fails on a second call), on the executor, never inline:
// issued while the loop is held busy, nothing may have completed before it is released.
TYPED_TEST_P(CounterStoreContract, CompletesOnTheExecutorNeverInline) {
  const Request r = api_and_group(1, 5);
  const std::thread::id loop = loop_thread_id(this->backend_.executor());
  Captured<CheckOutcome> first;
  Captured<CheckOutcome> second;
  Captured<CheckOutcome> peeked;
  {
    LoopHold hold(this->backend_.executor());
    const auto now = this->clock_.now();
    this->store().check(r.view(), now, this->backend_.executor(), first.handler());
    this->store().check(r.view(), now, this->backend_.executor(), second.handler());
    this->store().peek(r.view(), now, this->backend_.executor(), peeked.handler());
    EXPECT_FALSE(first.arrived() || second.arrived() || peeked.arrived()) << "completed inline";
  }
  auto a = first.get();
  auto b = second.get();
  auto p = peeked.get();
  ASSERT_TRUE(a && *a && b && *b && p && *p);
  EXPECT_EQ(first.thread(), loop);
  EXPECT_EQ(second.thread(), loop);
  EXPECT_EQ(peeked.thread(), loop);
  EXPECT_EQ(int((*a)->admitted) + int((*b)->admitted), 1);  // a limit of one
}

// What the store is told about the request lives only until the call returns.
TYPED_TEST_P(CounterStoreContract, TheRequestMayGoOnceTheCallHasReturned) {
  Captured<CheckOutcome> checked;
  Captured<CheckOutcome> peeked;
  {
    LoopHold hold(this->backend_.executor());  // nothing of the call runs on the loop yet
    for (const bool charge : {true, false}) {
      auto subject = std::make_unique<std::string>("acct_1:live");
      auto name = std::make_unique<std::string>("api");
      auto limits = std::make_unique<std::vector<LimitRef>>(
          std::vector<LimitRef>{LimitRef{*name, limit_of(2)}});
      const CheckRequest request{*subject, *limits, 1};
      if (charge) {
        this->store().check(request, this->clock_.now(), this->backend_.executor(),
                            checked.handler());
      } else {
        this->store().peek(request, this->clock_.now(), this->backend_.executor(),
                           peeked.handler());
      }
      subject->assign(40, 'x');  // and then freed
      name->assign(40, 'y');
    }
  }
  auto c = checked.get();
  auto p = peeked.get();
  ASSERT_TRUE(c && *c && p && *p);
  EXPECT_TRUE((*c)->admitted);
  EXPECT_EQ((*c)->decisions[0].remaining, 1);
  EXPECT_EQ((*c)->decisions[0].limit, 2);
  EXPECT_TRUE((*p)->admitted);
  const Request again{.limits = {LimitRef{"api", limit_of(2)}}};
  EXPECT_EQ(this->peeked(again.view()).decisions[0].used, 1);  // charged under its own name
  EXPECT_EQ(this->backend_.stored_subjects(), 1u);
}

TYPED_TEST_P(CounterStoreContract, MoreThanTheMostLimitsIsAProtocolError) {
  Request r;
  for (std::size_t i = 0; i <= kMaxLimitsPerCheck; ++i) {
    r.limits.push_back(LimitRef{"api", limit_of(5)});
  }
  this->expect_refused_as_invalid(r.view());
  EXPECT_EQ(this->backend_.stored_subjects(), 0u);
}

// Beyond the bounds of store/check_bounds.h, every store refuses alike: a non-transient
// protocol error from every entry point, and nothing counted.
TYPED_TEST_P(CounterStoreContract, LimitsCostsAndWindowsBeyondTheBoundsAreRefused) {
  const std::vector<LimitRef> too_big{{"api", limit_of(limiter::kMaxLimit + 1)}};
  const std::vector<LimitRef> negative{{"api", limit_of(-1)}};
  const std::vector<LimitRef> no_window{
      {"api", limit_of(5, Algorithm::fixed_window, core::UnixNanos::zero())}};
  const std::vector<LimitRef> largest{{"api", limit_of(limiter::kMaxLimit)}};
  for (const CheckRequest& request :
       {CheckRequest{"a:live", too_big, 1}, CheckRequest{"a:live", negative, 1},
        CheckRequest{"a:live", no_window, 1},
        CheckRequest{"a:live", largest, limiter::kMaxCost + 1},
        CheckRequest{"a:live", largest, -1}}) {
    this->expect_refused_as_invalid(request);
  }
  EXPECT_EQ(this->backend_.stored_subjects(), 0u);
}

// The largest limit and cost the gateway accepts (limiter::kMaxLimit), through the store
// as the proxy calls it: charged 1, refused the largest cost, charged the rest, refused one
// more; the largest cost at once on a fresh counter. Exact, never a store error.
// On a caller-clocked store: every algorithm, per minute and per second (the WebSocket
// rates' unit). On a store-clocked one, time runs during the case: only the long window,
// and not GCRA, which at 10^9 per window refills a unit every ~1 ms of that clock (its
// exact counts on a fixed clock: check_script_test.cpp, CheckScriptAtTheBounds).
TYPED_TEST_P(CounterStoreContract, TheLargestLimitAndCostAreCountedExactly) {
  constexpr std::int64_t kMax = limiter::kMaxLimit;
  std::vector<Algorithm> algorithms{Algorithm::fixed_window, Algorithm::sliding_window};
  std::vector<core::UnixNanos> windows{kWindow};
  if (this->caller_clocked()) {
    algorithms.push_back(Algorithm::gcra);
    windows = {60s, 1s};
  }
  for (const Algorithm algorithm : algorithms) {
    for (const core::UnixNanos window : windows) {
      SCOPED_TRACE(
          std::string(name_of(algorithm)) + " per " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window).count()) + " s");
      const std::vector<LimitRef> limits{{"api", limit_of(kMax, algorithm, window)}};
      const std::string subject =
          std::string("max:") + name_of(algorithm) + ":" + std::to_string(window.count());
      const auto step = [&](const std::string& s, std::int64_t cost) {
        return this->decided(CheckRequest{s, limits, cost});
      };
      CheckResult r = step(subject, 1);
      EXPECT_TRUE(r.admitted);
      EXPECT_EQ(r.decisions[0].limit, kMax);
      EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
      EXPECT_EQ(r.decisions[0].used, 1);
      r = step(subject, limiter::kMaxCost);
      EXPECT_FALSE(r.admitted);
      EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
      EXPECT_GT(r.decisions[0].retry_after, 0ns);
      r = step(subject, kMax - 1);
      EXPECT_TRUE(r.admitted);
      EXPECT_EQ(r.decisions[0].remaining, 0);
      EXPECT_EQ(r.decisions[0].used, kMax);
      r = step(subject, 1);
      EXPECT_FALSE(r.admitted);
      EXPECT_GT(r.decisions[0].retry_after, 0ns);
      EXPECT_LE(r.decisions[0].retry_after, 2 * window);  // sliding: a bit past one window

      r = step(subject + ":whole", limiter::kMaxCost);  // the largest cost at once
      EXPECT_TRUE(r.admitted);
      EXPECT_EQ(r.decisions[0].remaining, 0);
      EXPECT_EQ(r.decisions[0].used, kMax);
    }
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    CounterStoreContract, ChargesEveryLimitOfTheSubjectOrNone, PeekShowsTheCountersWithoutCharging,
    AShadowLimitIsReportedButDoesNotBlock, ACostAboveOneChargesThatMany,
    APlanUpgradeKeepsTheSpentUnits, APlanChangeKeepsTheGcraDebt,
    AnotherWindowOrAlgorithmStartsAfresh, SubjectsAreIndependent, ManyCountersInOneSubjectKeepApart,
    ExactUnderConcurrency, ALimitOfZeroAdmitsNothing, AnEmptyCheckIsAdmitted,
    CompletesOnTheExecutorNeverInline, TheRequestMayGoOnceTheCallHasReturned,
    MoreThanTheMostLimitsIsAProtocolError, LimitsCostsAndWindowsBeyondTheBoundsAreRefused,
    TheLargestLimitAndCostAreCountedExactly);

}  // namespace gw::store::contract

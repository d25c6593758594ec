#include "store/redis/local_fallback_counter_store.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <optional>

#include "store/memory/memory_counter_store.h"

namespace gw::store {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

constexpr core::UnixNanos kNow = 1'700'000'010s;

// A remote store that answers what the test says (the fallback's logic is under test, not
// Redis: the real failures are covered by the Redis client and integration tests).
class ScriptedStore final : public CounterStore {
 public:
  std::optional<StoreError> fail_with;  // nullopt: answer from `answers`
  MemoryCounterStore answers;
  int calls = 0;

  void check(const CheckRequest& request, core::UnixNanos now, net::any_io_executor executor,
             CheckHandler done) override {
    ++calls;
    if (fail_with) {
      net::post(executor, [done, error = *fail_with] { done(core::unexpected(error)); });
      return;
    }
    answers.check(request, now, executor, std::move(done));
  }
  void peek(const CheckRequest& request, core::UnixNanos now, net::any_io_executor executor,
            CheckHandler done) override {
    check(request, now, executor, std::move(done));
  }
};

class LocalFallbackTest : public ::testing::Test {
 protected:
  CheckOutcome run(LocalFallbackCounterStore& store, std::int64_t limit) {
    // The request's storage dies before the answer comes: the fallback must have copied it.
    std::optional<CheckOutcome> outcome;
    {
      std::string name = "api";
      const LimitRef limits[] = {{name, limiter::LimitSpec{.limit = limit}}};
      std::string subject = "acct:live";
      store.check(CheckRequest{subject, limits, 1}, kNow, io.get_executor(),
                  [&](CheckOutcome o) { outcome = std::move(o); });
      name.assign("garbage");
      subject.assign("garbage-garbage-garbage-garbage");
    }
    EXPECT_FALSE(outcome) << "completed inline";
    io.restart();
    io.run();
    return std::move(*outcome);
  }

  net::io_context io;
  ScriptedStore remote;
  MemoryCounterStore local;
  int fallbacks = 0;
  LocalFallbackCounterStore store{remote, local, [this] { ++fallbacks; }};
};

TEST_F(LocalFallbackTest, TheRemoteStoreDecidesWhileItAnswers) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(run(store, 2)->admitted == (i < 2));
  EXPECT_EQ(remote.calls, 3);
  EXPECT_EQ(fallbacks, 0);
  const LimitRef limits[] = {{"api", limiter::LimitSpec{.limit = 2}}};
  EXPECT_EQ(local.peek_now(CheckRequest{"acct:live", limits, 1}, kNow).decisions[0].used, 0);
}

TEST_F(LocalFallbackTest, TransientFailuresAreDecidedLocallyPerInstance) {
  remote.fail_with = StoreError{.code = StoreErrc::unavailable, .transient = true};
  for (int i = 0; i < 3; ++i) {
    auto outcome = run(store, 2);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->admitted, i < 2);
    EXPECT_EQ(outcome->decisions[0].limit, 2);
  }
  EXPECT_EQ(fallbacks, 3);
  remote.fail_with = StoreError{.code = StoreErrc::timeout, .transient = true};
  EXPECT_FALSE(run(store, 2)->admitted);  // the local window goes on
}

TEST_F(LocalFallbackTest, PermanentErrorsPassThrough) {
  remote.fail_with = StoreError{.code = StoreErrc::protocol_error, .transient = false};
  auto outcome = run(store, 2);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, StoreErrc::protocol_error);
  EXPECT_EQ(fallbacks, 0);
}

}  // namespace
}  // namespace gw::store

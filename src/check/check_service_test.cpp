#include "check/check_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "config/config_loader.h"
#include "core/fake_clock.h"
#include "store/memory/memory_counter_store.h"
#include "store/sqlite/sqlite_account_store.h"

namespace gw::check {
namespace {

using decision::CheckAnswer;
using decision::CheckQuery;
using decision::LimitSelector;

std::shared_ptr<const config::GatewayConfig> config_with(std::string_view yaml) {
  auto loaded = config::load_config_text(yaml, "test.yaml");
  EXPECT_TRUE(loaded);
  return loaded ? *loaded : config::default_config();
}

// Counts answers and lets the test wait for a number of them.
class Answers {
 public:
  CheckService::Done collector() {
    return [this](CheckAnswer answer) {
      std::lock_guard lock(mutex_);
      (answer.refusal ? refused_ : admitted_)++;
      if (answer.refusal) last_status_ = answer.refusal->status;
      changed_.notify_all();
    };
  }
  void wait_for(int total) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return admitted_ + refused_ >= total; });
  }
  int admitted() const { return admitted_; }
  int refused() const { return refused_; }
  int last_status() const { return last_status_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int admitted_ = 0, refused_ = 0, last_status_ = 0;
};

class CheckServiceTest : public ::testing::Test {
 protected:
  core::FakeClock clock{core::UnixNanos(std::chrono::seconds(1'800'000'000 - 1'800'000'000 % 60))};
  std::unique_ptr<store::SqliteAccountStore> accounts =
      *store::SqliteAccountStore::open(":memory:", clock);
  store::MemoryCounterStore counters;
  metrics::GatewayMetrics metrics;
  metrics::UsageHistory usage;
  config::ConfigSource running{std::make_shared<const config::RunningConfig>(
      config_with("plans:\n  free: {api_requests_per_minute: 50}\n"))};
  CheckService service{CheckDeps{counters, *accounts, metrics, usage, clock, running}};

  CheckQuery query_for(const std::string& key) {
    CheckQuery q;
    q.key_kind = decision::PresentedCredential::Kind::key;
    q.key = key;
    q.selectors = {LimitSelector{.kind = LimitSelector::Kind::plan}};
    return q;
  }
};

TEST_F(CheckServiceTest, ConcurrentSubmittersGetExactlyTheLimit) {
  accounts->put_account({"acct_1", "free", {}});
  const std::string key = accounts->create_key("acct_1", store::KeyEnvironment::live)->key;
  service.start();
  Answers answers;
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&] {
      for (int i = 0; i < 25; ++i) service.submit(query_for(key), answers.collector());
    });
  }
  for (auto& s : submitters) s.join();
  answers.wait_for(100);
  EXPECT_EQ(answers.admitted(), 50);
  EXPECT_EQ(answers.refused(), 50);
  EXPECT_EQ(answers.last_status(), 429);
}

TEST_F(CheckServiceTest, DecidedNowFromManyThreadsIsExact) {
  accounts->put_account({"acct_1", "free", {}});
  const std::string key = accounts->create_key("acct_1", store::KeyEnvironment::live)->key;
  service.start();
  // The first check misses the shared cache and is decided on the service's thread.
  EXPECT_FALSE(service.decide_now(query_for(key)));
  Answers first;
  service.submit(query_for(key), first.collector());
  first.wait_for(1);
  ASSERT_EQ(first.admitted(), 1);
  // From then on, every thread is answered at once, from one budget.
  std::atomic<int> admitted{0}, refused{0}, undecided{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto answer = service.decide_now(query_for(key));
        if (!answer)
          ++undecided;
        else
          (answer->refusal ? refused : admitted)++;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(undecided, 0);
  EXPECT_EQ(admitted, 49);
  EXPECT_EQ(refused, 51);
}

TEST_F(CheckServiceTest, UnknownKeysAreRefusedAtOnceOnceKnownUnknown) {
  service.start();
  const std::string made_up = "sk_live_" + std::string(43, 'm');
  EXPECT_FALSE(service.decide_now(query_for(made_up)));  // a lookup is needed first
  Answers answers;
  service.submit(query_for(made_up), answers.collector());
  answers.wait_for(1);
  EXPECT_EQ(answers.last_status(), 401);
  auto again = service.decide_now(query_for(made_up));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->refusal->status, 401);
  // Not even shaped like a key: refused without any lookup.
  auto malformed = service.decide_now(query_for("not-a-key"));
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->refusal->status, 401);
}

TEST_F(CheckServiceTest, PlanChangeAppliesToTheNextCheck) {
  accounts->put_account({"acct_1", "free", {}});
  const std::string key = accounts->create_key("acct_1", store::KeyEnvironment::live)->key;
  service.start();
  running.publish(std::make_shared<const config::RunningConfig>(
      config_with("plans:\n  free: {api_requests_per_minute: 1}\n")));
  Answers answers;
  service.submit(query_for(key), answers.collector());
  service.submit(query_for(key), answers.collector());
  answers.wait_for(2);
  EXPECT_EQ(answers.admitted(), 1);
}

TEST_F(CheckServiceTest, QueriesNeverDecidedAreAnswered503OnStop) {
  Answers answers;
  // Never started: the queries wait in the queue until stop() drops them.
  service.submit(query_for("sk_live_x"), answers.collector());
  service.submit(query_for("sk_live_x"), answers.collector());
  service.stop();
  answers.wait_for(2);
  EXPECT_EQ(answers.refused(), 2);
  EXPECT_EQ(answers.last_status(), 503);
}

}  // namespace
}  // namespace gw::check

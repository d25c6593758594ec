#include "store/redis/redis_subscriber.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <future>

#include "testing/loop_thread.h"
#include "testing/redis_server.h"

namespace gw::store::redis {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);  // poll interval
  }
  return true;
}

class RedisSubscriberTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& urls) {
    ClientOptions options;
    for (const auto& url : urls) options.seeds.push_back(*parse_redis_url(url));
    options.timeout = 200ms;
    std::promise<void> made;
    boost::asio::post(loop_.executor(), [&] {
      subscriber_ = std::make_unique<RedisSubscriber>(loop_.executor(), options, "kg:test",
                                                      [this] { ++changes_; });
      subscriber_->start();
      made.set_value();
    });
    made.get_future().get();
  }
  void TearDown() override {
    loop_.stop();
    if (subscriber_) subscriber_->close();
  }

  testing::LoopThread loop_;
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::atomic<int> changes_{0};
};

TEST_F(RedisSubscriberTest, HearsEveryMessageAndEverySubscription) {
  testing::RedisServer server;
  start({server.url()});
  ASSERT_TRUE(eventually([&] { return changes_ == 1; }));  // subscribed: assume anything changed
  EXPECT_EQ(server.command({"PUBLISH", "kg:test", "acme"}), "1");
  EXPECT_TRUE(eventually([&] { return changes_ == 2; }));
  server.kill();
  server.restart();
  EXPECT_TRUE(eventually([&] { return changes_ == 3; }));  // subscribed again
}

TEST_F(RedisSubscriberTest, MovesToTheNextSeedWhenItsSeedStaysAway) {
  testing::RedisServer first;
  testing::RedisServer second;
  start({first.url(), second.url()});
  ASSERT_TRUE(eventually([&] { return changes_ == 1; }));
  EXPECT_EQ(second.command({"PUBLISH", "kg:test", "x"}), "0");  // nobody listens there yet
  first.kill();
  // Subscribed on the second seed (a PUBLISH there reaches one subscriber), and told so:
  // one change for the first subscription, one for the second, one per message heard.
  ASSERT_TRUE(eventually([&] { return second.command({"PUBLISH", "kg:test", "probe"}) == "1"; }));
  EXPECT_TRUE(eventually([&] { return changes_ >= 3; }));
}

}  // namespace
}  // namespace gw::store::redis

#include "store/redis/redis_subscriber.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "store/redis/redis_connection.h"
#include "store/redis/resp.h"

namespace gw::store::redis {

namespace {

// Failed connection attempts to one seed before the next seed is tried.
constexpr int kFailuresBeforeNextSeed = 2;

}  // namespace

RedisSubscriber::RedisSubscriber(boost::asio::any_io_executor loop, const ClientOptions& options,
                                 std::string channel, std::function<void()> on_change)
    : loop_(std::move(loop)),
      options_(options),
      channel_(std::move(channel)),
      on_change_(std::move(on_change)) {
  options_.scripts.clear();
  // Subscribing is not on any request's path: give a slow server more room than a check.
  options_.timeout = std::max(options_.timeout, std::chrono::milliseconds(1000));
  connect_to(0);
}

RedisSubscriber::~RedisSubscriber() { close(); }

void RedisSubscriber::connect_to(std::size_t seed) {
  seed_ = seed;
  failures_ = 0;
  connection_ = std::make_shared<RedisConnection>(
      loop_, options_.seeds[seed], options_, stats_,
      [](PendingCommand&& command, const redisReply* reply) {
        if (command.callback) command.callback(reply);
      },
      [this](bool up) { on_state(up); });
  connection_->set_push_sink([this](const redisReply*) { on_change_(); });
}

void RedisSubscriber::on_state(bool up) {
  subscribed_ = false;
  if (!up) {
    // A seed that stays away (a dead cluster node) must not leave this instance deaf:
    // changes published through any node reach every node's subscribers, so move on.
    if (++failures_ >= kFailuresBeforeNextSeed && options_.seeds.size() > 1 && !closed_) {
      boost::asio::post(loop_, [this, failed = connection_] {
        if (closed_ || failed != connection_) return;
        failed->close();
        connect_to((seed_ + 1) % options_.seeds.size());
        spdlog::warn("redis: change subscription moves to {}", options_.seeds[seed_].address());
        connection_->start();
      });
    }
    return;
  }
  failures_ = 0;
  PendingCommand subscribe;
  const std::string_view args[] = {"SUBSCRIBE", channel_};
  subscribe.bytes = format_command(args);
  subscribe.callback = [this](ReplyResult result) {
    if (!result || is_error(*result)) {
      spdlog::warn("redis: SUBSCRIBE {} failed", channel_);
      return;
    }
    subscribed_ = true;
    on_change_();  // whatever was published while we were away is lost
  };
  connection_->send(std::move(subscribe));
}

void RedisSubscriber::start() { connection_->start(); }

void RedisSubscriber::close() {
  closed_ = true;
  if (connection_) connection_->close();
}

}  // namespace gw::store::redis

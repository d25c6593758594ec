#include "store/redis/redis_subscriber.h"

#include <spdlog/spdlog.h>

#include "store/redis/redis_connection.h"
#include "store/redis/resp.h"

namespace gw::store::redis {

RedisSubscriber::RedisSubscriber(boost::asio::any_io_executor loop, const ClientOptions& options,
                                 std::string channel, std::function<void()> on_change)
    : options_(options), channel_(std::move(channel)), on_change_(std::move(on_change)) {
  options_.scripts.clear();
  // Subscribing is not on any request's path: give a slow server more room than a check.
  options_.timeout = std::max(options_.timeout, std::chrono::milliseconds(1000));
  connection_ = std::make_shared<RedisConnection>(
      std::move(loop), options_.seeds.front(), options_, stats_,
      [](PendingCommand&& command, const redisReply* reply) {
        if (command.callback) command.callback(reply);
      },
      [this](bool up) {
        subscribed_ = false;
        if (!up) return;
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
      });
  connection_->set_push_sink([this](const redisReply*) { on_change_(); });
}

RedisSubscriber::~RedisSubscriber() { close(); }

void RedisSubscriber::start() { connection_->start(); }

void RedisSubscriber::close() {
  if (connection_) connection_->close();
}

}  // namespace gw::store::redis

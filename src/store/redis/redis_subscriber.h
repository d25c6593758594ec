// Listens to one pub/sub channel on a connection of its own and calls `on_change` for
// every message, and also whenever it (re)subscribes: messages published while it was
// disconnected are lost (pub/sub is at-most-once), so the listener must assume anything
// may have changed. Reconnects by itself (RedisConnection's backoff).
//
// In a Redis Cluster, PUBLISH reaches every node, so one subscription to the first seed
// hears changes made through any node.
//
// Not thread-safe: construct, start() and close() on `loop`'s thread (or before it runs);
// on_change runs on `loop`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "store/redis/redis_client.h"

namespace gw::store::redis {

class RedisConnection;

class RedisSubscriber {
 public:
  RedisSubscriber(boost::asio::any_io_executor loop, const ClientOptions& options,
                  std::string channel, std::function<void()> on_change);
  ~RedisSubscriber();

  void start();
  void close();
  bool subscribed() const noexcept { return subscribed_; }

 private:
  ClientOptions options_;  // no scripts: a subscriber runs nothing else
  ClientStats stats_;
  std::string channel_;
  std::function<void()> on_change_;
  std::shared_ptr<RedisConnection> connection_;
  bool subscribed_ = false;
};

}  // namespace gw::store::redis

// Listens to one pub/sub channel on a connection of its own and calls `on_change` for
// every message, and also whenever it (re)subscribes: messages published while it was
// disconnected are lost (pub/sub is at-most-once), so the listener must assume anything
// may have changed. Reconnects by itself (RedisConnection's backoff).
//
// In a Redis Cluster, PUBLISH reaches every node, so one subscription to one seed hears
// changes made through any node. It starts with the first seed and, if that one keeps
// failing (two attempts in a row), moves on to the next.
//
// Not thread-safe: construct, start() and close() on `loop`'s thread (or before it runs);
// on_change runs on `loop`.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

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
  void connect_to(std::size_t seed);
  void on_state(bool up);

  boost::asio::any_io_executor loop_;
  ClientOptions options_;  // no scripts: a subscriber runs nothing else
  ClientStats stats_;
  std::string channel_;
  std::function<void()> on_change_;
  std::shared_ptr<RedisConnection> connection_;
  bool subscribed_ = false;
  bool closed_ = false;
  std::size_t seed_ = 0;
  int failures_ = 0;  // connection failures in a row on the current seed
};

}  // namespace gw::store::redis

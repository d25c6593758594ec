// A real 3-master Redis Cluster on loopback for unit tests: three redis-server processes
// with --cluster-enabled, joined by `redis-cli --cluster create`. Construction returns
// once every node reports cluster_state:ok (polled; no fixed sleeps).
#pragma once

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing/redis_server.h"

namespace gw::testing {

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3) {
    for (int i = 0; i < masters; ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-node-timeout", "5000"}));
    }
    std::string create = "redis-cli --cluster create";
    for (const auto& node : nodes_) create += " 127.0.0.1:" + std::to_string(node->port());
    create += " --cluster-replicas 0 --cluster-yes >/dev/null 2>&1";
    if (std::system(create.c_str()) != 0) throw std::runtime_error("redis-cli --cluster create failed");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!all_ok()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("RedisCluster: cluster_state never became ok");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
    }
  }

  RedisServer& node(std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const noexcept { return nodes_.size(); }
  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (const auto& node : nodes_) out.push_back(node->url());
    return out;
  }

 private:
  bool all_ok() const {
    for (const auto& node : nodes_) {
      if (node->command({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace gw::testing

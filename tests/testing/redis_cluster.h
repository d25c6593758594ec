// A real Redis Cluster on loopback for unit tests: redis-server processes with
// --cluster-enabled, joined by `redis-cli --cluster create`. Three masters by default;
// with `replicas` (per master), each master gets that many replicas and the cluster fails
// over quickly (`node_timeout_ms`, cluster-replica-validity-factor 0: any replica may take
// over, however old its data). Construction returns once every node reports
// cluster_state:ok and every replica is in sync with its master (polled; no fixed sleeps).
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/redis_server.h"

namespace gw::testing {

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3, int replicas = 0, int node_timeout_ms = 5000) {
    std::vector<std::string> args{"--cluster-enabled", "yes", "--cluster-node-timeout",
                                  std::to_string(node_timeout_ms)};
    if (replicas > 0) {
      // No wait before a replica's first full sync (the default waits 5 s for others).
      args.insert(args.end(),
                  {"--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0"});
    }
    for (int i = 0; i < masters * (1 + replicas); ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(args));
    }
    std::string create = "redis-cli --cluster create";
    for (const auto& node : nodes_) create += " 127.0.0.1:" + std::to_string(node->port());
    create += " --cluster-replicas " + std::to_string(replicas) + " --cluster-yes >/dev/null 2>&1";
    if (std::system(create.c_str()) != 0)
      throw std::runtime_error("redis-cli --cluster create failed");
    alive_.assign(nodes_.size(), true);
    wait_for([&] { return all_ok() && replicas_in_sync(); }, "cluster ok, replicas in sync");
  }

  RedisServer& node(std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const noexcept { return nodes_.size(); }
  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (const auto& node : nodes_) out.push_back(node->url());
    return out;
  }

  // The index of the node serving `slot` as master now, as node `asked` sees it.
  std::optional<std::size_t> master_of(int slot, std::size_t asked) const {
    for (const NodeLine& line : cluster_nodes(asked)) {
      if (!line.master || line.failed) continue;
      for (const auto& [first, last] : line.ranges) {
        if (first <= slot && slot <= last) return index_of(line.port);
      }
    }
    return std::nullopt;
  }

  // The index of a replica of node `master`, as `master` sees it.
  std::optional<std::size_t> replica_of(std::size_t master) const {
    const std::string id = nodes_.at(master)->command({"CLUSTER", "MYID"});
    for (const NodeLine& line : cluster_nodes(master)) {
      if (line.master_id == id) return index_of(line.port);
    }
    return std::nullopt;
  }

  bool is_master(std::size_t i) const {
    return nodes_.at(i)->command({"INFO", "replication"}).find("role:master") != std::string::npos;
  }

  // SIGKILL: the node is gone without a word (no MOVED, connections reset).
  void kill(std::size_t i) {
    nodes_.at(i)->kill();
    alive_.at(i) = false;
  }

  // SIGSTOP / SIGCONT: the node keeps its connections and answers nothing meanwhile (the
  // helpers here leave it alone until it continues).
  void pause(std::size_t i) {
    nodes_.at(i)->pause();
    alive_.at(i) = false;
  }
  void resume(std::size_t i) {
    nodes_.at(i)->resume();
    alive_.at(i) = true;
  }

  // CLUSTER SLOTS commands served so far, summed over the nodes that answer but `except`.
  long long cluster_slots_calls(std::optional<std::size_t> except = std::nullopt) const {
    long long calls = 0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i] || i == except) continue;
      const std::string stats = nodes_[i]->command({"INFO", "commandstats"});
      const auto at = stats.find("cmdstat_cluster|slots:calls=");
      if (at != std::string::npos) calls += std::atoll(stats.c_str() + at + 28);
    }
    return calls;
  }

  // Every node still running reports cluster_state:ok.
  bool all_ok() const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i]) continue;
      if (nodes_[i]->command({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  // Polls `done` every 20 ms for at most `timeout`; throws naming `what` if it never holds.
  template <typename Predicate>
  static void wait_for(Predicate done, const char* what,
                       std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error(std::string("RedisCluster: timed out waiting for ") + what);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
    }
  }

  // Every replica's link to its master is up and it has all its master has written.
  bool replicas_in_sync() const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i]) continue;
      const std::string info = nodes_[i]->command({"INFO", "replication"});
      if (info.find("role:slave") == std::string::npos) continue;
      if (info.find("master_link_status:up") == std::string::npos) return false;
      const auto port_at = info.find("master_port:");
      const auto offset_at = info.find("slave_repl_offset:");
      if (port_at == std::string::npos || offset_at == std::string::npos) return false;
      const int master_port = std::atoi(info.c_str() + port_at + 12);
      const long long offset = std::atoll(info.c_str() + offset_at + 18);
      for (const auto& node : nodes_) {
        if (node->port() != master_port) continue;
        const std::string master = node->command({"INFO", "replication"});
        const auto at = master.find("master_repl_offset:");
        if (at == std::string::npos || std::atoll(master.c_str() + at + 19) != offset) return false;
      }
    }
    return true;
  }

 private:
  // One line of CLUSTER NODES: "<id> <ip:port@bus> <flags> <master id|-> ... <slots>...".
  struct NodeLine {
    std::uint16_t port = 0;
    bool master = false;
    bool failed = false;
    std::string master_id;
    std::vector<std::pair<int, int>> ranges;
  };

  std::vector<NodeLine> cluster_nodes(std::size_t asked) const {
    std::vector<NodeLine> lines;
    std::istringstream text(nodes_.at(asked)->command({"CLUSTER", "NODES"}));
    for (std::string row; std::getline(text, row);) {
      std::istringstream fields(row);
      std::string id, address, flags, master_id, ping, pong, epoch, link;
      if (!(fields >> id >> address >> flags >> master_id >> ping >> pong >> epoch >> link)) {
        continue;
      }
      NodeLine line;
      line.port = static_cast<std::uint16_t>(std::atoi(address.c_str() + address.find(':') + 1));
      line.master = flags.find("master") != std::string::npos;
      line.failed = ("," + flags + ",").find(",fail,") != std::string::npos;
      line.master_id = master_id;
      for (std::string range; fields >> range;) {
        if (range.starts_with("[")) continue;  // a slot being migrated
        const auto dash = range.find('-');
        const int first = std::atoi(range.c_str());
        line.ranges.emplace_back(
            first, dash == std::string::npos ? first : std::atoi(range.c_str() + dash + 1));
      }
      lines.push_back(std::move(line));
    }
    return lines;
  }

  std::optional<std::size_t> index_of(std::uint16_t port) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->port() == port) return i;
    }
    return std::nullopt;
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<bool> alive_;  // false once kill()ed
};

}  // namespace gw::testing

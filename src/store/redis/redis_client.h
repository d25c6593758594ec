// The gateway's Redis client: the Redis protocol (hiredis's reader and formatter) on the
// gateway's own Asio event loops, standalone or Redis Cluster.
//
// - One connection per (event loop, Redis node), created on first use from that loop: no
//   thread per request, no lock on the request path, no blocking call on a loop.
// - Automatic pipelining: every command issued during one turn of a loop goes out in one
//   write; replies are matched to callers in order.
// - Cluster: the first node's CLUSTER SLOTS tells whether it is a cluster; commands go to
//   the node owning their key's slot, MOVED updates the slot map (and refreshes it), ASK
//   is followed once with ASKING. A standalone server serves every slot.
// - Failures: a command that gets no reply within `timeout` completes with
//   StoreErrc::timeout (its late reply is discarded when it comes); a broken connection
//   fails what it holds with `unavailable` and reconnects by itself with backoff; while a
//   node is down, commands for it fail at once instead of queueing.
// - Failover: a master that dies or hangs never answers MOVED, so each loop also asks for
//   the slot map (CLUSTER SLOTS) when a node fails, is found down, or times out, and on
//   CLUSTERDOWN: asked of another known node (the seeds and every master learnt from the
//   map; one that is up first, never the suspect unless it is the only one), at most one
//   refresh in flight and one started per 200 ms (SlotRefreshPacer), so a dead node under
//   traffic costs five refreshes a second per loop, not one per command. Periodically too:
//   every 500 ms while a node that serves slots is down (a loop without traffic finds the
//   promoted replica by itself), every 5 s otherwise. A changed map is logged once per
//   process; failed refreshes are throttled. Only nodes that serve slots count toward
//   healthy(): a seed that lost its slots to its replica, dead for good, does not keep the
//   client unhealthy; a learnt one is no longer reconnected to.
//
// Thread-safety: every method may be called from any thread. A command's callback runs on
// the loop of the executor it was issued with, never inline from the call. The request
// path takes no lock: routing, failure detection and refresh pacing are per loop.
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/result.h"
#include "store/counter_store.h"
#include "store/redis/cluster_slots.h"
#include "store/redis/script.h"
#include "store/redis_url.h"

namespace gw::store::redis {

// The seeds' type and parser are store/'s (config's check uses the same parser); the
// redis:: names remain for the code that spells them so.
using store::parse_redis_url;
using store::RedisUrl;

// The reply is valid only during the callback. An error reply (REDIS_REPLY_ERROR) is a
// reply, not a StoreError: it is the command's answer.
using ReplyResult = core::Result<const redisReply*, StoreError>;
using ReplyCallback = std::function<void(ReplyResult)>;

struct ClientOptions {
  std::vector<RedisUrl> seeds;  // one: standalone or any cluster node; several: cluster nodes
  std::chrono::milliseconds timeout{50};
  std::vector<const Script*> scripts;  // loaded on every connection; must outlive the client
};

// Counters of the client's work, for /metrics and benchmarks. Monotonic.
struct ClientStats {
  std::atomic<std::uint64_t> commands{0};   // commands sent (each EVALSHA counts once)
  std::atomic<std::uint64_t> writes{0};     // socket writes (pipelining: commands / writes)
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> redirects{0};  // MOVED and ASK followed
  std::atomic<std::uint64_t> reconnects{0};
};

class RedisClient {
 public:
  explicit RedisClient(ClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends `args` to the node that owns `key` (its hash tag's slot; empty: any node).
  void command(const boost::asio::any_io_executor& loop, std::string_view key,
               std::span<const std::string_view> args, ReplyCallback callback);

  // EVALSHA script numkeys keys... args...; routed by keys[0]. EVAL on NOSCRIPT.
  void eval(const boost::asio::any_io_executor& loop, const Script& script,
            std::span<const std::string_view> keys, std::span<const std::string_view> args,
            ReplyCallback callback);

  // True while the last connection attempt of any loop succeeded and no connection has
  // failed since (for /readyz), counting only the nodes that serve slots (every seed
  // until the map is known, and in standalone mode). False before the first connection.
  bool healthy() const noexcept;

  const ClientStats& stats() const noexcept;
  const ClientOptions& options() const noexcept;

  // Closes every connection; commands issued afterwards are dropped (their loops have
  // stopped: nobody could hear an answer). Call from a thread that runs none of the
  // loops, after those loops have stopped and before they are destroyed.
  void shutdown();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gw::store::redis

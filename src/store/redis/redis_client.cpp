#include "store/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>

#include "core/log_throttle.h"
#include "store/redis/redis_connection.h"
#include "store/redis/resp.h"
#include "store/redis/slot_refresh_pacer.h"

namespace gw::store::redis {

namespace net = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxRedirects = 5;
constexpr std::uint16_t kNoNode = 0xffff;

std::atomic<std::uint64_t> next_client_id{1};

// The slot map last logged by any client of the process (a fingerprint): each loop learns
// every new map on its own, and one line per change says all there is.
std::atomic<std::uint64_t> last_logged_map{0};

// EVALSHA <sha> ... rewritten as EVAL <body> ...: the rest of the command is unchanged.
std::optional<std::string> as_eval(std::string_view evalsha, const Script& script) {
  const auto header_end = evalsha.find("\r\n");
  if (header_end == std::string_view::npos) return std::nullopt;
  const std::string prefix = "$7\r\nEVALSHA\r\n$40\r\n" + std::string(script.sha1()) + "\r\n";
  std::string_view rest = evalsha.substr(header_end + 2);
  if (!rest.starts_with(prefix)) return std::nullopt;
  rest.remove_prefix(prefix.size());
  std::string eval(evalsha.substr(0, header_end + 2));
  eval += "$4\r\nEVAL\r\n$";
  eval += std::to_string(script.body().size());
  eval += "\r\n";
  eval += script.body();
  eval += "\r\n";
  eval += rest;
  return eval;
}

// FNV-1a, to fingerprint a slot map.
void mix(std::uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
}

}  // namespace

// What the loops of one client share: its options, its counters, the health count (over
// every loop's connections) and the throttle of refresh failures. Atomics only.
struct ClientShared {
  explicit ClientShared(ClientOptions opts) : options(std::move(opts)) {}

  ClientOptions options;
  ClientStats stats;
  std::atomic<int> up{0};    // connections up, of nodes that count (see LoopClient::Node)
  std::atomic<int> down{0};  // connections down, of the same
  core::LogThrottle refresh_failures;
};

// Everything one event loop needs to reach Redis: a connection per node and the slot map.
// Touched only on its loop (see RedisClient::Impl::submit).
class LoopClient : public std::enable_shared_from_this<LoopClient> {
 public:
  LoopClient(net::any_io_executor loop, ClientShared& shared)
      : loop_(std::move(loop)), shared_(shared), refresh_timer_(loop_) {
    slots_.fill(kNoNode);
  }

  void send(PendingCommand command, std::optional<std::uint16_t> slot) {
    if (closed_) {
      command.callback = {};  // the loops are gone; nobody waits
      return;
    }
    if (nodes_.empty()) start();
    const std::uint16_t node = slot ? owner(*slot) : keyless_node();
    // The connection fails it at once; in a cluster, the node's slots may have a new
    // master by now (a dead master never answers MOVED).
    if (nodes_[node].health == Health::down || nodes_[node].retired) suspect(node);
    nodes_[node].connection->send(std::move(command));
  }

  void close() {
    closed_ = true;
    refresh_timer_.cancel();
    for (auto& node : nodes_) node.connection->close();
  }

 private:
  enum class Mode { unknown, standalone, cluster };
  enum class Health { unknown, up, down };

  struct Node {
    std::shared_ptr<RedisConnection> connection;
    Health health = Health::unknown;
    // Counts toward RedisClient::healthy(): a seed while the map is unknown (and in
    // standalone mode); in a cluster, a master that serves slots. A seed that is only a
    // replica, or a master that lost its slots to its replica, does not make the client
    // unhealthy.
    bool counted = false;
    bool seed = false;
    bool retired = false;  // learnt, serves no slot and is down: its connection is closed
  };

  void start() {
    for (const RedisUrl& seed : shared_.options.seeds) {
      const std::uint16_t index = node_index(seed);
      nodes_[index].seed = true;
      update(index, nodes_[index].health, true);
    }
    poke();  // the first refresh is due at once: is this a cluster, and its map
  }

  std::uint16_t owner(std::uint16_t slot) const noexcept {
    return slots_[slot] != kNoNode ? slots_[slot] : 0;
  }

  // Keyless commands (PING, PUBLISH) may go to any node: the first seed, unless it is down.
  std::uint16_t keyless_node() const noexcept {
    if (nodes_[0].health != Health::down) return 0;
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      if (nodes_[i].health == Health::up && !nodes_[i].retired)
        return static_cast<std::uint16_t>(i);
    }
    return 0;
  }

  // --- The slot map: refreshed when a node fails or times out, and periodically -------

  // `node` failed, timed out or was found down: ask the others for the map soon.
  void suspect(std::uint16_t node) {
    if (mode_ == Mode::standalone || closed_) return;
    avoid_ = node;
    pacer_.want();
    poke();
  }

  bool degraded() const noexcept { return mode_ == Mode::unknown || serving_down_ > 0; }

  // Starts a refresh if one is due now, else makes sure the timer fires when one is.
  void poke() {
    if (closed_ || mode_ == Mode::standalone) return;
    if (pacer_.try_start(Clock::now(), degraded())) return refresh();
    const Clock::time_point due = pacer_.due(degraded());
    if (due == Clock::time_point::max()) return;  // in flight: its end pokes again
    if (timer_armed_ && timer_at_ <= due) return;
    timer_armed_ = true;
    timer_at_ = due;
    refresh_timer_.expires_at(due);
    refresh_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        self->timer_armed_ = false;
        self->poke();
      }
    });
  }

  void refresh() {
    const std::uint16_t source = pick_source();
    PendingCommand command;
    const std::string_view args[] = {"CLUSTER", "SLOTS"};
    command.bytes = format_command(args);
    command.callback = [weak = weak_from_this(), source](ReplyResult result) {
      if (auto self = weak.lock()) self->on_slots(source, result);
    };
    nodes_[source].connection->send(std::move(command));
  }

  // Round robin over the known nodes (the seeds and the masters learnt from the map),
  // preferring one that is up, then one not yet tried, and not the node under suspicion.
  std::uint16_t pick_source() {
    const std::size_t n = nodes_.size();
    std::size_t best = 0;
    int best_rank = std::numeric_limits<int>::max();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (cursor_ + k) % n;
      const Node& node = nodes_[i];
      if (node.retired) continue;
      const int rank = (node.health == Health::up        ? 0
                        : node.health == Health::unknown ? 1
                                                         : 2) +
                       (i == avoid_ ? 3 : 0);
      if (rank < best_rank) {
        best = i;
        best_rank = rank;
      }
    }
    cursor_ = best + 1;
    return static_cast<std::uint16_t>(best);
  }

  void on_slots(std::uint16_t source, const ReplyResult& result) {
    if (closed_) return;
    pacer_.finished();
    if (!result) {
      refresh_failed(source, result.error().detail);
    } else if (is_error(*result)) {
      if (mode_ == Mode::unknown) {
        mode_ = Mode::standalone;  // not a cluster: node 0 serves everything
        refresh_timer_.cancel();
        timer_armed_ = false;
        return;
      }
      refresh_failed(source, reply_text(*result));
    } else if (auto ranges =
                   parse_cluster_slots(*result, nodes_[source].connection->endpoint().host)) {
      apply(*ranges);
    } else {
      refresh_failed(source, "unreadable reply");
    }
    poke();  // the next one: periodic, or soon if something wanted it meanwhile
  }

  void refresh_failed(std::uint16_t source, std::string_view why) {
    avoid_ = source;
    if (auto held_back = shared_.refresh_failures.admit()) {
      spdlog::warn("redis: CLUSTER SLOTS from {} failed: {} ({} similar lines held back)",
                   nodes_[source].connection->endpoint().address(), why, *held_back);
    }
  }

  struct Move {
    std::uint16_t from = kNoNode;
    std::uint16_t to = kNoNode;
    std::uint32_t slots = 0;
  };

  void apply(const std::vector<SlotRange>& ranges) {
    const bool first = mode_ != Mode::cluster;
    mode_ = Mode::cluster;
    std::vector<Move> moves;
    for (const SlotRange& range : ranges) {
      RedisUrl url = shared_.options.seeds.front();  // credentials are the cluster's
      url.host = range.host;
      url.port = range.port;
      url.db = 0;
      const std::uint16_t node = node_index(url);
      for (std::uint32_t s = range.first; s <= range.last; ++s) {
        const std::uint16_t before = slots_[s];
        if (before == node) continue;
        // A node known to be down does not take slots from one that is up: the answer
        // came from a node that has not heard of a failover yet (a MOVED still would).
        if (before != kNoNode && nodes_[before].health == Health::up &&
            nodes_[node].health == Health::down) {
          continue;
        }
        slots_[s] = node;
        auto it = std::find_if(moves.begin(), moves.end(),
                               [&](const Move& m) { return m.from == before && m.to == node; });
        if (it == moves.end()) it = moves.insert(moves.end(), Move{before, node, 0});
        ++it->slots;
      }
    }
    // Slots the reply left out keep the owner they had: a map with holes says nothing new.
    std::vector<std::uint32_t> owned(nodes_.size(), 0);
    for (const std::uint16_t node : slots_) {
      if (node != kNoNode) ++owned[node];
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto index = static_cast<std::uint16_t>(i);
      update(index, nodes_[i].health, owned[i] > 0);
      if (owned[i] == 0 && !nodes_[i].seed && nodes_[i].health == Health::down) retire(index);
    }
    if (!moves.empty()) log_map(moves, owned, first);
  }

  void log_map(const std::vector<Move>& moves, const std::vector<std::uint32_t>& owned,
               bool first) {
    std::uint64_t print = 0xcbf29ce484222325ULL;
    std::size_t ranges = 0;
    for (std::size_t s = 0; s < kClusterSlots; ++s) {
      if (s > 0 && slots_[s] == slots_[s - 1]) continue;
      ++ranges;
      mix(print, std::to_string(s));
      mix(print, slots_[s] == kNoNode ? "-" : nodes_[slots_[s]].connection->endpoint().address());
    }
    if (last_logged_map.exchange(print, std::memory_order_relaxed) == print) return;
    const auto masters = std::count_if(owned.begin(), owned.end(), [](auto n) { return n > 0; });
    std::string text =
        fmt::format("redis: cluster slot map: {} ranges on {} masters", ranges, masters);
    if (first) {
      std::string list;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (owned[i] == 0) continue;
        list += (list.empty() ? "" : ", ") + nodes_[i].connection->endpoint().address();
      }
      text += " (" + list + ")";
    }
    for (const Move& move : moves) {
      const std::string to = nodes_[move.to].connection->endpoint().address();
      if (move.from == kNoNode) {
        if (!first) text += fmt::format("; {} slots now on {}", move.slots, to);
        continue;
      }
      const std::string from = nodes_[move.from].connection->endpoint().address();
      if (owned[move.from] == 0) {
        text += fmt::format("; node {} replaced by {} ({} slots)", from, to, move.slots);
      } else {
        text += fmt::format("; {} slots moved from {} to {}", move.slots, from, to);
      }
    }
    spdlog::info("{}", text);
  }

  // A learnt node that serves nothing and is down (a master whose replica took over) is
  // not worth reconnecting to; it comes back (as a new connection) if a map names it again.
  void retire(std::uint16_t index) {
    Node& node = nodes_[index];
    if (node.retired) return;
    update(index, Health::unknown, false);
    node.retired = true;
    // Not from inside the connection's own callbacks (this may run in one).
    net::post(loop_, [connection = node.connection] { connection->close(); });
  }

  // --- Nodes and their health ---------------------------------------------------------

  std::uint16_t node_index(const RedisUrl& url) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const RedisUrl& known = nodes_[i].connection->endpoint();
      if (known.host == url.host && known.port == url.port) {
        const auto index = static_cast<std::uint16_t>(i);
        if (nodes_[i].retired) {
          nodes_[i].retired = false;
          nodes_[i].connection = connect(index, url);
        }
        return index;
      }
    }
    const auto index = static_cast<std::uint16_t>(nodes_.size());
    nodes_.push_back(Node{});
    nodes_.back().connection = connect(index, url);
    return index;
  }

  std::shared_ptr<RedisConnection> connect(std::uint16_t index, const RedisUrl& url) {
    std::weak_ptr<LoopClient> weak = weak_from_this();
    auto connection = std::make_shared<RedisConnection>(
        loop_, url, shared_.options, shared_.stats,
        [weak, index](PendingCommand&& command, const redisReply* reply) {
          if (auto self = weak.lock()) self->on_reply(index, std::move(command), reply);
        },
        [weak, index](bool up) {
          if (auto self = weak.lock()) self->on_state(index, up);
        });
    connection->set_timeout_sink([weak, index] {
      if (auto self = weak.lock()) self->on_timeout(index);
    });
    connection->start();
    return connection;
  }

  // The one place the client's health count changes: what `index` adds to it goes from
  // (its health, counted) before to (`health`, `counted`) after.
  void update(std::uint16_t index, Health health, bool counted) {
    Node& node = nodes_[index];
    const int up_before = node.counted && node.health == Health::up;
    const int down_before = node.counted && node.health == Health::down;
    node.health = health;
    node.counted = counted;
    const int up_delta = (counted && health == Health::up) - up_before;
    const int down_delta = (counted && health == Health::down) - down_before;
    if (up_delta != 0) shared_.up.fetch_add(up_delta, std::memory_order_relaxed);
    if (down_delta != 0) {
      shared_.down.fetch_add(down_delta, std::memory_order_relaxed);
      serving_down_ += down_delta;
    }
  }

  void on_state(std::uint16_t index, bool up) {
    Node& node = nodes_[index];
    if (node.retired) return;
    const Health next = up ? Health::up : Health::down;
    if (node.health == next) return;
    update(index, next, node.counted);
    if (up) {
      // A seed answers: ask it, unless the first question is still on its way.
      if (mode_ == Mode::unknown && !pacer_.in_flight()) suspect(kNoNode);
      return;
    }
    if (mode_ == Mode::unknown || node.counted) {
      suspect(index);
    } else if (!node.seed && mode_ == Mode::cluster) {
      retire(index);
    }
  }

  void on_timeout(std::uint16_t index) {
    if (!nodes_[index].retired && nodes_[index].counted) suspect(index);
  }

  void on_reply(std::uint16_t from, PendingCommand&& command, const redisReply* reply) {
    if (is_error(reply)) {
      const std::string_view text = reply_text(reply);
      if (command.script && text.starts_with("NOSCRIPT")) {
        // The server lost its script cache (restart, SCRIPT FLUSH): EVAL loads it again.
        if (auto eval = as_eval(command.bytes, *command.script)) {
          command.bytes = std::move(*eval);
          command.script = nullptr;
          nodes_[from].connection->send(std::move(command));
          return;
        }
      }
      if (auto redirect = parse_redirect(text); redirect && command.redirects < kMaxRedirects) {
        shared_.stats.redirects.fetch_add(1, std::memory_order_relaxed);
        RedisUrl url = shared_.options.seeds.front();
        url.host =
            redirect->host.empty() ? nodes_[from].connection->endpoint().host : redirect->host;
        url.port = redirect->port;
        url.db = 0;
        const std::uint16_t node = node_index(url);
        if (!redirect->ask) {
          slots_[redirect->slot] = node;
          update(node, nodes_[node].health, true);  // it serves a slot now
          suspect(kNoNode);                         // other slots probably moved too
        }
        command.asking = redirect->ask;
        ++command.redirects;
        nodes_[node].connection->send(std::move(command));
        return;
      }
      // The cluster lost a master and has not promoted its replica yet: the map is
      // about to change.
      if (text.starts_with("CLUSTERDOWN")) suspect(kNoNode);
    }
    if (command.callback) command.callback(reply);
  }

  net::any_io_executor loop_;
  ClientShared& shared_;
  std::vector<Node> nodes_;  // seeds first, then nodes learnt from the cluster
  std::array<std::uint16_t, kClusterSlots> slots_{};
  Mode mode_ = Mode::unknown;
  bool closed_ = false;
  int serving_down_ = 0;  // nodes that count and are down, on this loop

  SlotRefreshPacer pacer_;
  net::steady_timer refresh_timer_;
  bool timer_armed_ = false;
  Clock::time_point timer_at_{};
  std::size_t cursor_ = 0;       // where pick_source() starts looking
  std::size_t avoid_ = kNoNode;  // the node last suspected: not asked unless alone
};

struct RedisClient::Impl {
  explicit Impl(ClientOptions opts) : shared(std::move(opts)) {}

  ClientShared shared;
  const std::uint64_t id = next_client_id.fetch_add(1);

  std::mutex mutex;  // guards loops (taken once per thread and loop, see loop_for)
  std::vector<std::pair<const void*, std::shared_ptr<LoopClient>>> loops;
  std::atomic<bool> shut{false};

  // The LoopClient of `loop`'s execution context, made on first use.
  LoopClient& loop_for(const net::any_io_executor& loop) {
    const void* context = &net::query(loop, net::execution::context);
    struct Cached {
      std::uint64_t client = 0;
      const void* context = nullptr;
      LoopClient* loop = nullptr;
    };
    thread_local Cached cached;
    if (cached.client == id && cached.context == context) return *cached.loop;
    std::lock_guard lock(mutex);
    LoopClient* found = nullptr;
    for (auto& [ctx, client] : loops) {
      if (ctx == context) found = client.get();
    }
    if (!found) {
      auto client = std::make_shared<LoopClient>(loop, shared);
      found = client.get();
      loops.emplace_back(context, std::move(client));
    }
    cached = Cached{id, context, found};
    return *found;
  }

  void submit(const net::any_io_executor& loop, std::string_view key, PendingCommand command) {
    if (shut.load(std::memory_order_acquire)) return;  // the loops have stopped: nobody waits
    LoopClient& client = loop_for(loop);
    std::optional<std::uint16_t> slot;
    if (!key.empty()) slot = key_slot(key);
    // Inline when called on the loop itself (the request path); posted otherwise.
    net::dispatch(loop, [&client, command = std::move(command), slot]() mutable {
      client.send(std::move(command), slot);
    });
  }
};

RedisClient::RedisClient(ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

RedisClient::~RedisClient() { shutdown(); }

void RedisClient::command(const net::any_io_executor& loop, std::string_view key,
                          std::span<const std::string_view> args, ReplyCallback callback) {
  PendingCommand command;
  command.bytes = format_command(args);
  command.callback = std::move(callback);
  impl_->submit(loop, key, std::move(command));
}

void RedisClient::eval(const net::any_io_executor& loop, const Script& script,
                       std::span<const std::string_view> keys,
                       std::span<const std::string_view> args, ReplyCallback callback) {
  char numkeys[8];
  const auto end = std::to_chars(numkeys, numkeys + sizeof(numkeys), keys.size()).ptr;
  boost::container::small_vector<std::string_view, 48> argv{"EVALSHA", script.sha1(),
                                                            std::string_view(numkeys, end)};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  PendingCommand command;
  command.bytes = format_command(argv);
  command.script = &script;
  command.callback = std::move(callback);
  impl_->submit(loop, keys.empty() ? std::string_view() : keys.front(), std::move(command));
}

bool RedisClient::healthy() const noexcept {
  return impl_->shared.up.load(std::memory_order_relaxed) > 0 &&
         impl_->shared.down.load(std::memory_order_relaxed) == 0;
}

const ClientStats& RedisClient::stats() const noexcept { return impl_->shared.stats; }
const ClientOptions& RedisClient::options() const noexcept { return impl_->shared.options; }

void RedisClient::shutdown() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->shut.exchange(true)) return;
  for (auto& [context, client] : impl_->loops) client->close();
  // Connections still referenced by handlers queued on a stopped loop go when that loop
  // is destroyed (the usual Asio shutdown); the client keeps none past this point.
  impl_->loops.clear();
}

}  // namespace gw::store::redis

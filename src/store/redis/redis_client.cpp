#include "store/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <utility>

#include "store/redis/redis_connection.h"
#include "store/redis/resp.h"

namespace gw::store::redis {

namespace net = boost::asio;

namespace {

constexpr int kMaxRedirects = 5;
constexpr std::uint16_t kNoNode = 0xffff;

std::atomic<std::uint64_t> next_client_id{1};

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

}  // namespace

// Everything one event loop needs to reach Redis: a connection per node and the slot map.
// Touched only on its loop (see RedisClient::Impl::submit).
class LoopClient : public std::enable_shared_from_this<LoopClient> {
 public:
  LoopClient(net::any_io_executor loop, const ClientOptions& options, ClientStats& stats,
             std::function<void(int delta_up, int delta_down)> on_health)
      : loop_(std::move(loop)), options_(options), stats_(stats), on_health_(std::move(on_health)) {
    slots_.fill(kNoNode);
  }

  void send(PendingCommand command, std::optional<std::uint16_t> slot) {
    if (closed_) {
      command.callback = {};  // the loops are gone; nobody waits
      return;
    }
    if (nodes_.empty()) start();
    std::uint16_t node = 0;
    if (slot && slots_[*slot] != kNoNode) node = slots_[*slot];
    nodes_[node].connection->send(std::move(command));
  }

  void close() {
    closed_ = true;
    for (auto& node : nodes_) node.connection->close();
  }

 private:
  struct Node {
    std::shared_ptr<RedisConnection> connection;
    int state = 0;  // 0 unknown, 1 up, -1 down (for the client's health count)
  };

  void start() {
    for (const RedisUrl& seed : options_.seeds) node_index(seed);
    discover();
  }

  // Asks one seed whether this is a cluster, and if so for its slot map.
  void discover() {
    if (discovering_) return;
    discovering_ = true;
    const std::uint16_t asked = static_cast<std::uint16_t>(discover_attempts_++ % nodes_.size());
    PendingCommand command;
    const std::string_view args[] = {"CLUSTER", "SLOTS"};
    command.bytes = format_command(args);
    command.callback = [self = shared_from_this(), asked](ReplyResult result) {
      self->discovering_ = false;
      if (!result) {
        self->rediscover_ = true;
        return;
      }
      const redisReply* reply = *result;
      if (is_error(reply)) {
        self->rediscover_ = false;
        if (self->cluster_) spdlog::warn("redis: CLUSTER SLOTS refused: {}", reply_text(reply));
        return;  // standalone: node 0 serves everything
      }
      const std::string host = self->nodes_[asked].connection->endpoint().host;
      auto ranges = parse_cluster_slots(reply, host);
      if (!ranges) {
        spdlog::warn("redis: unreadable CLUSTER SLOTS reply");
        self->rediscover_ = true;
        return;
      }
      self->apply(*ranges);
    };
    nodes_[asked].connection->send(std::move(command));
  }

  void apply(const std::vector<SlotRange>& ranges) {
    cluster_ = true;
    rediscover_ = false;
    for (const SlotRange& range : ranges) {
      RedisUrl url = options_.seeds.front();  // credentials are the cluster's, not per node
      url.host = range.host;
      url.port = range.port;
      url.db = 0;
      const std::uint16_t node = node_index(url);
      for (std::uint32_t s = range.first; s <= range.last; ++s) slots_[s] = node;
    }
  }

  std::uint16_t node_index(const RedisUrl& url) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const RedisUrl& known = nodes_[i].connection->endpoint();
      if (known.host == url.host && known.port == url.port) return static_cast<std::uint16_t>(i);
    }
    const auto index = static_cast<std::uint16_t>(nodes_.size());
    std::weak_ptr<LoopClient> weak = weak_from_this();
    auto connection = std::make_shared<RedisConnection>(
        loop_, url, options_, stats_,
        [weak, index](PendingCommand&& command, const redisReply* reply) {
          if (auto self = weak.lock()) self->on_reply(index, std::move(command), reply);
        },
        [weak, index](bool up) {
          if (auto self = weak.lock()) self->on_state(index, up);
        });
    nodes_.push_back(Node{connection, 0});
    connection->start();
    return index;
  }

  void on_state(std::uint16_t index, bool up) {
    Node& node = nodes_[index];
    const int next = up ? 1 : -1;
    if (node.state == next) return;
    on_health_((next == 1) - (node.state == 1), (next == -1) - (node.state == -1));
    node.state = next;
    if (up && rediscover_) discover();
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
        stats_.redirects.fetch_add(1, std::memory_order_relaxed);
        RedisUrl url = options_.seeds.front();
        url.host =
            redirect->host.empty() ? nodes_[from].connection->endpoint().host : redirect->host;
        url.port = redirect->port;
        url.db = 0;
        const std::uint16_t node = node_index(url);
        if (!redirect->ask) {
          slots_[redirect->slot] = node;
          cluster_ = true;
          rediscover_ = true;  // other slots probably moved too
          discover();
        }
        command.asking = redirect->ask;
        ++command.redirects;
        nodes_[node].connection->send(std::move(command));
        return;
      }
    }
    if (command.callback) command.callback(reply);
  }

  net::any_io_executor loop_;
  const ClientOptions& options_;
  ClientStats& stats_;
  std::function<void(int, int)> on_health_;
  std::vector<Node> nodes_;  // seeds first, then nodes learnt from the cluster
  std::array<std::uint16_t, kClusterSlots> slots_{};
  bool cluster_ = false;
  bool discovering_ = false;
  bool rediscover_ = false;
  bool closed_ = false;
  std::size_t discover_attempts_ = 0;
};

struct RedisClient::Impl {
  explicit Impl(ClientOptions opts) : options(std::move(opts)) {}

  ClientOptions options;
  ClientStats stats;
  const std::uint64_t id = next_client_id.fetch_add(1);
  std::atomic<int> up{0};
  std::atomic<int> down{0};

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
      auto client = std::make_shared<LoopClient>(loop, options, stats, [this](int du, int dd) {
        up.fetch_add(du, std::memory_order_relaxed);
        down.fetch_add(dd, std::memory_order_relaxed);
      });
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
  return impl_->up.load(std::memory_order_relaxed) > 0 &&
         impl_->down.load(std::memory_order_relaxed) == 0;
}

const ClientStats& RedisClient::stats() const noexcept { return impl_->stats; }
const ClientOptions& RedisClient::options() const noexcept { return impl_->options; }

void RedisClient::shutdown() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->shut.exchange(true)) return;
  for (auto& [context, client] : impl_->loops) client->close();
  // Connections still referenced by handlers queued on a stopped loop go when that loop
  // is destroyed (the usual Asio shutdown); the client keeps none past this point.
  impl_->loops.clear();
}

}  // namespace gw::store::redis

// One connection to one Redis node, owned by one event loop (internal to RedisClient).
//
// Commands are appended to an output buffer; the first command of a loop turn posts a
// flush, so everything issued in that turn leaves in one write (automatic pipelining).
// Replies come back in order and complete the oldest pending command.
//
// A command without a reply after `timeout` completes with StoreErrc::timeout and stays
// queued as "abandoned" so its late reply is matched and dropped; a connection whose
// oldest command has been waiting far longer (`stall_limit`) is reset. Reset, I/O error
// or protocol error: every pending command fails with `unavailable`, and the connection
// reconnects by itself after a backoff (50 ms doubling to 2 s). While it is down,
// commands fail at once (on the loop, never inline) rather than pile up. Going down is
// logged once; the failed reconnect attempts after it share a throttle (a line a second
// for the whole process, with a count of those held back).
//
// Not thread-safe: every method runs on the owning loop.
#pragma once

#include <hiredis/hiredis.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "store/redis/redis_client.h"

namespace gw::store::redis {

// A command in flight, kept whole so it can be sent again elsewhere (MOVED/ASK) or as
// EVAL (NOSCRIPT).
struct PendingCommand {
  std::string bytes;               // RESP, as written
  const Script* script = nullptr;  // set for EVALSHA
  ReplyCallback callback;
  int redirects = 0;
  bool asking = false;  // preceded by ASKING (its reply is swallowed by the connection)
  std::chrono::steady_clock::time_point deadline{};
  bool abandoned = false;  // timed out: the reply is dropped when it comes
  bool internal = false;   // handshake: its reply is checked, not handed to anyone
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  // Where replies go: may resend the command (redirect, NOSCRIPT) or complete it.
  using ReplySink = std::function<void(PendingCommand&&, const redisReply*)>;
  // Told when the connection comes up (true) or goes down (false).
  using StateSink = std::function<void(bool up)>;

  RedisConnection(boost::asio::any_io_executor loop, RedisUrl endpoint,
                  const ClientOptions& options, ClientStats& stats, ReplySink on_reply,
                  StateSink on_state);
  ~RedisConnection();

  // Subscriber connections: pub/sub messages (arrays starting "message") go here instead
  // of completing a command. Set before start().
  void set_push_sink(std::function<void(const redisReply*)> on_push) {
    on_push_ = std::move(on_push);
  }

  // Told (after their callers) when commands ran into their timeout: the node may be
  // hung or gone without a word (a cluster may be failing it over).
  void set_timeout_sink(std::function<void()> on_timeout) { on_timeout_ = std::move(on_timeout); }

  void start();  // first connect
  void send(PendingCommand command);
  void close();  // for good: pending commands fail, no reconnect

  const RedisUrl& endpoint() const noexcept { return endpoint_; }
  bool up() const noexcept { return state_ == State::ready; }

 private:
  enum class State { connecting, ready, backoff, closed };

  void connect();
  void on_connected();
  void schedule_flush();
  void flush();
  void read();
  void on_readable(std::size_t bytes);
  void complete_front(const redisReply* reply);
  void arm_timer();
  void on_timer();
  void fail(std::string_view why);
  void fail_all(StoreErrc code, std::string_view detail);
  void fail_soon(PendingCommand command, StoreErrc code, std::string_view detail);

  boost::asio::any_io_executor loop_;
  RedisUrl endpoint_;
  const ClientOptions& options_;
  ClientStats& stats_;
  ReplySink on_reply_;
  StateSink on_state_;
  std::function<void(const redisReply*)> on_push_;
  std::function<void()> on_timeout_;

  State state_ = State::connecting;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;  // command deadlines and connect timeout
  bool timer_armed_ = false;         // for a command deadline (not the connect timeout)
  std::chrono::steady_clock::time_point timer_at_{};
  boost::asio::steady_timer reconnect_;  // backoff
  std::chrono::milliseconds backoff_{0};
  std::uint64_t generation_ = 0;  // bumps on every reset: stale completions ignore themselves

  std::string out_;      // commands not yet written
  std::string writing_;  // the write in flight
  bool writing_now_ = false;
  bool flush_posted_ = false;
  std::deque<PendingCommand> pending_;  // written or queued, oldest first

  std::unique_ptr<redisReader, void (*)(redisReader*)> reader_;
  std::array<char, 16 * 1024> read_buffer_{};
};

}  // namespace gw::store::redis

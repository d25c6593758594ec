#include "store/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "core/log_throttle.h"
#include "store/redis/resp.h"

namespace gw::store::redis {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

// Connecting may take longer than one command (DNS, a fresh TCP handshake) but is bounded.
std::chrono::milliseconds connect_timeout(const ClientOptions& options) {
  return std::max(options.timeout * 4, std::chrono::milliseconds(500));
}

// An abandoned command this old means the server is not answering at all (paused, hung):
// start afresh rather than queue behind it.
std::chrono::milliseconds stall_limit(const ClientOptions& options) {
  return std::max(options.timeout * 20, std::chrono::milliseconds(1000));
}

PendingCommand handshake(std::vector<std::string_view> args) {
  PendingCommand command;
  command.bytes = format_command(args);
  command.internal = true;
  return command;
}

// A pub/sub message, as opposed to the reply of a command.
bool is_push(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return false;
  const std::string_view kind = reply_text(reply->element[0]);
  return kind == "message" || kind == "pmessage";
}

}  // namespace

RedisConnection::RedisConnection(net::any_io_executor loop, RedisUrl endpoint,
                                 const ClientOptions& options, ClientStats& stats,
                                 ReplySink on_reply, StateSink on_state)
    : loop_(std::move(loop)),
      endpoint_(std::move(endpoint)),
      options_(options),
      stats_(stats),
      on_reply_(std::move(on_reply)),
      on_state_(std::move(on_state)),
      resolver_(loop_),
      socket_(loop_),
      timer_(loop_),
      reconnect_(loop_),
      reader_(redisReaderCreate(), redisReaderFree) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::start() { connect(); }

void RedisConnection::connect() {
  state_ = State::connecting;
  const std::uint64_t generation = ++generation_;
  auto self = shared_from_this();
  timer_.expires_after(connect_timeout(options_));
  timer_.async_wait([this, self, generation](boost::system::error_code ec) {
    if (!ec && generation == generation_ && state_ == State::connecting) fail("connect timed out");
  });
  resolver_.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port),
      [this, self, generation](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (generation != generation_ || state_ != State::connecting) return;
        if (ec) return fail("resolve: " + ec.message());
        net::async_connect(
            socket_, results,
            [this, self, generation](boost::system::error_code ec, const tcp::endpoint&) {
              if (generation != generation_ || state_ != State::connecting) return;
              if (ec) return fail("connect: " + ec.message());
              on_connected();
            });
      });
}

void RedisConnection::on_connected() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  redisReaderFree(reader_.release());
  reader_.reset(redisReaderCreate());

  // The handshake goes ahead of anything queued while connecting.
  std::vector<PendingCommand> hello;
  if (!endpoint_.password.empty()) {
    hello.push_back(endpoint_.username.empty()
                        ? handshake({"AUTH", endpoint_.password})
                        : handshake({"AUTH", endpoint_.username, endpoint_.password}));
  }
  const std::string db = std::to_string(endpoint_.db);
  if (endpoint_.db != 0) hello.push_back(handshake({"SELECT", db}));
  for (const Script* script : options_.scripts) {
    hello.push_back(handshake({"SCRIPT", "LOAD", script->body()}));
  }
  const auto deadline = Clock::now() + connect_timeout(options_);
  std::string prefix;
  for (auto it = hello.rbegin(); it != hello.rend(); ++it) {
    it->deadline = deadline;
    prefix.insert(0, it->bytes);
    pending_.push_front(std::move(*it));
  }
  out_.insert(0, prefix);

  state_ = State::ready;
  backoff_ = std::chrono::milliseconds(0);
  on_state_(true);
  read();
  schedule_flush();
  arm_timer();
}

void RedisConnection::send(PendingCommand command) {
  switch (state_) {
    case State::closed:
      return fail_soon(std::move(command), StoreErrc::unavailable, "redis client is shut down");
    case State::backoff:
      return fail_soon(std::move(command), StoreErrc::unavailable,
                       "redis " + endpoint_.address() + " is unreachable");
    case State::connecting:
      // Queue only for the very first connection; a reconnect in progress fails fast.
      if (backoff_.count() > 0) {
        return fail_soon(std::move(command), StoreErrc::unavailable,
                         "redis " + endpoint_.address() + " is reconnecting");
      }
      break;
    case State::ready:
      break;
  }
  stats_.commands.fetch_add(1, std::memory_order_relaxed);
  const auto deadline = Clock::now() + options_.timeout;
  if (command.asking) {
    PendingCommand asking = handshake({"ASKING"});
    asking.deadline = deadline;
    out_ += asking.bytes;
    pending_.push_back(std::move(asking));
  }
  command.deadline = deadline;
  command.abandoned = false;
  out_ += command.bytes;
  pending_.push_back(std::move(command));
  if (state_ == State::ready) {
    schedule_flush();
    // The timer may be waiting for something later (an abandoned command's stall limit,
    // a handshake's longer deadline): this command's deadline must fire on time.
    if (!timer_armed_ || deadline < timer_at_) arm_timer();
  }
}

void RedisConnection::fail_soon(PendingCommand command, StoreErrc code, std::string_view detail) {
  net::post(loop_, [callback = std::move(command.callback), code, detail = std::string(detail)] {
    if (callback) callback(core::unexpected(StoreError{.code = code, .detail = detail}));
  });
}

void RedisConnection::schedule_flush() {
  if (flush_posted_ || writing_now_ || out_.empty()) return;
  flush_posted_ = true;
  net::post(loop_, [this, self = shared_from_this(), generation = generation_] {
    flush_posted_ = false;
    if (generation == generation_) flush();
  });
}

void RedisConnection::flush() {
  if (state_ != State::ready || writing_now_ || out_.empty()) return;
  writing_now_ = true;
  writing_.swap(out_);
  stats_.writes.fetch_add(1, std::memory_order_relaxed);
  net::async_write(socket_, net::buffer(writing_),
                   [this, self = shared_from_this(), generation = generation_](
                       boost::system::error_code ec, std::size_t) {
                     writing_now_ = false;
                     writing_.clear();
                     if (generation != generation_) {
                       // A reset happened meanwhile; a new connection may be waiting to write.
                       if (state_ == State::ready) flush();
                       return;
                     }
                     if (ec) return fail("write: " + ec.message());
                     flush();
                   });
}

void RedisConnection::read() {
  socket_.async_read_some(
      net::buffer(read_buffer_), [this, self = shared_from_this(), generation = generation_](
                                     boost::system::error_code ec, std::size_t bytes) {
        if (generation != generation_) return;
        if (ec) {
          return fail(ec == net::error::eof ? std::string("closed by the server")
                                            : "read: " + ec.message());
        }
        on_readable(bytes);
      });
}

void RedisConnection::on_readable(std::size_t bytes) {
  if (redisReaderFeed(reader_.get(), read_buffer_.data(), bytes) != REDIS_OK) {
    return fail("protocol error");
  }
  const std::uint64_t generation = generation_;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
      return fail(std::string("protocol error: ") + reader_->errstr);
    }
    if (!raw) break;
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
    if (on_push_ && is_push(reply.get())) {
      on_push_(reply.get());
    } else if (pending_.empty()) {
      return fail("reply without a command");
    } else {
      complete_front(reply.get());
    }
    if (generation != generation_) return;  // the reply's handler reset the connection
  }
  arm_timer();
  read();
}

void RedisConnection::complete_front(const redisReply* reply) {
  PendingCommand command = std::move(pending_.front());
  pending_.pop_front();
  if (command.internal) {
    if (reply->type == REDIS_REPLY_ERROR) {
      // AUTH, SELECT or SCRIPT LOAD refused: nothing sent on this connection can work.
      spdlog::error("redis {}: handshake refused: {}", endpoint_.address(),
                    std::string_view(reply->str, reply->len));
      fail("handshake refused");
    }
    return;
  }
  if (command.abandoned) return;  // its caller already heard "timeout"
  on_reply_(std::move(command), reply);
}

void RedisConnection::arm_timer() {
  if (state_ != State::ready) return;
  // The earliest moment anything is due: a live command's deadline, or the stall limit of
  // the oldest abandoned one. Deadlines are not in queue order (handshake commands get
  // longer ones), hence the scan; the queue holds what is in flight, a few hundred at most.
  Clock::time_point when = Clock::time_point::max();
  if (!pending_.empty()) when = pending_.front().deadline + stall_limit(options_);
  for (const PendingCommand& command : pending_) {
    if (!command.abandoned) when = std::min(when, command.deadline);
  }
  if (when == Clock::time_point::max()) {
    timer_armed_ = false;
    timer_.cancel();
    return;
  }
  timer_armed_ = true;
  timer_at_ = when;
  timer_.expires_at(when);
  timer_.async_wait(
      [this, self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
        if (ec || generation != generation_) return;
        timer_armed_ = false;
        on_timer();
      });
}

void RedisConnection::on_timer() {
  const auto now = Clock::now();
  if (!pending_.empty() && pending_.front().deadline + stall_limit(options_) <= now) {
    return fail("no reply for " + std::to_string(stall_limit(options_).count()) + " ms");
  }
  // Collected first: a callback may send another command (growing pending_) at once.
  std::vector<ReplyCallback> expired;
  for (auto& command : pending_) {
    if (command.abandoned || command.deadline > now) continue;
    command.abandoned = true;
    if (command.internal) continue;
    stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (command.callback) expired.push_back(std::move(command.callback));
  }
  const std::uint64_t generation = generation_;
  for (auto& callback : expired) {
    callback(core::unexpected(
        StoreError{.code = StoreErrc::timeout,
                   .detail = "redis " + endpoint_.address() + ": no reply within " +
                             std::to_string(options_.timeout.count()) + " ms"}));
  }
  if (generation != generation_) return;
  arm_timer();
  if (!expired.empty() && on_timeout_) on_timeout_();
}

void RedisConnection::fail(std::string_view why) {
  if (state_ == State::closed) return;
  const bool was_up = state_ == State::ready;
  if (was_up || (state_ == State::connecting && backoff_.count() == 0)) {
    spdlog::warn("redis {}: {}; reconnecting", endpoint_.address(), why);
  } else if (state_ == State::connecting) {
    // Still unreachable: every connection of every loop retries every 2 s at most.
    static core::LogThrottle still_down;
    if (auto held_back = still_down.admit()) {
      spdlog::warn("redis {}: {}; reconnecting ({} similar lines held back)", endpoint_.address(),
                   why, *held_back);
    }
  }
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  timer_.cancel();
  timer_armed_ = false;
  out_.clear();
  state_ = State::backoff;
  fail_all(StoreErrc::unavailable, "redis " + endpoint_.address() + ": " + std::string(why));
  if (state_ != State::backoff) return;  // a callback closed the client
  on_state_(false);
  backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
  reconnect_.expires_after(backoff_);
  reconnect_.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
    if (ec || state_ != State::backoff) return;
    stats_.reconnects.fetch_add(1, std::memory_order_relaxed);
    connect();
  });
}

void RedisConnection::fail_all(StoreErrc code, std::string_view detail) {
  std::deque<PendingCommand> failed;
  failed.swap(pending_);
  for (auto& command : failed) {
    if (command.internal || command.abandoned || !command.callback) continue;
    command.callback(core::unexpected(StoreError{.code = code, .detail = std::string(detail)}));
  }
}

void RedisConnection::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  timer_.cancel();
  reconnect_.cancel();
  out_.clear();
  fail_all(StoreErrc::unavailable, "redis client is shut down");
}

}  // namespace gw::store::redis

// StreamSession: one session stream; see stream_session.h. Three coroutines on the
// connection's strand: the reader (counts, hashes, answers, queues echoes), the writer
// (the queue first, then the flood) and the close_after_ms timer. One read and one write at
// a time, as Beast requires; timers cancelled as wake-ups stand in for condition variables.
#include "mock/stream_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/url/parse_query.hpp>
#include <deque>
#include <optional>

#include "mock/wire_text.h"

namespace gw::mock {
namespace {

constexpr std::size_t kReadMessageMax = 64 * 1024 * 1024;
constexpr std::size_t kFloodMessageBytes = 64 * 1024;
// Echoes and replies queued but not written: above this the reader waits for the writer
// (back-pressure towards a client that does not read), so such a client costs bounded memory.
constexpr std::size_t kMaxQueuedBytes = 4 * 1024 * 1024;
// Only text messages this short are looked at as possible {"type":"ping"|"stats"} requests.
constexpr std::size_t kControlMaxBytes = 4096;
constexpr std::uint64_t kMaxCloseAfterMs = 24ull * 3600 * 1000;
static_assert(kFloodMessageBytes <= kFillBlockBytes);

// Calls fn(key, value) for each parameter of `query`, not percent-decoded (the mock's
// parameters are plain ASCII). A query Boost.URL refuses has no parameters. (1.81's
// parse_query takes strlen() of an empty view's data(): null for an absent query.)
template <typename Fn>
void for_each_param(std::string_view query, Fn&& fn) {
  if (query.empty()) return;
  const auto params = boost::urls::parse_query(query);
  if (!params) return;
  for (const auto& param : *params) fn(std::string_view(param.key), std::string_view(param.value));
}

struct StreamOptions {
  bool echo = false;              // mode=echo
  bool hash = true;               // hash=0: no SHA-256 (benchmarks); stats say "off"
  std::uint64_t flood_bytes = 0;  // mode=flood&bytes=N
  std::optional<std::uint64_t> close_after_ms;

  explicit StreamOptions(std::string_view query) {
    bool flood = false;
    std::uint64_t bytes = 0;
    for_each_param(query, [&](std::string_view key, std::string_view value) {
      if (key == "mode") {
        echo = value == "echo";
        flood = value == "flood";
      } else if (key == "hash") {
        hash = value != "0";
      } else if (key == "bytes") {
        bytes = parse_decimal(value).value_or(0);
      } else if (key == "close_after_ms") {
        if (const auto ms = parse_decimal(value)) close_after_ms = std::min(*ms, kMaxCloseAfterMs);
      }
    });
    flood_bytes = flood ? bytes : 0;
  }
};

// Waits until `wake` is cancelled (the waiter checks its condition before and after).
net::awaitable<void> wait_for_wake(net::steady_timer& wake) {
  wake.expires_at(net::steady_timer::time_point::max());
  co_await wake.async_wait(use_nothrow);
}

class StreamSession : public MockConnection, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(tcp::socket&& socket, std::shared_ptr<MockState> state, StreamOptions options)
      : ws_(std::move(socket)),
        state_(std::move(state)),
        options_(options),
        flood_remaining_(options.flood_bytes) {}

  ~StreamSession() override {
    state_->stats.connections_active.fetch_sub(1);
    state_->stats.ws_connections_active.fetch_sub(1);
    state_->connections.remove(this);
  }

  void start(MockRequest req) {
    state_->stats.connections_active.fetch_add(1);
    state_->stats.ws_connections_active.fetch_add(1);
    state_->connections.add(shared_from_this());
    if (state_->stopped) return;  // stop() ran before we registered: drop the connection
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);  // also bounds the close handshake
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::permessage_deflate{});  // off both ways
    ws_.auto_fragment(false);
    ws_.read_message_max(kReadMessageMax);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "kallglot-mock-upstream");
    }));
    net::co_spawn(ws_.get_executor(), run(shared_from_this(), std::move(req)), net::detached);
  }

  void close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      self->wake_all();
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).close();
    });
  }

 private:
  struct Outgoing {
    std::string data;
    bool text = false;
  };

  net::awaitable<void> run(std::shared_ptr<StreamSession> self, MockRequest req) {
    auto [ec] = co_await ws_.async_accept(req, use_nothrow);
    if (ec || closing_) co_return;  // a failed handshake was answered by Beast
    state_->stats.ws_connections_total.fetch_add(1);
    if (options_.close_after_ms)
      net::co_spawn(ws_.get_executor(), close_later(self), net::detached);
    net::co_spawn(ws_.get_executor(), write_loop(self), net::detached);
    co_await read_loop();
    read_done_ = true;  // the stream is over: the writer and the timer stop
    wake_all();
  }

  net::awaitable<void> read_loop() {
    for (;;) {
      while (queued_bytes_ >= kMaxQueuedBytes) {
        if (write_failed_ || close_started_) co_return;  // nobody will drain the queue
        co_await wait_for_wake(reader_wake_);
        if (closing_) co_return;
      }
      if (closing_) co_return;
      auto [ec, bytes] = co_await ws_.async_read(buffer_, use_nothrow);
      if (ec) {
        if (ec == websocket::error::closed) {
          const auto& reason = ws_.reason();
          state_->stats.count_ws_close(static_cast<std::uint16_t>(reason.code),
                                       {reason.reason.data(), reason.reason.size()});
        }
        co_return;
      }
      on_message({static_cast<const char*>(buffer_.cdata().data()), buffer_.size()},
                 ws_.got_text());
      buffer_.consume(buffer_.size());
      if (buffer_.capacity() > 4 * 1024 * 1024) buffer_.shrink_to_fit();  // after a huge one
    }
  }

  void on_message(std::string_view payload, bool text) {
    state_->stats.ws_messages.fetch_add(1, std::memory_order_relaxed);
    state_->stats.ws_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
    if (text && answer_control(payload)) return;
    ++messages_;
    bytes_ += payload.size();
    if (options_.hash) sha256_.update(payload);
    if (options_.echo) enqueue(std::string(payload), text);
  }

  // {"type":"ping"[,"id":…]} -> {"type":"pong"[,"id":…]}; {"type":"stats"} -> the counts.
  // True if `text` was such a request (answered, and not counted as data).
  bool answer_control(std::string_view text) {
    if (text.size() > kControlMaxBytes || text.find("\"type\"") == std::string_view::npos) {
      return false;
    }
    boost::system::error_code ec;
    const json::value request = json::parse(text, ec);
    const auto* type =
        !ec && request.is_object() ? request.get_object().if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) return false;
    json::object reply;
    if (type->get_string() == "ping") {
      reply["type"] = "pong";
      if (const auto* id = request.get_object().if_contains("id")) reply["id"] = *id;
    } else if (type->get_string() == "stats") {
      reply = {{"type", "stats"},
               {"messages", messages_},
               {"bytes", bytes_},
               {"sha256", options_.hash ? sha256_.hex() : "off"}};
    } else {
      return false;
    }
    enqueue(json::serialize(reply), true);
    return true;
  }

  void enqueue(std::string data, bool text) {
    queued_bytes_ += data.size();
    queue_.push_back({std::move(data), text});
    writer_wake_.cancel();
  }

  net::awaitable<void> write_loop(std::shared_ptr<StreamSession> /*self*/) {
    while (!close_started_ && !closing_ && !read_done_) {
      const bool from_queue = !queue_.empty();
      beast::error_code ec;
      std::size_t bytes = 0;
      if (from_queue) {
        ws_.text(queue_.front().text);
        std::tie(ec, bytes) =
            co_await ws_.async_write(net::buffer(queue_.front().data), use_nothrow);
      } else if (flood_remaining_ > 0) {
        const auto n = std::min<std::uint64_t>(flood_remaining_, kFloodMessageBytes);
        flood_remaining_ -= n;
        ws_.binary(true);
        std::tie(ec, bytes) = co_await ws_.async_write(
            net::buffer(fill_block().data(), static_cast<std::size_t>(n)), use_nothrow);
      } else {
        co_await wait_for_wake(writer_wake_);
        continue;
      }
      if (ec) {
        write_failed_ = true;
        queue_.clear();
        queued_bytes_ = 0;
        wake_all();
        co_return;
      }
      state_->stats.ws_messages_sent.fetch_add(1, std::memory_order_relaxed);
      state_->stats.ws_bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
      if (read_done_) co_return;
      if (from_queue) {
        queued_bytes_ -= queue_.front().data.size();
        queue_.pop_front();
      }
      if (queued_bytes_ < kMaxQueuedBytes) reader_wake_.cancel();
    }
  }

  // close_after_ms: 4001 "mock closing". The pending read completes with `closed` once the
  // client answers.
  net::awaitable<void> close_later(std::shared_ptr<StreamSession> /*self*/) {
    close_timer_.expires_after(std::chrono::milliseconds(*options_.close_after_ms));
    auto [ec] = co_await close_timer_.async_wait(use_nothrow);
    if (ec || closing_ || read_done_ || close_started_) co_return;
    close_started_ = true;
    co_await ws_.async_close(
        websocket::close_reason(static_cast<websocket::close_code>(4001), "mock closing"),
        use_nothrow);
    reader_wake_.cancel();  // a reader held back by the queue has nothing left to wait for
  }

  void wake_all() {
    close_timer_.cancel();
    writer_wake_.cancel();
    reader_wake_.cancel();
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<MockState> state_;
  StreamOptions options_;
  net::steady_timer close_timer_{ws_.get_executor()};
  net::steady_timer writer_wake_{ws_.get_executor()};
  net::steady_timer reader_wake_{ws_.get_executor()};
  beast::flat_buffer buffer_;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t flood_remaining_ = 0;
  std::uint64_t messages_ = 0;  // data messages and their bytes, as {"type":"stats"} reports
  std::uint64_t bytes_ = 0;
  Sha256 sha256_;
  bool read_done_ = false;
  bool write_failed_ = false;
  bool close_started_ = false;
  bool closing_ = false;  // stop()
};

}  // namespace

bool has_stream_token(const MockRequest& req, std::string_view query) {
  const auto is_token = [](std::string_view v) { return v.size() > 4 && v.starts_with("kst_"); };
  bool found = false;
  for_each_param(query, [&](std::string_view key, std::string_view value) {
    found = found || (key == "token" && is_token(value));
  });
  if (found) return true;
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return false;
  std::string_view value = it->value();
  if (value.size() <= 7 || !beast::iequals(value.substr(0, 7), "bearer ")) return false;
  value.remove_prefix(std::min(value.find_first_not_of(' ', 7), value.size()));
  return is_token(value);
}

void serve_stream(tcp::socket socket, MockRequest req, std::string_view query,
                  std::shared_ptr<MockState> state) {
  const StreamOptions options(query);
  std::make_shared<StreamSession>(std::move(socket), std::move(state), options)
      ->start(std::move(req));
}

}  // namespace gw::mock

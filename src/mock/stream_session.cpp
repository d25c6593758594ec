// StreamSession: one session stream; see stream_session.h. Three coroutines on the stream's
// strand: the reader (counts, hashes, answers, queues echoes), the writer (the queue first,
// then the flood) and the close_after_ms timer. One read and one write at a time, as Beast
// requires. A waiting reader or writer sleeps on `wake_`, which the other cancels.
#include "mock/stream_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/url/parse_query.hpp>
#include <deque>
#include <optional>
#include <string>

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
// parameters are plain ASCII). A query Boost.URL refuses has none.
template <typename Fn>
void for_each_param(std::string_view query, Fn&& fn) {
  if (query.empty()) return;
  // Boost 1.81's parse_query reads its input with strlen(): it must be NUL-terminated
  // (a view into the request is not; ASan saw the over-read). The copy outlives `params`.
  const std::string terminated(query);
  const auto params = boost::urls::parse_query(terminated);
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

class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(tcp::socket&& socket, std::shared_ptr<MockState> state, std::string_view query)
      : ws_(std::move(socket)), state_(std::move(state)), options_(query) {
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
  }

  net::awaitable<void> run(std::shared_ptr<StreamSession> self, MockRequest req) {
    auto [ec] = co_await ws_.async_accept(req, use_nothrow);
    if (ec) co_return;  // a failed handshake was answered by Beast
    state_->stats.add(MockStats::ws_connections_total);
    const auto executor = ws_.get_executor();
    if (options_.close_after_ms) net::co_spawn(executor, close_later(self), net::detached);
    net::co_spawn(executor, write_loop(self), net::detached);
    co_await read_loop();
    read_done_ = true;  // the stream is over: the writer and the timer stop
    close_timer_.cancel();
    wake_.cancel();
  }

 private:
  struct Outgoing {
    std::string data;
    bool text = false;
  };

  net::awaitable<void> read_loop() {
    for (;;) {
      while (queued_bytes_ >= kMaxQueuedBytes) {
        if (write_failed_ || close_started_) co_return;  // nobody will drain the queue
        co_await sleep_until_woken();
      }
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
    state_->stats.add(MockStats::ws_messages);
    state_->stats.add(MockStats::ws_bytes, static_cast<std::int64_t>(payload.size()));
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
    const auto* object = !ec ? request.if_object() : nullptr;
    const auto* type = object != nullptr ? object->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) return false;
    json::object reply;
    if (type->get_string() == "ping") {
      reply["type"] = "pong";
      if (const auto* id = object->if_contains("id")) reply["id"] = *id;
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
    wake_.cancel();
  }

  net::awaitable<void> write_loop(std::shared_ptr<StreamSession> /*self*/) {
    std::uint64_t flood_remaining = options_.flood_bytes;
    while (!close_started_ && !read_done_) {
      const bool from_queue = !queue_.empty();
      beast::error_code ec;
      std::size_t bytes = 0;
      if (from_queue) {
        ws_.text(queue_.front().text);
        std::tie(ec, bytes) =
            co_await ws_.async_write(net::buffer(queue_.front().data), use_nothrow);
      } else if (flood_remaining > 0) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(flood_remaining, kFloodMessageBytes));
        flood_remaining -= n;
        ws_.binary(true);
        std::tie(ec, bytes) =
            co_await ws_.async_write(net::buffer(fill_block().data(), n), use_nothrow);
      } else {
        co_await sleep_until_woken();
        continue;
      }
      if (ec) {
        write_failed_ = true;
        queue_.clear();
        queued_bytes_ = 0;
        close_timer_.cancel();
        wake_.cancel();
        co_return;
      }
      state_->stats.add(MockStats::ws_messages_sent);
      state_->stats.add(MockStats::ws_bytes_sent, static_cast<std::int64_t>(bytes));
      if (read_done_) co_return;
      if (from_queue) {
        queued_bytes_ -= queue_.front().data.size();
        queue_.pop_front();
      }
      if (queued_bytes_ < kMaxQueuedBytes) wake_.cancel();  // a reader held back goes on
    }
  }

  // close_after_ms: 4001 "mock closing". The pending read completes with `closed` once the
  // client answers.
  net::awaitable<void> close_later(std::shared_ptr<StreamSession> /*self*/) {
    close_timer_.expires_after(std::chrono::milliseconds(*options_.close_after_ms));
    auto [ec] = co_await close_timer_.async_wait(use_nothrow);
    if (ec || read_done_ || close_started_) co_return;
    close_started_ = true;
    co_await ws_.async_close(
        websocket::close_reason(static_cast<websocket::close_code>(4001), "mock closing"),
        use_nothrow);
    wake_.cancel();  // a reader held back by the queue has nothing left to wait for
  }

  net::awaitable<void> sleep_until_woken() {
    wake_.expires_at(net::steady_timer::time_point::max());
    co_await wake_.async_wait(use_nothrow);
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<MockState> state_;
  const MockStats::Open open_{state_->stats, MockStats::connections_active};
  const MockStats::Open open_stream_{state_->stats, MockStats::ws_connections_active};
  const StreamOptions options_;
  net::steady_timer close_timer_{ws_.get_executor()};
  net::steady_timer wake_{ws_.get_executor()};
  beast::flat_buffer buffer_;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t messages_ = 0;  // data messages and their bytes, as {"type":"stats"} reports
  std::uint64_t bytes_ = 0;
  Sha256 sha256_;
  bool read_done_ = false;
  bool write_failed_ = false;
  bool close_started_ = false;
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
  const auto executor = socket.get_executor();
  auto session = std::make_shared<StreamSession>(std::move(socket), std::move(state), query);
  net::co_spawn(executor, session->run(session, std::move(req)), net::detached);
}

}  // namespace gw::mock

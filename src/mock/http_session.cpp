// HttpSession: one client connection, one coroutine; see http_session.h.
#include "mock/http_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <limits>
#include <optional>

#include "mock/api_routes.h"
#include "mock/stream_session.h"

namespace gw::mock {
namespace {

constexpr auto kIoTimeout = std::chrono::seconds(300);
constexpr std::size_t kHeaderLimitBytes = 1024 * 1024;

class HttpSession : public MockConnection, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, std::shared_ptr<MockState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  ~HttpSession() override {
    state_->stats.connections_active.fetch_sub(1);
    state_->connections.remove(this);
  }

  void start() {
    state_->stats.connections_total.fetch_add(1);
    state_->stats.connections_active.fetch_add(1);
    state_->connections.add(shared_from_this());
    net::co_spawn(stream_.get_executor(), serve(shared_from_this()), net::detached);
  }

  void close() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->handed_off_) return;  // the socket is a stream's now, closed by its close()
      self->closing_ = true;
      self->delay_.cancel();
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  net::awaitable<void> serve(std::shared_ptr<HttpSession> /*self*/) {
    while (!closing_) {
      parser_.emplace();
      parser_->header_limit(kHeaderLimitBytes);
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      stream_.expires_after(kIoTimeout);
      auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, use_nothrow);
      if (ec) co_return co_await refuse(ec);
      auto& req = parser_->get();
      const auto [path, query] = split_target(req.target());
      const bool control = is_control_path(path);
      if (!control) state_->stats.count_request(path);
      // A client that asked for 100-continue waits for it before sending the body.
      const auto expect = req.find(http::field::expect);
      if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
          !parser_->is_done()) {
        http::response<http::empty_body> go_on{http::status::continue_, req.version()};
        stream_.expires_after(kIoTimeout);
        std::tie(ec, n) = co_await http::async_write(stream_, go_on, use_nothrow);
        if (ec) co_return close_now();
      }
      if (!parser_->is_done()) {
        stream_.expires_after(kIoTimeout);
        std::tie(ec, n) = co_await http::async_read(stream_, buffer_, *parser_, use_nothrow);
        if (ec) co_return co_await refuse(ec);
      }
      state_->stats.count_body(req.body().bytes);
      if (!control && is_stream_connect(req, path)) {
        if (!has_stream_token(req, query)) co_return co_await write_and_close(refuse_stream(req));
        // Bytes after the request head would be frames sent before the 101: a WebSocket
        // client waits for the 101, so there are none (and Beast cannot be handed them).
        handed_off_ = true;
        const std::string stream_query(query);
        co_return serve_stream(stream_.release_socket(), parser_->release(), stream_query, state_);
      }
      Answer reply = answer(req, *state_);
      if (reply.delay.count() > 0) {
        delay_.expires_after(reply.delay);
        auto [delay_ec] = co_await delay_.async_wait(use_nothrow);
        if (delay_ec || closing_) co_return close_now();
      }
      const bool keep_alive = reply.message.keep_alive();
      stream_.expires_after(kIoTimeout);
      std::tie(ec, n) = co_await beast::async_write(stream_, std::move(reply.message), use_nothrow);
      if (ec || !keep_alive) co_return close_now();
    }
    close_now();
  }

  // A request the parser refused is answered once (a test sees a status, not a reset); a
  // clean end of stream, a timeout or a socket error just closes.
  net::awaitable<void> refuse(beast::error_code ec) {
    const bool http_error =
        ec.category() == http::make_error_code(http::error::bad_target).category();
    if (closing_ || ec == http::error::end_of_stream || !http_error) co_return close_now();
    const auto status = ec == http::error::header_limit
                            ? http::status::request_header_fields_too_large
                        : ec == http::error::body_limit ? http::status::payload_too_large
                                                        : http::status::bad_request;
    co_await write_and_close(refuse_malformed(status, ec.message()));
  }

  net::awaitable<void> write_and_close(http::message_generator message) {
    stream_.expires_after(kIoTimeout);
    co_await beast::async_write(stream_, std::move(message), use_nothrow);
    close_now();
  }

  void close_now() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<MockState> state_;
  net::steady_timer delay_{stream_.get_executor()};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<CountingBody>> parser_;
  bool closing_ = false;
  bool handed_off_ = false;
};

}  // namespace

void serve_http(tcp::socket socket, std::shared_ptr<MockState> state) {
  std::make_shared<HttpSession>(std::move(socket), std::move(state))->start();
}

}  // namespace gw::mock

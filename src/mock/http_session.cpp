// serve_http(); see http_session.h.
#include "mock/http_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <limits>

#include "mock/stream_session.h"

namespace gw::mock {
namespace {

constexpr auto kIoTimeout = std::chrono::seconds(300);
constexpr std::size_t kHeaderLimitBytes = 1024 * 1024;

void close(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

net::awaitable<void> write_and_close(beast::tcp_stream& stream, http::message_generator message) {
  stream.expires_after(kIoTimeout);
  co_await beast::async_write(stream, std::move(message), use_nothrow);
  close(stream);
}

// A request the parser refused is answered once (a test sees a status, not a reset); a
// clean end of stream, a timeout or a socket error just closes.
net::awaitable<void> refuse(beast::tcp_stream& stream, beast::error_code ec) {
  if (ec == http::error::end_of_stream ||
      ec.category() != http::make_error_code(http::error::bad_target).category()) {
    co_return close(stream);
  }
  const auto status = ec == http::error::header_limit
                          ? http::status::request_header_fields_too_large
                      : ec == http::error::body_limit ? http::status::payload_too_large
                                                      : http::status::bad_request;
  co_await write_and_close(stream, refuse_malformed(status, ec.message()));
}

net::awaitable<void> serve(beast::tcp_stream stream, std::shared_ptr<MockState> state) {
  const MockStats::Open open(state->stats, MockStats::connections_active);
  state->stats.add(MockStats::connections_total);
  beast::flat_buffer buffer;
  net::steady_timer delay_timer(stream.get_executor());
  for (;;) {
    http::request_parser<CountingBody> parser;
    parser.header_limit(kHeaderLimitBytes);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    stream.expires_after(kIoTimeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    if (ec) co_return co_await refuse(stream, ec);
    const MockRequest& req = parser.get();
    const auto [path, query] = split_target(req.target());
    const bool control = is_control_path(path);
    if (!control) state->stats.count_request(path);
    // A client that asked for 100-continue waits for it before sending the body.
    const auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser.is_done()) {
      http::response<http::empty_body> go_on{http::status::continue_, req.version()};
      stream.expires_after(kIoTimeout);
      std::tie(ec, n) = co_await http::async_write(stream, go_on, use_nothrow);
      if (ec) co_return close(stream);
    }
    if (!parser.is_done()) {
      stream.expires_after(kIoTimeout);
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (ec) co_return co_await refuse(stream, ec);
    }
    state->stats.count_body(req.body().bytes);
    if (!control && is_stream_connect(req, path)) {
      if (!has_stream_token(req, query)) {
        co_return co_await write_and_close(stream, refuse_stream(req));
      }
      // Bytes after the request head would be frames sent before the 101: a WebSocket
      // client waits for the 101, so there are none (and Beast cannot be handed them).
      const std::string stream_query(query);
      co_return serve_stream(stream.release_socket(), parser.release(), stream_query, state);
    }
    Answer reply = answer(req, *state);
    if (reply.delay.count() > 0) {
      delay_timer.expires_after(reply.delay);
      std::tie(ec) = co_await delay_timer.async_wait(use_nothrow);
      if (ec) co_return close(stream);
    }
    const bool keep_alive = reply.message.keep_alive();
    stream.expires_after(kIoTimeout);
    std::tie(ec, n) = co_await beast::async_write(stream, std::move(reply.message), use_nothrow);
    if (ec || !keep_alive) co_return close(stream);
  }
}

}  // namespace

void serve_http(tcp::socket socket, std::shared_ptr<MockState> state) {
  const auto executor = socket.get_executor();
  net::co_spawn(executor, serve(beast::tcp_stream(std::move(socket)), std::move(state)),
                net::detached);
}

}  // namespace gw::mock

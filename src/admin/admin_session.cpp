#include "admin/admin_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "core/clock.h"

namespace gw::admin {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category();
}

}  // namespace

AdminSession::AdminSession(Socket&& socket, std::shared_ptr<const AdminRouter> router,
                           AdminTimeouts timeouts)
    : socket_(std::move(socket)),
      timeouts_(timeouts),
      watchdog_(socket_.get_executor()),
      router_(std::move(router)) {}

void AdminSession::run() {
  net::dispatch(socket_.get_executor(),
                beast::bind_front_handler(&AdminSession::do_read, shared_from_this()));
}

void AdminSession::close() {
  net::dispatch(socket_.get_executor(),
                beast::bind_front_handler(&AdminSession::do_close, shared_from_this()));
}

void AdminSession::arm(Deadline deadline) {
  deadline_ = deadline;
  if (watching_ || deadline == Deadline::max()) return;
  watching_ = true;
  watchdog_.expires_at(deadline);
  watchdog_.async_wait(beast::bind_front_handler(&AdminSession::on_watchdog, shared_from_this()));
}

void AdminSession::on_watchdog(beast::error_code ec) {
  watching_ = false;
  if (ec || closed_) return;
  if (std::chrono::steady_clock::now() >= deadline_) return do_close();
  arm(deadline_);  // the deadline moved since this wait began
}

void AdminSession::do_read() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  continue_sent_ = false;
  arm(std::chrono::steady_clock::now() + timeouts_.read);
  parse_buffered();
}

void AdminSession::parse_buffered() {
  beast::error_code ec;
  while (buffer_.size() > 0 && !parser_->is_done()) {
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) return on_read_error(ec);
  }
  if (parser_->is_done()) return on_request();
  // curl and others wait for this before sending a body; answering it saves them a pause.
  if (parser_->is_header_done() && !continue_sent_ &&
      beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    continue_sent_ = true;
    return net::async_write(
        socket_, net::buffer(kContinue.data(), kContinue.size()),
        beast::bind_front_handler(&AdminSession::on_continue_sent, shared_from_this()));
  }
  read_more();
}

void AdminSession::read_more() {
  const std::size_t size = beast::read_size(buffer_, 65536);
  socket_.async_read_some(
      buffer_.prepare(size),
      beast::bind_front_handler(&AdminSession::on_read_some, shared_from_this()));
}

void AdminSession::on_read_some(beast::error_code ec, std::size_t bytes) {
  if (ec == net::error::eof) {
    if (!parser_->got_some()) return on_read_error(http::error::end_of_stream);
    parser_->put_eof(ec);
    return on_read_error(ec ? ec : beast::error_code(http::error::partial_message));
  }
  if (ec) return on_read_error(ec);
  buffer_.commit(bytes);
  parse_buffered();
}

void AdminSession::on_continue_sent(beast::error_code ec, std::size_t) {
  if (ec) return do_close();
  read_more();
}

void AdminSession::on_read_error(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::operation_aborted || closed_) {
    return do_close();
  }
  http::status status;
  std::string_view code;
  std::string_view message;
  if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;
    code = "request_too_large";
    message = "The request body exceeds 1 MiB.";
  } else if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
    code = "request_header_too_large";
    message = "The request head exceeds 16 KiB.";
  } else if (is_parse_error(ec)) {
    status = http::status::bad_request;
    code = "malformed_request";
    message = "Malformed HTTP request.";
  } else {
    return do_close();  // the socket failed: nobody to answer
  }
  const std::string request_id = request_id_for(Request{});
  response_ = error_response(status, kInvalidRequest, code, message, request_id);
  version_ = 11;
  keep_alive_ = false;  // the rest of the stream cannot be trusted to start a request
  do_write();
}

void AdminSession::on_request() {
  Request request = parser_->release();
  version_ = request.version();
  keep_alive_ = request.keep_alive();
  // Handling may wait for the counter store, whose own timeouts bound it.
  arm(Deadline::max());
  auto response =
      router_->handle(std::move(request), socket_.get_executor(),
                      beast::bind_front_handler(&AdminSession::on_handled, shared_from_this()));
  if (response) on_handled(std::move(*response));
}

void AdminSession::on_handled(Response response) {
  response_ = std::move(response);
  do_write();
}

void AdminSession::do_write() {
  response_.version(version_);
  response_.keep_alive(keep_alive_);
  // The response as one buffer, one write: Beast's serializer walks the head as a sequence
  // of small buffers, which cost more than this copy on /v1/check (perf). The head is
  // what the serializer would write (status line, the fields as set), then the listener's
  // own fields and a blank line.
  wire_.clear();
  wire_.reserve(256 + response_.body().size());
  wire_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  wire_ += std::to_string(response_.result_int());
  wire_ += ' ';
  const beast::string_view reason = response_.reason();
  wire_ += reason.empty() ? http::obsolete_reason(response_.result()) : reason;
  wire_ += "\r\n";
  for (const auto& field : response_) {
    wire_ += field.name_string();
    wire_ += ": ";
    wire_ += field.value();
    wire_ += "\r\n";
  }
  // A label, not a decision: the process clock is the right source for Date.
  append_listener_fields(wire_, core::to_unix_seconds(core::real_clock().now()));
  wire_ += "\r\n";
  wire_ += response_.body();
  arm(std::chrono::steady_clock::now() + timeouts_.write);
  net::async_write(
      socket_, net::buffer(wire_),
      beast::bind_front_handler(&AdminSession::on_write, shared_from_this(), response_.need_eof()));
}

void AdminSession::on_write(bool close, beast::error_code ec, std::size_t) {
  if (ec) {
    spdlog::debug("admin: write failed: {}", ec.message());
    return do_close();
  }
  if (close) return do_close();
  response_ = {};
  do_read();
}

void AdminSession::do_close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
  watchdog_.cancel();
}

}  // namespace gw::admin

// One connection to the admin listener: HTTP/1.1 with keep-alive, one request at a time
// (no pipelining: a second request waits in the socket until the first is answered).
//
// Limits: request head 16 KiB (431), body 1 MiB (413), 30 s to receive a whole request
// (also the keep-alive idle time), 30 s to send a response (AdminTimeouts). A malformed request
// gets 400; each of these answers closes the connection. `Expect: 100-continue` is honoured.
//
// Reads go straight to the socket, one async_read_some at a time, into Beast's parser (as
// the proxy reads, proxy/head_reader.h): Beast's composed read operations cost more than
// the parsing on the busiest route, POST /v1/check (perf). Timeouts are one watchdog
// timer per session that fires at the earliest deadline and re-arms itself when the
// deadline has moved, so a request re-arms no timer.
//
// Owned by the handlers it has in flight (shared_from_this); every member is touched only
// on the io_context's one thread (admin_server.h). close() may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_http.h"
#include "admin/admin_router.h"

namespace gw::admin {

// How long a connection may take to send a whole request (also the keep-alive idle time)
// and to take a response.
struct AdminTimeouts {
  std::chrono::milliseconds read{30'000};
  std::chrono::milliseconds write{30'000};
};

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  // The io_context's own executor, not a type-erased one: every read and write completes
  // through it.
  using Executor = boost::asio::io_context::executor_type;
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

  AdminSession(Socket&& socket, std::shared_ptr<const AdminRouter> router,
               AdminTimeouts timeouts = {});

  void run();    // starts the read loop
  void close();  // ends the connection, from any thread

 private:
  using Deadline = std::chrono::steady_clock::time_point;

  void do_read();
  void parse_buffered();  // feeds what buffer_ holds to the parser, then reads or answers
  void read_more();
  void on_read_some(boost::beast::error_code ec, std::size_t bytes);
  void on_continue_sent(boost::beast::error_code ec, std::size_t bytes);
  void on_read_error(boost::beast::error_code ec);
  void arm(Deadline deadline);  // the connection closes at `deadline` (max(): never)
  void on_watchdog(boost::beast::error_code ec);
  void on_request();
  void on_handled(Response response);
  void do_write();
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  Socket socket_;
  AdminTimeouts timeouts_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, Executor>
      watchdog_;
  Deadline deadline_ = Deadline::max();
  bool watching_ = false;  // watchdog_ has a wait in flight
  bool continue_sent_ = false;
  bool closed_ = false;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;  // fresh per request
  Response response_;                                              // alive until on_write
  std::string wire_;  // response_ as written, reused across requests
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::shared_ptr<const AdminRouter> router_;
};

}  // namespace gw::admin

// One connection to the admin listener: HTTP/1.1 with keep-alive, one request at a time
// (no pipelining: a second request waits in the socket until the first is answered).
//
// Limits: request head 16 KiB (431), body 1 MiB (413), 30 s to receive a whole request
// (also the keep-alive idle time), 30 s to send a response. A malformed request gets 400;
// each of these answers closes the connection. `Expect: 100-continue` is honoured.
//
// Owned by the handlers it has in flight (shared_from_this); every member is touched only
// on the session's strand. close() may be called from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <optional>
#include <string>

#include "admin/admin_http.h"
#include "admin/admin_router.h"

namespace gw::admin {

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<const AdminRouter> router);

  void run();    // starts the read loop on the session's strand
  void close();  // ends the connection, from any thread

 private:
  void do_read();
  void on_read_header(boost::beast::error_code ec, std::size_t bytes);
  void on_continue_sent(boost::beast::error_code ec, std::size_t bytes);
  void do_read_body();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_read_error(boost::beast::error_code ec);
  void on_request();
  void on_handled(Response response);
  void do_write();
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;  // fresh per request
  Response response_;                                              // alive until on_write
  std::string wire_;  // response_ as written, reused across requests
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::shared_ptr<const AdminRouter> router_;
};

}  // namespace gw::admin

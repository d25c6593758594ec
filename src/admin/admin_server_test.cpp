#include "admin/admin_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <thread>

#include "admin/admin_http.h"
#include "admin/admin_test_fixture.h"

namespace gw::admin {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using testing::AdminWorld;
using testing::kAdminToken;

class AdminServerTest : public ::testing::Test {
 protected:
  explicit AdminServerTest(AdminTimeouts timeouts = {}) : server_{io_, world_.deps(), timeouts} {}

  void SetUp() override {
    auto port = server_.listen({"127.0.0.1", 0});
    ASSERT_TRUE(port) << port.error();
    ASSERT_NE(*port, 0);
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_.stop();
    work_.reset();
    thread_.join();
  }

  // A blocking client socket that gives up after 5 s instead of hanging the test.
  tcp::socket connect() {
    tcp::socket socket(client_io_);
    socket.connect({net::ip::make_address("127.0.0.1"), port_});
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return socket;
  }

  static Response round_trip(tcp::socket& socket, Request request) {
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    http::write(socket, request);
    beast::flat_buffer buffer;
    Response response;
    beast::error_code ec;
    http::read(socket, buffer, response, ec);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  net::io_context client_io_;
  AdminWorld world_;
  AdminServer server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(AdminServerTest, AdminRouteWithoutTokenIs401) {
  auto socket = connect();
  auto res = round_trip(socket, Request{http::verb::get, "/admin/v1/accounts/acct_1", 11});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_NE(res.body().find("\"authentication_error\""), std::string::npos);
  EXPECT_NE(res.body().find("\"invalid_admin_token\""), std::string::npos);
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequests) {
  auto socket = connect();
  auto res = round_trip(socket, Request{http::verb::get, "/healthz", 11});
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.keep_alive());
  // The fields every answer carries, each once.
  EXPECT_EQ(res.count(http::field::server), 1u);
  EXPECT_EQ(res[http::field::server], "kallglot-gateway");
  EXPECT_EQ(res.count(http::field::date), 1u);
  EXPECT_TRUE(res[http::field::date].ends_with(" GMT"));
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res.count("X-Request-ID"), 1u);

  Request put{http::verb::put, "/admin/v1/accounts/acct_1", 11};
  put.set(http::field::authorization, "Bearer " + std::string(kAdminToken));
  put.body() = R"({"plan":"pro"})";
  res = round_trip(socket, put);
  EXPECT_EQ(res.result(), http::status::created) << res.body();

  Request usage{http::verb::get, "/admin/v1/accounts/acct_1/usage", 11};
  usage.set(http::field::authorization, "Bearer " + std::string(kAdminToken));
  res = round_trip(socket, usage);
  EXPECT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_NE(res.body().find("\"test_limits\""), std::string::npos);

  Request close{http::verb::get, "/readyz", 11};
  close.keep_alive(false);
  res = round_trip(socket, close);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(AdminServerTest, ExpectContinueIsAnswered) {
  auto socket = connect();
  const std::string body = R"({"plan":"starter"})";
  const std::string head =
      "PUT /admin/v1/accounts/acct_2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      std::string(kAdminToken) + "\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nExpect: 100-continue\r\n\r\n";
  net::write(socket, net::buffer(head));
  std::string interim(25, '\0');
  net::read(socket, net::buffer(interim));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  net::write(socket, net::buffer(body));
  beast::flat_buffer buffer;
  Response res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result(), http::status::created) << res.body();
}

TEST_F(AdminServerTest, OversizedBodyIs413) {
  auto socket = connect();
  const std::string head =
      "PUT /admin/v1/accounts/acct_1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n";
  net::write(socket, net::buffer(head));
  beast::flat_buffer buffer;
  Response res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(AdminServerTest, MalformedRequestIs400) {
  auto socket = connect();
  net::write(socket, net::buffer(std::string_view("GET /healthz HTTP/9.9 nonsense\r\n\r\n")));
  beast::flat_buffer buffer;
  Response res;
  beast::error_code ec;
  http::read(socket, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST_F(AdminServerTest, StopClosesConnectionsAndListener) {
  auto socket = connect();
  EXPECT_EQ(round_trip(socket, Request{http::verb::get, "/healthz", 11}).result(),
            http::status::ok);
  server_.stop();

  // The idle keep-alive connection is closed by the server...
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();

  // ...and nothing accepts new ones.
  tcp::socket late(client_io_);
  late.connect({net::ip::make_address("127.0.0.1"), port_}, ec);
  EXPECT_TRUE(ec) << "connected after stop()";
}

TEST_F(AdminServerTest, HeadOver16KiBIs431) {
  auto socket = connect();
  const std::string head =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(17 * 1024, 'a') + "\r\n\r\n";
  net::write(socket, net::buffer(head));
  beast::flat_buffer buffer;
  Response res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto socket = connect();
  net::write(socket, net::buffer(std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                                  "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")));
  beast::flat_buffer buffer;
  Response first, second;
  http::read(socket, buffer, first);
  http::read(socket, buffer, second);
  EXPECT_EQ(first.result(), http::status::ok);
  EXPECT_EQ(second.result(), http::status::not_found);
}

TEST_F(AdminServerTest, RequestCutShortClosesWithoutAnAnswer) {
  auto socket = connect();
  net::write(socket,
             net::buffer(std::string_view(
                 "PUT /admin/v1/accounts/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")));
  socket.shutdown(tcp::socket::shutdown_send);
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

// The same server with short timeouts.
class AdminServerTimeoutTest : public AdminServerTest {
 protected:
  AdminServerTimeoutTest()
      : AdminServerTest(AdminTimeouts{.read = std::chrono::milliseconds(300),
                                      .write = std::chrono::milliseconds(300)}) {}
};

TEST_F(AdminServerTimeoutTest, AnIdleConnectionIsClosedAtTheReadTimeout) {
  auto socket = connect();  // its reads give up after 5 s, far beyond the 300 ms
  EXPECT_EQ(round_trip(socket, Request{http::verb::get, "/healthz", 11}).result(),
            http::status::ok);
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST_F(AdminServerTimeoutTest, EachRequestGetsAFullReadTimeout) {
  auto socket = connect();
  // Five requests 100 ms apart span 500 ms, beyond the first request's deadline: the
  // deadline moves with each request, so the connection stays open throughout.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(round_trip(socket, Request{http::verb::get, "/healthz", 11}).result(),
              http::status::ok)
        << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(AdminServerListen, BadAddressIsAnError) {
  net::io_context io;
  AdminWorld world;
  AdminServer server{io, world.deps()};
  auto port = server.listen({"not-an-ip", 0});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().find("not-an-ip"), std::string::npos);
}

TEST(AdminServerListen, PortInUseIsAnError) {
  net::io_context io;
  AdminWorld world;
  AdminServer first{io, world.deps()};
  auto port = first.listen({"localhost", 0});
  ASSERT_TRUE(port) << port.error();
  AdminServer second{io, world.deps()};
  auto again = second.listen({"127.0.0.1", *port});
  EXPECT_FALSE(again);
}

}  // namespace
}  // namespace gw::admin

#include "proxy/upstream_pool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <optional>

#include "core/fake_clock.h"

namespace gw::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The pool's injected clock: moves only when a test says so.
core::FakeClock fake_clock;

// Waits (bounded) until `socket` has something to read or its peer closed: the condition
// the pool's peek must then see, without a sleep standing in for it.
bool wait_readable(tcp::socket& socket) {
  pollfd p{.fd = socket.native_handle(), .events = POLLIN | POLLRDHUP, .revents = 0};
  return ::poll(&p, 1, 5000) == 1;
}

// A real loopback upstream: the test accepts each connection the pool makes, and so holds
// the upstream's side of it.
class UpstreamPoolTest : public ::testing::Test {
 protected:
  UpstreamPoolTest() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    upstream_.host = "127.0.0.1";
    upstream_.port = acceptor_.local_endpoint().port();
    upstream_.url = "http://127.0.0.1:" + std::to_string(upstream_.port);
  }

  // A connection through acquire() (a fresh one: the pool is empty or `fresh_only`), and
  // the upstream's side of it.
  std::pair<std::unique_ptr<UpstreamConnection>, tcp::socket> connect() {
    std::optional<core::Result<UpstreamLease, UpstreamErrc>> got;
    net::co_spawn(
        io_,
        [&]() -> net::awaitable<void> {
          got.emplace(co_await pool_.acquire(upstream_, /*fresh_only=*/true));
        },
        net::detached);
    io_.run();
    io_.restart();
    EXPECT_TRUE(got && *got);
    EXPECT_FALSE((*got)->reused);
    tcp::socket server = acceptor_.accept();
    return {std::move((*got)->connection), std::move(server)};
  }

  // Whether the pool closed the connection whose upstream side is `server`.
  static bool closed_by_pool(tcp::socket& server) {
    if (!wait_readable(server)) return false;
    char byte;
    beast::error_code ec;
    const std::size_t n = server.read_some(net::buffer(&byte, 1), ec);
    return n == 0 && (ec == net::error::eof || ec == net::error::connection_reset);
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  config::UpstreamConfig upstream_;  // pool_idle_timeout: the default, 4 s
  UpstreamPool pool_{io_.get_executor(), fake_clock};
};

TEST(IdleTooLong, AtTheCapAndBeyond) {
  const Clock::time_point t0(1h);
  EXPECT_FALSE(idle_too_long(t0, t0, 4000ms));
  EXPECT_FALSE(idle_too_long(t0, t0 + 3999ms, 4000ms));
  EXPECT_TRUE(idle_too_long(t0, t0 + 4000ms, 4000ms));
  EXPECT_TRUE(idle_too_long(t0, t0 + 1h, 4000ms));
  EXPECT_TRUE(idle_too_long(t0, t0, 0ms));  // a cap of zero reuses nothing
}

TEST_F(UpstreamPoolTest, ReusesAQuietConnectionWithinTheIdleCap) {
  auto [connection, server] = connect();
  UpstreamConnection* const raw = connection.get();
  pool_.release(std::move(connection));
  fake_clock.advance(3999ms);
  auto again = pool_.take_idle(upstream_);
  EXPECT_EQ(again.get(), raw);
  EXPECT_EQ(pool_.idle_count(), 0u);
}

TEST_F(UpstreamPoolTest, ClosesAConnectionIdleForTheCapUnused) {
  auto [connection, server] = connect();
  pool_.release(std::move(connection));
  fake_clock.advance(4000ms);
  EXPECT_EQ(pool_.take_idle(upstream_), nullptr);
  EXPECT_EQ(pool_.idle_count(), 0u);
  EXPECT_TRUE(closed_by_pool(server));
}

TEST_F(UpstreamPoolTest, AgesOutTheOldestAndKeepsTheWarmest) {
  auto [old_connection, old_server] = connect();
  auto [warm_connection, warm_server] = connect();
  UpstreamConnection* const warm = warm_connection.get();
  pool_.release(std::move(old_connection));
  fake_clock.advance(3s);
  pool_.release(std::move(warm_connection));
  fake_clock.advance(1500ms);  // old: 4.5 s idle, warm: 1.5 s
  EXPECT_EQ(pool_.take_idle(upstream_).get(), warm);
  EXPECT_EQ(pool_.idle_count(), 0u);
  EXPECT_TRUE(closed_by_pool(old_server));
}

TEST_F(UpstreamPoolTest, CapOfZeroNeverReuses) {
  upstream_.pool_idle_timeout = 0ms;
  auto [connection, server] = connect();
  pool_.release(std::move(connection));
  EXPECT_EQ(pool_.take_idle(upstream_), nullptr);
  EXPECT_TRUE(closed_by_pool(server));
}

TEST_F(UpstreamPoolTest, DiscardsAConnectionTheUpstreamClosed) {
  auto [connection, server] = connect();
  tcp::socket& client = connection->stream.socket();
  pool_.release(std::move(connection));
  server.close();  // the upstream's idle timeout: FIN
  ASSERT_TRUE(wait_readable(client));
  EXPECT_EQ(pool_.take_idle(upstream_), nullptr);
  EXPECT_EQ(pool_.idle_count(), 0u);
}

TEST_F(UpstreamPoolTest, DiscardsAConnectionTheUpstreamReset) {
  auto [connection, server] = connect();
  tcp::socket& client = connection->stream.socket();
  pool_.release(std::move(connection));
  server.set_option(net::socket_base::linger(true, 0));
  server.close();  // RST
  ASSERT_TRUE(wait_readable(client));
  EXPECT_EQ(pool_.take_idle(upstream_), nullptr);
}

TEST_F(UpstreamPoolTest, DiscardsAConnectionWithBytesNobodyAskedFor) {
  auto [connection, server] = connect();
  tcp::socket& client = connection->stream.socket();
  pool_.release(std::move(connection));
  const std::string_view timeout = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n";
  net::write(server, net::buffer(timeout));
  ASSERT_TRUE(wait_readable(client));
  EXPECT_EQ(pool_.take_idle(upstream_), nullptr);
  EXPECT_TRUE(closed_by_pool(server));
}

TEST_F(UpstreamPoolTest, SkipsDeadConnectionsForALiveOne) {
  auto [live_connection, live_server] = connect();
  auto [dead_connection, dead_server] = connect();
  UpstreamConnection* const live = live_connection.get();
  tcp::socket& dead_client = dead_connection->stream.socket();
  pool_.release(std::move(live_connection));
  pool_.release(std::move(dead_connection));  // the warmest, but the upstream closes it
  dead_server.close();
  ASSERT_TRUE(wait_readable(dead_client));
  EXPECT_EQ(pool_.take_idle(upstream_).get(), live);
}

TEST(Peek, TellsQuietClosedAndData) {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  EXPECT_EQ(peek(client), PeekResult::quiet);
  net::write(server, net::buffer(std::string_view("x")));
  ASSERT_TRUE(wait_readable(client));
  EXPECT_EQ(peek(client), PeekResult::data);
  EXPECT_EQ(peek(client), PeekResult::data);  // a peek consumes nothing
  char byte;
  client.read_some(net::buffer(&byte, 1));
  server.close();
  ASSERT_TRUE(wait_readable(client));
  EXPECT_EQ(peek(client), PeekResult::closed);
}

}  // namespace
}  // namespace gw::proxy

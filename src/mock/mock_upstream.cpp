// MockUpstream: the acceptors, and the `mock-upstream` command; see mock_upstream.h.
#include "mock/mock_upstream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <optional>
#include <thread>

#include "mock/http_session.h"
#include "mock/wire_text.h"

namespace gw::mock {
namespace {

std::string display(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Each connection gets a strand of its own, so any number of threads may run `ioc`.
net::awaitable<void> accept_loop(net::io_context& ioc, std::shared_ptr<tcp::acceptor> acceptor,
                                 std::shared_ptr<MockState> state) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(net::make_strand(ioc), use_nothrow);
    if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {  // out of descriptors and the like: back off briefly instead of spinning
      net::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    serve_http(std::move(socket), state);
  }
}

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "[v6]:port", or a bare port for 127.0.0.1.
std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  const auto authority = boost::urls::parse_authority(text);
  if (!authority || authority->has_userinfo()) return std::nullopt;
  ListenAddress out{authority->host_address()};
  std::string port_text(authority->port());
  if (!authority->has_port()) port_text = std::exchange(out.host, "127.0.0.1");
  const auto port = parse_decimal(port_text);
  if (!port || *port > 65535 || out.host.empty()) return std::nullopt;
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

}  // namespace

MockUpstream::MockUpstream(net::io_context& ioc)
    : ioc_(ioc), state_(std::make_shared<MockState>()) {}

MockUpstream::~MockUpstream() { stop(); }

core::Result<std::uint16_t, std::string> MockUpstream::listen(const std::string& host,
                                                              std::uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(ioc_);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return core::unexpected("cannot resolve listen host '" + host + "': " + ec.message());
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, port);
  // On a strand: stop() closes it from another thread.
  auto acceptor = std::make_shared<tcp::acceptor>(net::make_strand(ioc_));
  const auto failed = [&](const char* step) {
    return core::unexpected(std::string(step) + " " + display(host, port) + ": " + ec.message());
  };
  if (acceptor->open(endpoint.protocol(), ec); ec) return failed("open");
  acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor->bind(endpoint, ec); ec) return failed("bind");
  if (acceptor->listen(net::socket_base::max_listen_connections, ec); ec) return failed("listen");
  const std::uint16_t bound = acceptor->local_endpoint(ec).port();
  if (ec) return failed("local_endpoint");
  {
    std::lock_guard lock(mu_);
    acceptors_.push_back(acceptor);
  }
  net::co_spawn(acceptor->get_executor(), accept_loop(ioc_, acceptor, state_), net::detached);
  return bound;
}

void MockUpstream::stop() {
  std::lock_guard lock(mu_);
  for (auto& acceptor : acceptors_) {
    net::post(acceptor->get_executor(), [acceptor] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
  acceptors_.clear();
}

int run_mock_upstream(const std::string& listen_addr, int threads) {
  const auto address = parse_listen_address(listen_addr);
  if (!address) {
    std::fprintf(stderr, "mock-upstream: invalid listen address '%s' (want HOST:PORT)\n",
                 listen_addr.c_str());
    return 1;
  }
  threads = std::max(threads, 1);
  net::io_context ioc(threads);
  MockUpstream mock(ioc);
  const auto bound = mock.listen(address->host, address->port);
  if (!bound) {
    std::fprintf(stderr, "mock-upstream: %s\n", bound.error().c_str());
    return 1;
  }
  std::printf("mock-upstream listening on %s\n", display(address->host, *bound).c_str());
  std::fflush(stdout);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code ec, int /*signo*/) {
    if (ec) return;
    mock.stop();
    ioc.stop();
  });
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& worker : workers) worker.join();
  return 0;
}

}  // namespace gw::mock

#include "proxy/worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include "proxy/http_connection.h"

namespace gw::proxy {

Worker::Worker(const ProxyDeps& deps) : deps_(deps), callers_(deps.accounts, deps.clock) {}

core::Result<tcp::endpoint, std::string> Worker::bind(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) {
    // Every worker binds its own acceptor to the same port; the kernel spreads
    // connections over them.
    const int on = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return core::unexpected(ec.message());
  return acceptor_.local_endpoint();
}

void Worker::start() {
  net::co_spawn(io_, accept_loop(), net::detached);
  net::co_spawn(io_, sweep_deadlines(), net::detached);
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      // Handlers do not throw by design; a throw here is a bug worth a loud log.
      spdlog::critical("worker stopped by an exception: {}", e.what());
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

net::awaitable<void> Worker::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
      // Out of descriptors and the like: log, and keep accepting.
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    auto connection = std::make_shared<HttpConnection>(*this, std::move(socket));
    net::co_spawn(
        io_, [connection]() -> net::awaitable<void> { co_await connection->run(); }, net::detached);
  }
}

net::awaitable<void> Worker::sweep_deadlines() {
  net::steady_timer tick(io_);
  while (!(draining_ && connections_.empty())) {
    tick.expires_after(kDeadlineTick);
    auto [ec] = co_await tick.async_wait(use_nothrow);
    if (ec) co_return;
    const auto now = std::chrono::steady_clock::now();
    // expire_if_due() only cancels: completions run later, so the set stays as it is here.
    for (HttpConnection* connection : connections_) connection->expire_if_due(now);
  }
}

void Worker::add(HttpConnection* connection) {
  connections_.insert(connection);
  open_.fetch_add(1, std::memory_order_acq_rel);
  deps_.metrics.connections_delta(1);
}

void Worker::remove(HttpConnection* connection) {
  connections_.erase(connection);
  open_.fetch_sub(1, std::memory_order_acq_rel);
  deps_.metrics.connections_delta(-1);
}

void Worker::begin_drain() {
  net::post(io_, [this] {
    draining_ = true;
    beast::error_code ignored;
    acceptor_.close(ignored);
    upstream_.close_idle();
    for (HttpConnection* connection : connections_) connection->close_if_idle();
  });
}

void Worker::stop() { io_.stop(); }

}  // namespace gw::proxy

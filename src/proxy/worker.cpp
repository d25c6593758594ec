#include "proxy/worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "core/log_throttle.h"
#include "proxy/http_connection.h"
#include "stream/stream_relay.h"

namespace gw::proxy {
namespace {

// accept() failed for want of a descriptor or of kernel memory: retrying at once only
// spins (the connection stays queued), so the worker pauses accepting instead.
bool is_resource_shortage(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory || ec.value() == ENFILE;
}

// First pause 10 ms, doubling to 1 s: a descriptor freed by a closing connection is taken
// up within a second, and a shortage that lasts costs a handful of wake-ups a second.
constexpr std::chrono::milliseconds kFirstAcceptPause{10};
constexpr std::chrono::milliseconds kLongestAcceptPause{1000};

// One line a second, process-wide, whatever the number of workers and failures.
core::LogThrottle accept_log_throttle;
core::LogThrottle refusal_log_throttle;

}  // namespace

Worker::Worker(const ProxyDeps& deps, ListenerLimits& limits)
    : deps_(deps), limits_(limits), callers_(deps.accounts, deps.clock) {}

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
  net::steady_timer pause(io_);
  std::chrono::milliseconds next_pause = kFirstAcceptPause;
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (!is_resource_shortage(ec)) {
        // The peer gave up before we took it (ECONNABORTED and the like): nothing to wait for.
        if (auto held_back = accept_log_throttle.admit()) {
          spdlog::warn("accept failed: {} ({} more held back)", ec.message(), *held_back);
        }
        continue;
      }
      if (auto held_back = accept_log_throttle.admit()) {
        spdlog::warn("accept paused for {} ms: {} ({} more held back; {} connections open)",
                     next_pause.count(), ec.message(), *held_back, limits_.connections.open());
      }
      pause.expires_after(next_pause);
      co_await pause.async_wait(use_nothrow);
      next_pause = std::min(next_pause * 2, kLongestAcceptPause);
      continue;
    }
    next_pause = kFirstAcceptPause;
    admit(std::move(socket));
  }
}

void Worker::admit(tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone (reset before we got to it)
  const core::IpBytes address = core::ip_bytes(peer.address());
  const auto running = deps_.running.current();
  const config::GatewayConfig& config = running->config();
  ConnectionLimits::Caps caps{config.http.max_connections, config.http.max_connections_per_ip,
                              false};
  for (const core::IpNetwork& trusted : config.trusted_proxies) {
    if (trusted.contains(address)) caps.exempt = true;
  }
  ConnectionLimits::Ticket ticket;
  const auto refusal = limits_.connections.admit(address, caps, ticket);
  if (refusal != ConnectionLimits::Refusal::none) {
    // Closed before anything is read: the cheapest answer there is, and a client over its
    // cap learns nothing it could not learn from a full backlog.
    const bool total = refusal == ConnectionLimits::Refusal::total;
    deps_.metrics.refused(total ? "max_connections" : "max_connections_per_ip");
    if (auto held_back = refusal_log_throttle.admit()) {
      spdlog::warn("connection from {} refused: {} reached ({} more held back)",
                   core::client_block_text(address),
                   total ? "http.max_connections" : "http.max_connections_per_ip", *held_back);
    }
    socket.close(ec);
    return;
  }
  auto connection =
      std::make_shared<HttpConnection>(*this, std::move(socket), peer, std::move(ticket));
  net::co_spawn(
      io_, [connection]() -> net::awaitable<void> { co_await connection->run(); }, net::detached);
}

net::awaitable<void> Worker::sweep_deadlines() {
  net::steady_timer tick(io_);
  while (!(draining_ && connections_.empty())) {
    tick.expires_after(kDeadlineTick);
    auto [ec] = co_await tick.async_wait(use_nothrow);
    if (ec) co_return;
    const core::SteadyTime now = deps_.clock.steady_now();
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

void Worker::close_streams() {
  net::post(io_, [this] {
    // go_away() only flags and cancels a timer: the set is not changed under the loop.
    for (stream::StreamRelay* stream : streams_) stream->go_away();
  });
}

void Worker::stop() { io_.stop(); }

}  // namespace gw::proxy

#include "proxy/upstream_pool.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

namespace gw::proxy {
namespace {

void close_connection(UpstreamConnection& connection) {
  beast::error_code ignored;
  connection.stream.socket().close(ignored);
}

}  // namespace

PeekResult peek(tcp::socket& socket) noexcept {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return PeekResult::data;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return PeekResult::quiet;
  return PeekResult::closed;
}

UpstreamPool::UpstreamPool(net::any_io_executor executor, const core::Clock& clock)
    : executor_(std::move(executor)), clock_(clock) {}

void UpstreamPool::follow_address(const config::UpstreamConfig& upstream) {
  if (upstream.port == address_port_ && upstream.host == address_host_) return;
  close_idle();
  endpoints_.clear();
  address_host_ = upstream.host;
  address_port_ = upstream.port;
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle(
    const config::UpstreamConfig& upstream) {
  follow_address(upstream);
  if (idle_.empty()) return nullptr;
  const auto now = clock_.steady_now();
  while (!idle_.empty() &&
         idle_too_long(idle_.front()->idle_since, now, upstream.pool_idle_timeout)) {
    close_connection(*idle_.front());
    idle_.pop_front();
  }
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    if (peek(connection->stream.socket()) == PeekResult::quiet) return connection;
    close_connection(*connection);
    spdlog::debug("upstream {}:{}: discarded an idle connection the upstream closed", address_host_,
                  address_port_);
  }
  return nullptr;
}

net::awaitable<core::Result<UpstreamLease, UpstreamErrc>> UpstreamPool::acquire(
    const config::UpstreamConfig& upstream, bool fresh_only) {
  if (!fresh_only) {
    if (auto idle = take_idle(upstream)) co_return UpstreamLease{std::move(idle), true};
  } else {
    follow_address(upstream);
  }

  if (endpoints_.empty()) {
    tcp::resolver resolver(executor_);
    auto [ec, results] =
        co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port), use_nothrow);
    if (ec) {
      spdlog::warn("upstream {}:{}: cannot resolve: {}", address_host_, address_port_,
                   ec.message());
      co_return core::unexpected(UpstreamErrc::unavailable);
    }
    for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
  }

  auto connection = std::make_unique<UpstreamConnection>(executor_);
  beast::tcp_stream& stream = connection->stream;
  stream.expires_after(upstream.connect_timeout);
  auto [ec, endpoint] = co_await stream.async_connect(endpoints_, use_nothrow);
  if (ec) {
    const bool timed_out = ec == beast::error::timeout;
    spdlog::debug("upstream {}:{}: connect failed: {}", address_host_, address_port_, ec.message());
    if (!timed_out) endpoints_.clear();  // resolve again next time
    co_return core::unexpected(timed_out ? UpstreamErrc::timeout : UpstreamErrc::unavailable);
  }
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  stream.expires_never();
  co_return UpstreamLease{std::move(connection), false};
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection) {
  if (idle_.size() >= kMaxIdle || !connection->stream.socket().is_open()) return;
  if (connection->buffer.size() != 0) return;  // unexpected bytes: not reusable
  connection->stream.expires_never();
  connection->idle_since = clock_.steady_now();
  idle_.push_back(std::move(connection));
}

void UpstreamPool::close_idle() {
  for (auto& connection : idle_) close_connection(*connection);
  idle_.clear();
}

}  // namespace gw::proxy

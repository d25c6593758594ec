#include "proxy/upstream_pool.h"

#include <spdlog/spdlog.h>

namespace gw::proxy {

UpstreamPool::UpstreamPool(net::any_io_executor executor) : executor_(std::move(executor)) {}

void UpstreamPool::follow_address(const config::UpstreamConfig& upstream) {
  if (upstream.port == address_port_ && upstream.host == address_host_) return;
  close_idle();
  endpoints_.clear();
  address_host_ = upstream.host;
  address_port_ = upstream.port;
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle(const config::UpstreamConfig& upstream) {
  follow_address(upstream);
  if (idle_.empty()) return nullptr;
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
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
      spdlog::warn("upstream {}:{}: cannot resolve: {}", address_host_, address_port_, ec.message());
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
  idle_.push_back(std::move(connection));
}

void UpstreamPool::close_idle() {
  for (auto& connection : idle_) {
    beast::error_code ignored;
    connection->stream.socket().close(ignored);
  }
  idle_.clear();
}

}  // namespace gw::proxy

#include "proxy/upstream_pool.h"

#include <spdlog/spdlog.h>

namespace gw::proxy {

UpstreamPool::UpstreamPool(net::any_io_executor executor) : executor_(std::move(executor)) {}

net::awaitable<core::Result<UpstreamLease, UpstreamErrc>> UpstreamPool::acquire(
    const config::UpstreamConfig& upstream, bool fresh_only) {
  std::string key = upstream.host + ':' + std::to_string(upstream.port);
  if (key != address_key_) {
    close_idle();
    endpoints_.clear();
    address_key_ = std::move(key);
  }
  if (!fresh_only && !idle_.empty()) {
    UpstreamLease lease{std::move(idle_.back()), true};
    idle_.pop_back();
    co_return lease;
  }

  if (endpoints_.empty()) {
    tcp::resolver resolver(executor_);
    auto [ec, results] =
        co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port), use_nothrow);
    if (ec) {
      spdlog::warn("upstream {}: cannot resolve: {}", address_key_, ec.message());
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
    spdlog::debug("upstream {}: connect failed: {}", address_key_, ec.message());
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

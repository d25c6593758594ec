#include "proxy/proxy_server.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "proxy/worker.h"

namespace gw::proxy {

ProxyServer::ProxyServer(const ProxyDeps& deps, std::size_t threads) : deps_(deps) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    workers_.push_back(std::make_unique<Worker>(deps_, limits_));
  }
}

ProxyServer::~ProxyServer() { drain_and_stop(std::chrono::milliseconds(0)); }

core::Result<std::uint16_t, std::string> ProxyServer::start(const config::ListenAddress& address) {
  beast::error_code ec;
  const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  const auto ip = net::ip::make_address(host, ec);
  if (ec) return core::unexpected("invalid listen address '" + address.host + "'");
  tcp::endpoint endpoint(ip, address.port);
  for (auto& worker : workers_) {
    auto bound = worker->bind(endpoint);
    if (!bound) {
      return core::unexpected("cannot listen on " + host + ":" + std::to_string(endpoint.port()) +
                              ": " + bound.error());
    }
    endpoint = *bound;  // port 0: the others join the port the first one got
  }
  for (auto& worker : workers_) worker->start();
  return endpoint.port();
}

void ProxyServer::drain_and_stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) worker->begin_drain();
  const auto deadline = deps_.clock.steady_now() + grace;
  auto open = [this] {
    std::size_t total = 0;
    for (auto& worker : workers_) total += worker->open_connections();
    return total;
  };
  // The control thread polls a counter here: draining has no event to wait on that spans
  // every worker, and a 10 ms tick bounds the shutdown delay without a busy loop.
  while (open() > 0 && deps_.clock.steady_now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open() > 0) {
    // Streams are not cut: each gets a close handshake with 1001, so its client knows to
    // reconnect (elsewhere). Bounded: a peer that never answers its close is dropped.
    for (auto& worker : workers_) worker->close_streams();
    const auto closing_deadline = deps_.clock.steady_now() + kStreamCloseGrace;
    while (open() > 0 && deps_.clock.steady_now() < closing_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (open() > 0) spdlog::warn("shutdown grace over with {} connections open", open());
  }
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
}

}  // namespace gw::proxy

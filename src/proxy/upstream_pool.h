// Keep-alive connections from one worker to the upstream API. Owned by one worker thread
// and used only from it (no locking). A connection is taken for one request and given
// back only when its response ended cleanly and both sides agreed to keep it alive.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "core/result.h"
#include "proxy/beast.h"

namespace gw::proxy {

enum class UpstreamErrc { unavailable, timeout };

// One connection to the upstream with its read buffer (bytes past a response stay with
// the connection they came from).
struct UpstreamConnection {
  explicit UpstreamConnection(net::any_io_executor executor) : stream(std::move(executor)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

struct UpstreamLease {
  std::unique_ptr<UpstreamConnection> connection;
  bool reused = false;  // came from the idle pool (the upstream may have closed it since)
};

class UpstreamPool {
 public:
  explicit UpstreamPool(net::any_io_executor executor);

  // An idle connection, or a new one connected within upstream.connect_timeout.
  // A change of upstream address (reload) drops the idle connections to the old one.
  net::awaitable<core::Result<UpstreamLease, UpstreamErrc>> acquire(
      const config::UpstreamConfig& upstream, bool fresh_only = false);

  // acquire()'s first step without a coroutine (the common case: a warm pool): an idle
  // connection to `upstream`, or nullptr.
  std::unique_ptr<UpstreamConnection> take_idle(const config::UpstreamConfig& upstream);

  // Hands a connection back for reuse.
  void release(std::unique_ptr<UpstreamConnection> connection);

  void close_idle();

 private:
  static constexpr std::size_t kMaxIdle = 512;

  // Forgets idle connections and endpoints of another address than `upstream`'s.
  void follow_address(const config::UpstreamConfig& upstream);

  net::any_io_executor executor_;
  // The address the idle connections and endpoints belong to.
  std::string address_host_;
  std::uint16_t address_port_ = 0;
  std::vector<tcp::endpoint> endpoints_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;
};

}  // namespace gw::proxy

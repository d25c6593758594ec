// Keep-alive connections from one worker to the upstream API. Owned by one worker thread
// and used only from it (no locking). A connection is taken for one request and given
// back only when its response ended cleanly and both sides agreed to keep it alive.
//
// Stale connections. An upstream closes keep-alive connections it finds idle (Node and
// uvicorn after 5 s, aiohttp after 75 s, gunicorn after 2 s). take_idle() hands out
// only a connection that passes both checks:
// - Idle age: one idle longer than upstream.pool_idle_timeout (4 s by default, below the
//   common 5 s) is closed unused. This catches the closes a peek cannot see yet: an
//   upstream whose timer fires while our request is on its way, and a middlebox (NAT,
//   firewall) that drops an idle flow without telling either side.
// - Peek: one non-blocking recv(MSG_PEEK) on the socket (the only extra system call of a
//   reuse). It must find nothing to read: an end of stream (the upstream closed), a reset,
//   or bytes nobody asked for (a 408 sent before closing) all mean the connection is dead.
// A close that neither check sees is what HttpConnection::forward() retries (see there).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/gateway_config.h"
#include "core/beast.h"
#include "core/clock.h"
#include "core/result.h"

namespace gw::proxy {

enum class UpstreamErrc { unavailable, timeout };

// One connection to the upstream with its read buffer (bytes past a response stay with
// the connection they came from).
struct UpstreamConnection {
  explicit UpstreamConnection(net::any_io_executor executor) : stream(std::move(executor)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};  // when it was last given back
};

struct UpstreamLease {
  std::unique_ptr<UpstreamConnection> connection;
  bool reused = false;  // came from the idle pool (the upstream may have closed it since)
};

// What a non-blocking peek finds on a connection nothing was asked of.
enum class PeekResult {
  quiet,   // nothing to read: the connection is open and idle
  closed,  // end of stream, or an error (a reset)
  data,    // bytes to read
};
PeekResult peek(tcp::socket& socket) noexcept;

// Whether a connection idle since `idle_since` is too old to be reused at `now`.
// A cap of zero reuses nothing.
constexpr bool idle_too_long(std::chrono::steady_clock::time_point idle_since,
                             std::chrono::steady_clock::time_point now,
                             std::chrono::milliseconds cap) noexcept {
  return now - idle_since >= cap;
}

class UpstreamPool {
 public:
  // `clock` gives the steady time idle ages are measured in (tests pass a FakeClock).
  explicit UpstreamPool(net::any_io_executor executor,
                        const core::Clock& clock = core::real_clock());

  // An idle connection, or a new one connected within upstream.connect_timeout.
  // A change of upstream address (reload) drops the idle connections to the old one.
  net::awaitable<core::Result<UpstreamLease, UpstreamErrc>> acquire(
      const config::UpstreamConfig& upstream, bool fresh_only = false);

  // acquire()'s first step without a coroutine (the common case: a warm pool): the most
  // recently used idle connection to `upstream` that is neither too old nor closed (see
  // above), or nullptr. The ones it finds stale are closed.
  std::unique_ptr<UpstreamConnection> take_idle(const config::UpstreamConfig& upstream);

  // Hands a connection back for reuse.
  void release(std::unique_ptr<UpstreamConnection> connection);

  void close_idle();

  std::size_t idle_count() const noexcept { return idle_.size(); }

 private:
  static constexpr std::size_t kMaxIdle = 512;

  // Forgets idle connections and endpoints of another address than `upstream`'s.
  void follow_address(const config::UpstreamConfig& upstream);

  net::any_io_executor executor_;
  const core::Clock& clock_;
  // The address the idle connections and endpoints belong to.
  std::string address_host_;
  std::uint16_t address_port_ = 0;
  std::vector<tcp::endpoint> endpoints_;
  // Oldest at the front: taken from the back (warmest), aged out from the front.
  std::deque<std::unique_ptr<UpstreamConnection>> idle_;
};

}  // namespace gw::proxy

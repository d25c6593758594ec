// One worker thread: its io_context, its acceptor on the shared port (SO_REUSEPORT), its
// upstream pool, caller cache and decider, and the connections it serves. A connection stays on its
// worker for life, so nothing here is locked; other threads talk to a worker only by
// posting to its io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_set>

#include "core/beast.h"
#include "core/result.h"
#include "decision/caller_cache.h"
#include "decision/decider.h"
#include "proxy/listener_limits.h"
#include "proxy/proxy_deps.h"
#include "proxy/upstream_pool.h"
#include "stream/relay_buffers.h"
#include "stream/stream_deps.h"

namespace gw::proxy {

class HttpConnection;

class Worker {
 public:
  // `limits` is shared by every worker of the listener and outlives them.
  Worker(const ProxyDeps& deps, ListenerLimits& limits);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's acceptor (SO_REUSEPORT) to `endpoint`. Called before start().
  core::Result<tcp::endpoint, std::string> bind(const tcp::endpoint& endpoint);

  void start();  // runs the io_context on a thread of its own
  void join();

  // Stops accepting and closes idle keep-alive connections; busy ones finish their
  // current request and then close. Thread-safe (posts to the worker).
  void begin_drain();
  void stop();  // stops the io_context; in-flight work is abandoned. Thread-safe.
  std::size_t open_connections() const noexcept { return open_.load(std::memory_order_acquire); }

  // For connections (worker thread only).
  const ProxyDeps& deps() const noexcept { return deps_; }
  net::io_context& io() noexcept { return io_; }
  UpstreamPool& upstream() noexcept { return upstream_; }
  decision::CallerCache& callers() noexcept { return callers_; }
  decision::Decider& decider() noexcept { return decider_; }
  ListenerLimits& limits() noexcept { return limits_; }
  stream::RelayBuffers& relay_buffers() noexcept { return relay_buffers_; }
  const stream::StreamDeps& stream_deps() const noexcept { return stream_deps_; }
  bool draining() const noexcept { return draining_; }
  void add(HttpConnection* connection);
  void remove(HttpConnection* connection);

  // Closes every open session stream with 1001 (going away). Thread-safe (posts).
  void close_streams();

  // How often connections' deadlines are checked (HttpConnection::arm): a timeout fires
  // up to this much late.
  static constexpr std::chrono::milliseconds kDeadlineTick{100};

 private:
  net::awaitable<void> accept_loop();
  // Takes a just-accepted socket in, unless a connection cap says no (closed at once).
  void admit(tcp::socket socket);
  net::awaitable<void> sweep_deadlines();

  // Declared before io_ so they outlive it: destroying io_ destroys the connections still
  // suspended in it, and each one unregisters itself here.
  ProxyDeps deps_;
  ListenerLimits& limits_;
  std::unordered_set<HttpConnection*> connections_;
  std::unordered_set<stream::StreamRelay*> streams_;
  std::atomic<std::size_t> open_{0};
  bool draining_ = false;

  // One thread runs it, and its sockets are used only from that thread (other threads
  // post): the reactor's per-socket locking is pure cost here (a lock pair per operation).
  net::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  tcp::acceptor acceptor_{io_};
  UpstreamPool upstream_{io_.get_executor(), deps_.clock};
  decision::CallerCache callers_;
  decision::Decider decider_{callers_,      deps_.accounts, deps_.counters,
                             deps_.metrics, deps_.usage,    deps_.clock};
  stream::RelayBuffers relay_buffers_;
  const stream::StreamDeps stream_deps_{io_,         deps_.running, deps_.sessions,   deps_.metrics,
                                        deps_.clock, decider_,      limits_.messages, streams_};
  std::thread thread_;
};

}  // namespace gw::proxy

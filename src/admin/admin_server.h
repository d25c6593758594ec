// The admin listener (SPEC §6): the admin API, /metrics, /healthz, /readyz and /dashboard
// over HTTP/1.1 with keep-alive, on an io_context the app runs on one thread (the control
// thread): the acceptor and the connections take no strand, which cost a tenth of
// POST /v1/check (callgrind).
//
// Authentication: everything under /admin/ needs `Authorization: Bearer <admin token>`;
// /metrics, /healthz, /readyz and /dashboard do not (operator convention: they carry no
// account data and the listener binds to loopback by default).
//
// Thread-safety: listen() once, from one thread; stop() from any thread, any number of
// times. The deps must outlive the io_context's last handler (see AdminDeps). Destroy the
// server before the io_context; it stops itself, and its state lives on in pending
// handlers until they run or the io_context drops them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "admin/admin_deps.h"
#include "admin/admin_session.h"
#include "config/gateway_config.h"
#include "core/result.h"

namespace gw::admin {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, AdminDeps deps, AdminTimeouts timeouts = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts accepting. Returns the bound port (an ephemeral one for port 0), or
  // a message naming the address when it cannot be bound.
  core::Result<std::uint16_t, std::string> listen(const config::ListenAddress& address);

  // Stops accepting and closes every open connection (a request being handled is
  // abandoned). Asynchronous: it takes effect on the io_context's threads.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gw::admin

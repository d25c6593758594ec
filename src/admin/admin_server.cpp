#include "admin/admin_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "admin/admin_router.h"
#include "admin/admin_session.h"
#include "core/log_throttle.h"

namespace gw::admin {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an accept error such as EMFILE, wait before retrying instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

}  // namespace

// Shared by the server and its pending accept handlers; touched on the io_context's thread
// except where noted.
struct AdminServer::State : std::enable_shared_from_this<State> {
  State(net::io_context& io, AdminDeps deps, AdminTimeouts timeouts)
      : io(io),
        timeouts(timeouts),
        router(std::make_shared<const AdminRouter>(std::move(deps))),
        acceptor(io),
        retry_timer(acceptor.get_executor()) {}

  void do_accept() {
    acceptor.async_accept(
        io.get_executor(),
        [self = shared_from_this()](boost::system::error_code ec, AdminSession::Socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  void on_accept(boost::system::error_code ec, AdminSession::Socket socket) {
    if (stopped || ec == net::error::operation_aborted) return;
    if (ec) {
      static core::LogThrottle throttle;  // out of descriptors fails every retry
      if (auto held_back = throttle.admit()) {
        spdlog::warn("admin: accept failed: {} ({} more held back)", ec.message(), *held_back);
      }
      retry_timer.expires_after(kAcceptRetryDelay);
      retry_timer.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
        if (!wait_ec && !self->stopped) self->do_accept();
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<AdminSession>(std::move(socket), router, timeouts);
    std::erase_if(sessions, [](const auto& weak) { return weak.expired(); });
    sessions.push_back(session);
    session->run();
    do_accept();
  }

  void do_stop() {
    if (stopped) return;
    stopped = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
    for (const auto& weak : sessions) {
      if (auto session = weak.lock()) session->close();
    }
    sessions.clear();
  }

  net::io_context& io;
  AdminTimeouts timeouts;
  std::shared_ptr<const AdminRouter> router;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::vector<std::weak_ptr<AdminSession>> sessions;  // pruned on each accept
  bool stopped = false;
  bool listening = false;  // set by listen(), before any handler runs
};

AdminServer::AdminServer(net::io_context& io, AdminDeps deps, AdminTimeouts timeouts)
    : state_(std::make_shared<State>(io, std::move(deps), timeouts)) {}

AdminServer::~AdminServer() { stop(); }

core::Result<std::uint16_t, std::string> AdminServer::listen(const config::ListenAddress& address) {
  const std::string where = address.host + ":" + std::to_string(address.port);
  if (state_->listening) return core::unexpected("admin listener: already listening");

  boost::system::error_code ec;
  const auto ip = address.host == "localhost" ? net::ip::make_address("127.0.0.1", ec)
                                              : net::ip::make_address(address.host, ec);
  if (ec) return core::unexpected("admin listener " + where + ": not an IP address");

  const tcp::endpoint endpoint(ip, address.port);
  tcp::acceptor& acceptor = state_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return core::unexpected("admin listener " + where + ": " + ec.message());
  }
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    acceptor.close(ec);
    return core::unexpected("admin listener " + where + ": " + ec.message());
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    acceptor.close(ec);
    return core::unexpected("admin listener " + where + ": " + ec.message());
  }
  const std::uint16_t port = acceptor.local_endpoint(ec).port();
  state_->listening = true;
  net::dispatch(acceptor.get_executor(), [state = state_] {
    if (!state->stopped) state->do_accept();
  });
  spdlog::info("admin: listening on {}:{}", address.host, port);
  return port;
}

void AdminServer::stop() {
  net::dispatch(state_->acceptor.get_executor(), [state = state_] { state->do_stop(); });
}

}  // namespace gw::admin

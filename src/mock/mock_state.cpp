// ConnectionRegistry; see mock_state.h.
#include "mock/mock_state.h"

#include <boost/asio/post.hpp>

namespace gw::mock {

void ConnectionRegistry::add(std::shared_ptr<tcp::acceptor> acceptor) {
  std::lock_guard lock(mu_);
  acceptors_.push_back(std::move(acceptor));
}

void ConnectionRegistry::add(const std::shared_ptr<MockConnection>& connection) {
  std::lock_guard lock(mu_);
  open_.emplace(connection.get(), connection);
}

void ConnectionRegistry::remove(const MockConnection* connection) {
  std::lock_guard lock(mu_);
  open_.erase(connection);
}

void ConnectionRegistry::close_all() {
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::vector<std::shared_ptr<MockConnection>> open;
  {
    std::lock_guard lock(mu_);
    acceptors.swap(acceptors_);
    for (const auto& [key, weak] : open_) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  for (auto& acceptor : acceptors) {
    // On the acceptor's strand: its accept loop runs there.
    net::post(acceptor->get_executor(), [acceptor] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
  for (auto& connection : open) connection->close();  // outside the lock: remove() takes it
}

}  // namespace gw::mock

// What every connection of one MockUpstream shares: the stats, the fake sessions, and the
// registry of what stop() must close (acceptors and open connections).
//
// Thread safety: every member may be used from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "mock/fake_sessions.h"
#include "mock/mock_stats.h"
#include "mock/net.h"

namespace gw::mock {

// An HTTP connection or a session stream.
class MockConnection {
 public:
  virtual ~MockConnection() = default;
  // From any thread: closes the connection on its own strand; its operations end.
  virtual void close() = 0;
};

class ConnectionRegistry {
 public:
  void add(std::shared_ptr<tcp::acceptor> acceptor);
  void add(const std::shared_ptr<MockConnection>& connection);
  void remove(const MockConnection* connection);
  // Closes (and forgets) every acceptor, and closes every connection still open.
  void close_all();

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;                          // by mu_
  std::unordered_map<const MockConnection*, std::weak_ptr<MockConnection>> open_;  // by mu_
};

struct MockState {
  std::atomic<bool> stopped{false};
  MockStats stats;
  FakeSessions sessions;
  ConnectionRegistry connections;
};

}  // namespace gw::mock

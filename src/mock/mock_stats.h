// What GET /__mock/stats reports (its fields are listed in mock_upstream.h): requests by
// path, body bytes, connections, and the session streams' messages and close codes.
//
// Thread safety: every method may be called from any thread (atomic counters; the rest
// under one mutex).
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace gw::mock {

class MockStats {
 public:
  // In the order /__mock/stats lists them. ws_messages counts every data message received,
  // ping and stats requests included.
  enum Counter {
    connections_total,
    connections_active,  // HTTP connections and streams
    ws_connections_total,
    ws_connections_active,
    ws_messages,
    ws_bytes,
    ws_messages_sent,
    ws_bytes_sent,
  };
  void add(Counter counter, std::int64_t n = 1) {
    counters_[counter].fetch_add(n, std::memory_order_relaxed);
  }

  void count_request(std::string_view path);
  void count_body(std::uint64_t bytes);
  // A close frame a client sent (the reason is kept to its 123 bytes at most).
  void count_ws_close(std::uint16_t code, std::string_view reason);

  boost::json::object to_json() const;
  // Zeroes everything but the *_active gauges.
  void reset();

  // Counts one in `counter` for its lifetime: an open connection.
  class Open {
   public:
    Open(MockStats& stats, Counter counter) : stats_(stats), counter_(counter) {
      stats.add(counter);
    }
    ~Open() { stats_.add(counter_, -1); }
    Open(const Open&) = delete;
    Open& operator=(const Open&) = delete;

   private:
    MockStats& stats_;
    Counter counter_;
  };

 private:
  std::array<std::atomic<std::int64_t>, ws_bytes_sent + 1> counters_{};
  mutable std::mutex mu_;
  std::uint64_t requests_ = 0;                                       // guarded by mu_
  std::uint64_t body_bytes_ = 0;                                     // guarded by mu_
  std::unordered_map<std::string, std::uint64_t> by_path_;           // guarded by mu_
  std::map<std::uint16_t, std::uint64_t> ws_close_codes_;            // guarded by mu_
  std::optional<std::pair<std::uint16_t, std::string>> last_close_;  // guarded by mu_
};

}  // namespace gw::mock

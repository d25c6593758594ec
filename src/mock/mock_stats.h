// What GET /__mock/stats reports (its fields are listed in mock_upstream.h): requests by
// path, body bytes, connections, and the session streams' messages and close codes.
//
// Thread safety: every member may be used from any thread (atomics, the rest under one
// mutex).
#pragma once

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
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::int64_t> connections_active{0};  // HTTP and stream connections
  std::atomic<std::uint64_t> ws_connections_total{0};
  std::atomic<std::int64_t> ws_connections_active{0};
  std::atomic<std::uint64_t> ws_messages{0};  // data messages received, control ones included
  std::atomic<std::uint64_t> ws_bytes{0};
  std::atomic<std::uint64_t> ws_messages_sent{0};
  std::atomic<std::uint64_t> ws_bytes_sent{0};

  void count_request(std::string_view path);
  void count_body(std::uint64_t bytes);
  // A close frame a client sent (the reason is kept to its 123 bytes at most).
  void count_ws_close(std::uint16_t code, std::string_view reason);

  boost::json::object to_json() const;
  // Zeroes everything but the *_active gauges.
  void reset();

 private:
  mutable std::mutex mu_;
  std::uint64_t requests_ = 0;                                       // guarded by mu_
  std::uint64_t body_bytes_ = 0;                                     // guarded by mu_
  std::unordered_map<std::string, std::uint64_t> by_path_;           // guarded by mu_
  std::map<std::uint16_t, std::uint64_t> ws_close_codes_;            // guarded by mu_
  std::optional<std::pair<std::uint16_t, std::string>> last_close_;  // guarded by mu_
};

}  // namespace gw::mock

// The mock Kallglot API's answers to HTTP requests (the contract is in mock_upstream.h): the
// /__mock/* controls, the X-Mock-* test controls, the session routes over their fake state,
// and the JSON echo of what every request carried.
//
// Thread safety: the functions are pure but for `state`; MockState may be used from any
// thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mock/bodies.h"
#include "mock/mock_stats.h"

namespace gw::mock {

// The sessions handed out and which were ended; an id never seen is "active". Past 100000
// the table starts over: benchmarks create millions, and the status is cosmetic.
class FakeSessions {
 public:
  struct Created {
    std::string id;            // sess_ and 24 hex digits
    std::string stream_token;  // kst_ and 32 hex digits
  };
  Created create();
  void end(const std::string& id);
  std::string status(const std::string& id) const;  // "active" or "ended"

 private:
  void set(const std::string& id, const char* status);
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> status_;  // guarded by mu_
};

// What every connection of one MockUpstream shares.
struct MockState {
  MockStats stats;
  FakeSessions sessions;
};

struct Target {
  std::string_view path;
  std::string_view query;  // after the first '?', not decoded
};
Target split_target(std::string_view target);

// /__mock/*: never counted in the stats.
bool is_control_path(std::string_view path);
// GET /v1/sessions/{id}/connect with a WebSocket Upgrade: a session stream.
bool is_stream_connect(const MockRequest& req, std::string_view path);

struct Answer {
  http::message_generator message;
  std::chrono::milliseconds delay{0};  // X-Mock-Delay-Ms: write the answer this much later
};
// `req` has been read whole (its body counted and hashed).
Answer answer(const MockRequest& req, MockState& state);

// 401: a stream connect without a stream token. Closes the connection.
http::message_generator refuse_stream(const MockRequest& req);
// A request the parser refused, with `status` and the parser's `why`. Closes the connection.
http::message_generator refuse_malformed(http::status status, std::string_view why);

}  // namespace gw::mock

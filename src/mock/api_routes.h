// The mock Kallglot API's answers to HTTP requests (the contract is in mock_upstream.h): the
// /__mock/* controls, the X-Mock-* test controls, the session routes over FakeSessions, and
// the JSON echo of what every request carried.
//
// Thread safety: pure functions apart from `state`, which is thread-safe.
#pragma once

#include <chrono>
#include <string_view>

#include "mock/bodies.h"
#include "mock/mock_state.h"

namespace gw::mock {

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

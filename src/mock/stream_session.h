// The mock's end of a session stream (GET /v1/sessions/{id}/connect with an Upgrade): echo,
// flood, close_after_ms, and the {"type":"ping"} / {"type":"stats"} replies that
// mock_upstream.h describes.
//
// Thread safety: the stream runs on the executor (a strand) of the socket it was given.
#pragma once

#include <memory>
#include <string_view>

#include "mock/api_routes.h"

namespace gw::mock {

// A stream token: query `token=kst_…` or `Authorization: Bearer kst_…` (any kst_ value).
bool has_stream_token(const MockRequest& req, std::string_view query);

// Answers the upgrade `req` (read whole from `socket`) and serves the stream; `query` is the
// connect URL's, with the stream's parameters.
void serve_stream(tcp::socket socket, MockRequest req, std::string_view query,
                  std::shared_ptr<MockState> state);

}  // namespace gw::mock

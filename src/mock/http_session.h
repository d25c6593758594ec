// One HTTP/1.1 client connection of the mock, as one coroutine: reads each request (the
// body counted and hashed, never stored), answers it through api_routes.h after any
// X-Mock-Delay-Ms, and keeps the connection alive while the client does; a stream connect
// goes on to stream_session.h with the socket.
//
// Thread safety: the connection runs on the executor (a strand) of the socket it was given.
#pragma once

#include <memory>

#include "mock/api_routes.h"

namespace gw::mock {

void serve_http(tcp::socket socket, std::shared_ptr<MockState> state);

}  // namespace gw::mock

// Namespace shortcuts for the Boost.Asio/Beast/JSON code of mock/, and its completion token.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace gw::mock {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

// Coroutines get error codes as values: nothing in mock/ throws.
inline constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

}  // namespace gw::mock

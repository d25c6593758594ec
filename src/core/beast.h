// Namespace shortcuts for the Boost.Asio/Beast code of proxy/ and stream/ (as Beast's own
// examples do), in namespace gw so that both modules see them.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace gw {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Completion token for coroutines that returns error codes as values: no exceptions on
// the request path.
inline constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

// Whether `ec` ended an operation because a timer of Beast or the kernel ran out.
inline bool is_timeout(const beast::error_code& ec) {
  return ec == beast::error::timeout || ec == net::error::timed_out;
}

}  // namespace gw

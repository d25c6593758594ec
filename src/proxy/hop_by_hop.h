// Hop-by-hop header handling (RFC 9110 §7.6.1): what a proxy must not forward.
#pragma once

#include <boost/beast/http/fields.hpp>

namespace gw::proxy {

// Removes Connection, Keep-Alive, Proxy-*, TE, Trailer, Upgrade and every header that the
// Connection header names. Message framing (Content-Length, Transfer-Encoding) is left to
// the caller: Beast re-frames the message it serializes.
void strip_hop_by_hop(boost::beast::http::fields& fields);

}  // namespace gw::proxy

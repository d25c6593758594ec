// Hop-by-hop header handling (RFC 9110 §7.6.1): what a proxy must not forward.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string>
#include <vector>

namespace gw::proxy {

// Tells which fields of a message are hop-by-hop: Connection, Keep-Alive, Proxy-*, TE,
// Trailer, Upgrade, and every field the Connection header names. Framing fields
// (Content-Length, Transfer-Encoding) are never dropped: a relayed response keeps its
// framing (a forwarded request's framing is the gateway's own, upstream_request_head.h).
class HopByHopFilter {
 public:
  explicit HopByHopFilter(const boost::beast::http::fields& fields);

  bool drops(const boost::beast::http::fields::value_type& field) const;

 private:
  std::vector<std::string> named_;  // the Connection header's tokens, as sent
};

}  // namespace gw::proxy

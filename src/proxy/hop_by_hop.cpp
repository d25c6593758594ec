#include "proxy/hop_by_hop.h"

#include <boost/beast/http/rfc7230.hpp>

#include "core/ascii.h"

namespace gw::proxy {

namespace http = boost::beast::http;

HopByHopFilter::HopByHopFilter(const http::fields& fields) {
  auto connection = fields.find(http::field::connection);
  if (connection == fields.end()) return;
  for (auto token : http::token_list{connection->value()}) {
    named_.emplace_back(token);
  }
}

bool HopByHopFilter::drops(const http::fields::value_type& field) const {
  switch (field.name()) {
    case http::field::content_length:
    case http::field::transfer_encoding:
      return false;  // framing: never dropped, even when Connection names it
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
      return true;
    default:
      break;
  }
  for (const auto& name : named_) {
    if (core::iequals(name, field.name_string())) return true;
  }
  return false;
}

}  // namespace gw::proxy

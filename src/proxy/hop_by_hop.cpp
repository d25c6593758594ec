#include "proxy/hop_by_hop.h"

#include <string>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace gw::proxy {

namespace http = boost::beast::http;

void strip_hop_by_hop(http::fields& fields) {
  auto connection = fields.find(http::field::connection);
  if (connection != fields.end()) {
    std::vector<std::string> named;
    for (auto token : http::token_list{connection->value()}) named.emplace_back(token);
    for (const auto& name : named) {
      // Never let a client strip framing or identity headers by naming them.
      if (boost::beast::iequals(name, "content-length") || boost::beast::iequals(name, "transfer-encoding")) {
        continue;
      }
      fields.erase(name);
    }
    fields.erase(http::field::connection);
  }
  fields.erase(http::field::keep_alive);
  fields.erase(http::field::proxy_authenticate);
  fields.erase(http::field::proxy_authorization);
  fields.erase(http::field::proxy_connection);
  fields.erase(http::field::te);
  fields.erase(http::field::trailer);
  fields.erase(http::field::upgrade);
}

}  // namespace gw::proxy

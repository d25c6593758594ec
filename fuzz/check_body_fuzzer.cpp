// A POST /v1/check body from the wire through read_check_body(), which reads Boost.JSON's
// parser events rather than a DOM, checked against the DOM of the same bytes: a body the
// reader accepts must parse to an object holding exactly what the reader took; a body it
// refuses as a whole (no member named) must be malformed JSON or not an object. A crash, a
// sanitizer report or a disagreement is a finding.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/check_exchange.h"
#include "limiter/limit_bounds.h"

namespace {

void require(bool holds) {
  if (!holds) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto query = gw::admin::read_check_body(text);
  boost::system::error_code ec;
  const boost::json::value dom = boost::json::parse(text, ec);
  if (!query) {
    require(!query.error().message.empty());
    if (!query.error().param) require(ec || !dom.is_object());
    return 0;
  }
  require(!ec && dom.is_object());
  const boost::json::object& body = dom.as_object();
  require(body.at("api_key").as_string() == query->key);
  require(query->selectors.size() == 2);
  require(body.at("method").as_string() == query->selectors[1].method);
  require(body.at("path").as_string() == query->selectors[1].path);
  require(query->cost >= 1 && query->cost <= gw::limiter::kMaxCost);
  const auto* cost = body.if_contains("cost");
  require(cost == nullptr || cost->is_null() ? query->cost == 1 : cost->as_int64() == query->cost);
  for (const auto& member : body) {
    const std::string_view name = member.key();
    require(name == "api_key" || name == "method" || name == "path" || name == "cost");
  }
  return 0;
}

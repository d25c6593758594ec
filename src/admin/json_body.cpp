#include "admin/json_body.h"

#include <boost/json/parse.hpp>

namespace gw::admin {

// The body as a JSON object. An empty body is `empty_ok ? {} : error`.
core::Result<boost::json::object, std::string> parse_object(std::string_view body, bool empty_ok) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    if (empty_ok) return boost::json::object();
    return core::unexpected(std::string(kNotAJsonObject));
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec) return core::unexpected(malformed_json(ec));
  if (!value.is_object()) {
    return core::unexpected(std::string(kNotAJsonObject));
  }
  return std::move(value.as_object());
}

// The first member of `body` not in `allowed`, if any.
std::optional<std::string> unknown_field(const boost::json::object& body,
                                         std::initializer_list<std::string_view> allowed) {
  for (const auto& member : body) {
    bool known = false;
    for (auto name : allowed) known = known || member.key() == name;
    if (!known) return std::string(member.key());
  }
  return std::nullopt;
}

}  // namespace gw::admin

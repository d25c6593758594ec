// Reading an admin request's JSON body: the object itself, and the first member a route
// does not know (each route lists its fields, so a misspelt one is a 400, not ignored).
// Pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gw::admin {

// The errors of a body that is not one JSON object, for every reader of admin bodies.
inline constexpr std::string_view kNotAJsonObject = "The request body must be a JSON object.";
inline std::string malformed_json(const boost::system::error_code& ec) {
  return "Malformed JSON body: " + ec.message() + ".";
}

// The body as a JSON object. An empty body is `empty_ok ? {} : error`.
core::Result<boost::json::object, std::string> parse_object(std::string_view body, bool empty_ok);

// The first member of `body` not in `allowed`, if any.
std::optional<std::string> unknown_field(const boost::json::object& body,
                                         std::initializer_list<std::string_view> allowed);

}  // namespace gw::admin

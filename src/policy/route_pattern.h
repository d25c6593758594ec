// The syntax of one route pattern, "METHOD /path/{id}/x*", shared by RouteTable (which
// compiles patterns for matching) and config/ (which validates them and must tell when two
// groups list the same route). Pure functions of their input; thread-safe.
//
//   METHOD   an upper-case HTTP method (GET, DELETE, ...) or `*` for any method
//   /path    '/'-separated segments; "/" alone is the root. No empty segments, no query
//            string, no whitespace.
//   {name}   a whole segment: matches exactly one non-empty request segment
//   x*       only in the last segment: a prefix of that segment, covering deeper paths too
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gw::policy {

struct PatternSegment {
  enum class Kind { literal, param, prefix };
  Kind kind = Kind::literal;
  std::string text;  // literal: the segment; param: the name; prefix: text before the `*`
};

struct RoutePattern {
  std::string method;  // "*" = any
  std::vector<PatternSegment> segments;
};

// Fails with a message saying what is wrong with the pattern.
core::Result<RoutePattern, std::string> parse_route_pattern(std::string_view pattern);

// A form in which two patterns that match exactly the same requests compare equal
// (parameter names are dropped, literals lower-cased): "GET /v1/sessions/{}/end".
std::string canonical_route(const RoutePattern& pattern);

}  // namespace gw::policy

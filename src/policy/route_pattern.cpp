#include "policy/route_pattern.h"

#include <algorithm>

#include "core/ascii.h"

namespace gw::policy {
namespace {

bool is_upper_method(std::string_view m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_param_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return core::is_ascii_alnum(c) || c == '_'; });
}

core::Unexpected<std::string> fail(std::string_view pattern, std::string_view why) {
  return core::unexpected("malformed route \"" + std::string(pattern) + "\": " + std::string(why));
}

}  // namespace

core::Result<RoutePattern, std::string> parse_route_pattern(std::string_view pattern) {
  const auto space = pattern.find(' ');
  if (space == std::string_view::npos) {
    return fail(pattern, "expected \"METHOD /path\" (e.g. \"GET /v1/sessions/{id}\")");
  }
  RoutePattern out;
  const std::string_view method = pattern.substr(0, space);
  std::string_view path = pattern.substr(space + 1);
  if (method != "*" && !is_upper_method(method)) {
    return fail(pattern, "the method must be an upper-case HTTP method or *");
  }
  out.method = std::string(method);

  if (path.empty() || path.front() != '/') {
    return fail(pattern, "the path must start with '/' after a single space");
  }
  for (const char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
      return fail(pattern, "the path may not contain whitespace, '?' or '#'");
    }
  }
  if (path == "/") {
    return out;  // the root: no segments
  }
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg.empty()) {
      return fail(pattern, "empty path segment (\"//\" or a trailing '/')");
    }
    PatternSegment s;
    if (seg.front() == '{' || seg.back() == '}') {
      if (seg.size() < 2 || seg.front() != '{' || seg.back() != '}' ||
          !is_param_name(seg.substr(1, seg.size() - 2))) {
        return fail(pattern, "a parameter must be a whole segment {name} (letters, digits, _)");
      }
      s.kind = PatternSegment::Kind::param;
      s.text = std::string(seg.substr(1, seg.size() - 2));
    } else if (seg.back() == '*') {
      if (!last) {
        return fail(pattern, "'*' is allowed only at the end of the path");
      }
      s.kind = PatternSegment::Kind::prefix;
      s.text = std::string(seg.substr(0, seg.size() - 1));
    } else {
      s.kind = PatternSegment::Kind::literal;
      s.text = std::string(seg);
    }
    if (s.text.find_first_of("{}*") != std::string::npos) {
      return fail(pattern, "'{', '}' and '*' may appear only as {name} or a trailing '*'");
    }
    out.segments.push_back(std::move(s));
    if (last) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string canonical_route(const RoutePattern& pattern) {
  // Literal text matches in any letter case (RouteTable), so it compares in lower case.
  const auto lowered = [](std::string text) {
    core::to_lower(text);
    return text;
  };
  std::string out = pattern.method;
  out += ' ';
  if (pattern.segments.empty()) {
    out += '/';
  }
  for (const auto& s : pattern.segments) {
    out += '/';
    switch (s.kind) {
      case PatternSegment::Kind::literal:
        out += lowered(s.text);
        break;
      case PatternSegment::Kind::param:
        out += "{}";
        break;
      case PatternSegment::Kind::prefix:
        out += lowered(s.text);
        out += '*';
        break;
    }
  }
  return out;
}

}  // namespace gw::policy

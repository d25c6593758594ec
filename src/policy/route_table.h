// Maps (method, path) to a value through route patterns "METHOD /path/{id}/x*":
// METHOD is an HTTP method or `*` (any); `{name}` matches exactly one non-empty path
// segment; a trailing `*` makes the last segment a prefix match that also covers deeper
// paths (`/v1/recordings/*` matches `/v1/recordings/a/b`). The query string is ignored;
// literal text matches in any letter case, and empty segments ("//", a trailing '/') are
// skipped, as lenient origin routers read them.
// Compiled once; match() splits the path once and allocates only for paths deeper than 16
// segments. Immutable after build: thread-safe to share.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gw::policy {

class RouteTable {
 public:
  struct Entry {
    std::string pattern;
    std::size_t value = 0;
  };

  // Fails with a message for a malformed pattern, or a pattern given twice.
  static core::Result<RouteTable, std::string> build(const std::vector<Entry>& entries);

  // The value of the first entry (in build order) whose pattern matches, if any.
  // When `captured` is given, it receives the first `{…}` segment of the match.
  std::optional<std::size_t> match(std::string_view method, std::string_view path,
                                   std::string_view* captured = nullptr) const;

  // Checks one pattern's syntax.
  static std::optional<std::string> validate_pattern(std::string_view pattern);

 private:
  struct Segment {
    enum class Kind { literal, param, prefix } kind;
    std::string text;  // literal text, or the prefix before `*`
  };
  struct Route {
    std::string method;  // "*" = any
    bool any_method;
    std::vector<Segment> segments;
    std::size_t value;
  };
  void index_by_depth();

  std::vector<Route> routes_;
  std::vector<std::vector<std::size_t>> candidates_;  // by path depth, see index_by_depth()
};

}  // namespace gw::policy

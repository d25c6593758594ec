// Matching walks the request path with string_views over the pre-split pattern segments,
// so it never allocates. Empty request segments are skipped ("/v1//sessions/" is matched as
// "/v1/sessions"): a client must not escape a group limit, or the concurrent-session slot of
// `POST /v1/sessions`, by doubling or appending a slash that the upstream router ignores.
// Dot segments and percent-encoding are the proxy's to normalize before matching.
#include "policy/route_table.h"

#include <set>

#include "policy/route_pattern.h"

namespace gw::policy {
namespace {

// Yields the non-empty '/'-separated segments of a path.
class SegmentCursor {
 public:
  explicit SegmentCursor(std::string_view path) noexcept : rest_(path) {}

  bool next(std::string_view& segment) noexcept {
    while (!rest_.empty() && rest_.front() == '/') {
      rest_.remove_prefix(1);
    }
    if (rest_.empty()) {
      return false;
    }
    const auto slash = rest_.find('/');
    segment = rest_.substr(0, slash);
    rest_.remove_prefix(slash == std::string_view::npos ? rest_.size() : slash);
    return true;
  }

 private:
  std::string_view rest_;
};

}  // namespace

core::Result<RouteTable, std::string> RouteTable::build(const std::vector<Entry>& entries) {
  RouteTable table;
  table.routes_.reserve(entries.size());
  std::set<std::string, std::less<>> seen;
  for (const Entry& entry : entries) {
    auto parsed = parse_route_pattern(entry.pattern);
    if (!parsed) {
      return core::unexpected(std::move(parsed.error()));
    }
    if (!seen.insert(canonical_route(*parsed)).second) {
      return core::unexpected("route \"" + entry.pattern + "\" is given twice");
    }
    Route route{std::move(parsed->method), {}, entry.value};
    route.segments.reserve(parsed->segments.size());
    for (auto& s : parsed->segments) {
      Segment::Kind kind = Segment::Kind::literal;
      switch (s.kind) {
        case PatternSegment::Kind::literal:
          kind = Segment::Kind::literal;
          break;
        case PatternSegment::Kind::param:
          kind = Segment::Kind::param;
          break;
        case PatternSegment::Kind::prefix:
          kind = Segment::Kind::prefix;
          break;
      }
      route.segments.push_back(Segment{kind, std::move(s.text)});
    }
    table.routes_.push_back(std::move(route));
  }
  return table;
}

std::optional<std::size_t> RouteTable::match(std::string_view method, std::string_view path,
                                             std::string_view* captured) const noexcept {
  path = path.substr(0, path.find_first_of("?#"));
  for (const Route& route : routes_) {
    if (route.method != "*" && route.method != method) {
      continue;
    }
    SegmentCursor cursor(path);
    std::string_view segment;
    std::string_view first_param;
    bool have_param = false;
    bool matched = true;
    bool prefix_done = false;
    for (const Segment& s : route.segments) {
      if (!cursor.next(segment)) {
        matched = false;
        break;
      }
      if (s.kind == Segment::Kind::literal) {
        matched = segment == s.text;
      } else if (s.kind == Segment::Kind::param) {
        if (!have_param) {
          first_param = segment;
          have_param = true;
        }
      } else {
        // The prefix segment is always last; whatever follows it is covered too.
        matched = segment.starts_with(s.text);
        prefix_done = true;
      }
      if (!matched) {
        break;
      }
    }
    if (matched && !prefix_done && cursor.next(segment)) {
      matched = false;  // the path is longer than the pattern
    }
    if (matched) {
      if (captured != nullptr) {
        *captured = first_param;
      }
      return route.value;
    }
  }
  return std::nullopt;
}

std::optional<std::string> RouteTable::validate_pattern(std::string_view pattern) {
  auto parsed = parse_route_pattern(pattern);
  if (!parsed) {
    return std::move(parsed.error());
  }
  return std::nullopt;
}

}  // namespace gw::policy

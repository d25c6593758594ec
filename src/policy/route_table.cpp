// Matching walks the request path with string_views over the pre-split pattern segments,
// so it never allocates. Empty request segments are skipped ("/v1//sessions/" is matched as
// "/v1/sessions"): a client must not escape a group limit, or the concurrent-session slot of
// `POST /v1/sessions`, by doubling or appending a slash that the upstream router ignores.
// Literal segments match whatever their letter case: Express routes case-insensitively by
// default, so `/V1/Analysis/run` must be counted as the analysis route it reaches.
// Dot segments and percent-encoding are the proxy's to normalize before matching.
#include "policy/route_table.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <set>

#include "core/ascii.h"
#include "policy/route_pattern.h"

namespace gw::policy {
namespace {

// The non-empty '/'-separated segments of a path, split once per match() (inline up to 16,
// as deep as any real API path goes; deeper paths spill to the heap).
using Segments = boost::container::small_vector<std::string_view, 16>;

Segments split_segments(std::string_view path) {
  Segments segments;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t slash = path.find('/', i);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    segments.push_back(path.substr(i, end - i));
    i = end;
  }
  return segments;
}

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
    const bool any_method = parsed->method == "*";
    Route route{std::move(parsed->method), any_method, {}, entry.value};
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
  table.index_by_depth();
  return table;
}

// candidates_[d] lists, in build order, the routes a path of d segments can match: those
// of exactly d segments, and prefix routes of at most d. The last list serves every
// deeper path (prefix routes only).
void RouteTable::index_by_depth() {
  std::size_t max_depth = 0;
  for (const Route& route : routes_) max_depth = std::max(max_depth, route.segments.size());
  candidates_.assign(max_depth + 2, {});
  for (std::size_t depth = 0; depth < candidates_.size(); ++depth) {
    for (std::size_t i = 0; i < routes_.size(); ++i) {
      const Route& route = routes_[i];
      const bool prefix =
          !route.segments.empty() && route.segments.back().kind == Segment::Kind::prefix;
      if (prefix ? route.segments.size() <= depth : route.segments.size() == depth) {
        candidates_[depth].push_back(i);
      }
    }
  }
}

std::optional<std::size_t> RouteTable::match(std::string_view method, std::string_view path,
                                             std::string_view* captured) const {
  // (Not find_first_of("?#"): libstdc++ makes that one memchr call per character.)
  const auto end = std::find_if(path.begin(), path.end(), [](char c) { return c == '?' || c == '#'; });
  const Segments segments = split_segments(path.substr(0, static_cast<std::size_t>(end - path.begin())));
  if (candidates_.empty()) return std::nullopt;  // a default-constructed table
  for (const std::size_t index : candidates_[std::min(segments.size(), candidates_.size() - 1)]) {
    const Route& route = routes_[index];
    if (!route.any_method && route.method != method) continue;
    std::string_view first_param;
    bool have_param = false;
    bool matched = true;
    for (std::size_t i = 0; matched && i < route.segments.size(); ++i) {
      const Segment& s = route.segments[i];
      switch (s.kind) {
        case Segment::Kind::literal:
          matched = core::iequals(segments[i], s.text);
          break;
        case Segment::Kind::param:
          if (!have_param) {
            first_param = segments[i];
            have_param = true;
          }
          break;
        case Segment::Kind::prefix:
          matched = core::istarts_with(segments[i], s.text);
          break;
      }
    }
    if (matched) {
      if (captured != nullptr) *captured = first_param;
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

// libFuzzer target over route matching (policy/route_pattern.h, policy/route_table.h):
// both sides of it, the patterns an operator configures and the requests a client sends.
//
// The input is lines: route patterns up to the first empty line, then requests
// "METHOD target" (split at the first space). Every pattern goes through
// parse_route_pattern(); the ones that parse are built into one RouteTable (as Policy does
// with a group's routes), which must fail exactly when two of them have the same
// canonical_route(). Then, against a plain reference matcher written here from the
// contract in route_table.h (split on '/', skip empty segments, stop at '?' or '#', exact
// method or `*`, case-insensitive literals, `{name}` one segment, trailing `x*` a prefix
// covering deeper paths, first route in build order wins), RouteTable::match() must give
// the same route and the same captured `{…}` segment for:
//   - every request of the input, byte for byte;
//   - each pattern's own witness, a path built from it ({id} -> "7", `ab*` -> "ab9"),
//     which must match in a table of that pattern alone, also with its letter case
//     flipped, doubled slashes, a trailing slash and a query string.
// Anything that differs traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/route_pattern.h"
#include "policy/route_table.h"

namespace {

using namespace gw::policy;

constexpr std::size_t kMaxPatterns = 64;
constexpr std::size_t kMaxRequests = 64;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\n*** route invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::vector<std::string_view> reference_segments(std::string_view path) {
  const std::size_t end = path.find_first_of("?#");
  if (end != std::string_view::npos) path = path.substr(0, end);
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t stop = slash == std::string_view::npos ? path.size() : slash;
    if (stop > start) out.push_back(path.substr(start, stop - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

struct Match {
  std::size_t index;
  std::string_view captured;
};

std::optional<Match> reference_match(const std::vector<RoutePattern>& patterns,
                                     std::string_view method, std::string_view path) {
  const std::vector<std::string_view> segments = reference_segments(path);
  for (std::size_t r = 0; r < patterns.size(); ++r) {
    const RoutePattern& p = patterns[r];
    if (p.method != "*" && p.method != method) continue;
    const bool prefix =
        !p.segments.empty() && p.segments.back().kind == PatternSegment::Kind::prefix;
    if (prefix ? segments.size() < p.segments.size() : segments.size() != p.segments.size()) {
      continue;
    }
    bool ok = true;
    std::optional<std::string_view> captured;
    for (std::size_t i = 0; ok && i < p.segments.size(); ++i) {
      const PatternSegment& s = p.segments[i];
      switch (s.kind) {
        case PatternSegment::Kind::literal:
          ok = iequals(segments[i], s.text);
          break;
        case PatternSegment::Kind::param:
          if (!captured) captured = segments[i];
          break;
        case PatternSegment::Kind::prefix:
          ok = segments[i].size() >= s.text.size() &&
               iequals(segments[i].substr(0, s.text.size()), s.text);
          break;
      }
    }
    if (ok) return Match{r, captured.value_or(std::string_view())};
  }
  return std::nullopt;
}

std::string shown(std::string_view method, std::string_view path) {
  std::string out;
  for (const char c : std::string(method) + " " + std::string(path)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// RouteTable and the reference agree on (method, path); values are pattern indexes.
void agree(const RouteTable& table, const std::vector<RoutePattern>& patterns,
           std::string_view method, std::string_view path) {
  std::string_view captured = "(untouched)";
  const auto got = table.match(method, path, &captured);
  const auto want = reference_match(patterns, method, path);
  if (got.has_value() != want.has_value() || (got && *got != want->index)) {
    fail("RouteTable::match(" + shown(method, path) + ") gives route " +
         (got ? std::to_string(*got) : "none") + ", the contract route " +
         (want ? std::to_string(want->index) : "none"));
  }
  if (got && captured != want->captured) {
    fail("RouteTable::match(" + shown(method, path) + ") captures \"" + std::string(captured) +
         "\", the contract \"" + std::string(want->captured) + "\"");
  }
}

// A request path that `pattern` matches by construction.
std::string witness(const RoutePattern& pattern) {
  std::string path;
  for (const PatternSegment& s : pattern.segments) {
    path += '/';
    switch (s.kind) {
      case PatternSegment::Kind::literal:
        path += s.text;
        break;
      case PatternSegment::Kind::param:
        path += '7';  // a digit: flip_case() leaves it as it is
        break;
      case PatternSegment::Kind::prefix:
        path += s.text;
        path += '9';
        break;
    }
  }
  return path.empty() ? "/" : path;
}

std::string flip_case(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

std::string double_slashes(std::string_view path) {
  std::string out;
  for (const char c : path) {
    out += c;
    if (c == '/') out += '/';
  }
  return out;
}

void check_witness(const RoutePattern& pattern, std::string_view source) {
  std::vector<RouteTable::Entry> one{{std::string(source), 0}};
  auto table = RouteTable::build(one);
  if (!table) fail("a pattern that parses does not build: " + std::string(source));
  const std::vector<RoutePattern> patterns{pattern};
  const std::string method = pattern.method == "*" ? "PATCH" : pattern.method;
  const std::string path = witness(pattern);
  const bool has_param =
      pattern.segments.end() !=
      std::find_if(pattern.segments.begin(), pattern.segments.end(),
                   [](const PatternSegment& s) { return s.kind == PatternSegment::Kind::param; });
  for (const std::string& variant :
       {path, flip_case(path), double_slashes(path), path + "/", path + "?a=/b", path + "#f"}) {
    std::string_view captured;
    const auto got = table->match(method, variant, &captured);
    if (!got)
      fail("a pattern does not match its own path: " + std::string(source) + " vs " +
           shown(method, variant));
    if (has_param && captured != "7") {
      fail("a pattern's {param} captures \"" + std::string(captured) + "\" of " +
           shown(method, variant));
    }
    agree(*table, patterns, method, variant);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at <= input.size();) {
    const std::size_t lf = input.find('\n', at);
    const std::size_t end = lf == std::string_view::npos ? input.size() : lf;
    lines.push_back(input.substr(at, end - at));
    if (lf == std::string_view::npos) break;
    at = lf + 1;
  }

  std::size_t line = 0;
  std::vector<RouteTable::Entry> entries;
  std::vector<RoutePattern> patterns;
  std::vector<std::string> canonical;
  bool duplicate = false;
  for (; line < lines.size() && !lines[line].empty() && entries.size() < kMaxPatterns; ++line) {
    const std::string_view source = lines[line];
    auto parsed = parse_route_pattern(source);
    if (RouteTable::validate_pattern(source).has_value() == parsed.has_value()) {
      fail("validate_pattern and parse_route_pattern disagree on " + std::string(source));
    }
    if (!parsed) {
      if (parsed.error().empty()) fail("a refused pattern without a message");
      continue;
    }
    check_witness(*parsed, source);
    const std::string form = canonical_route(*parsed);
    duplicate = duplicate || std::find(canonical.begin(), canonical.end(), form) != canonical.end();
    canonical.push_back(form);
    entries.push_back({std::string(source), patterns.size()});
    patterns.push_back(std::move(*parsed));
  }
  while (line < lines.size() && lines[line].empty()) ++line;

  auto table = RouteTable::build(entries);
  if (table.has_value() == duplicate) {
    fail(duplicate ? "a table with two patterns of one canonical route builds"
                   : "a table of distinct patterns does not build: " +
                         (table ? std::string() : table.error()));
  }
  if (!table) return 0;
  // Each pattern's witness against the whole table: first match in build order.
  for (const RoutePattern& p : patterns) {
    agree(*table, patterns, p.method == "*" ? "GET" : p.method, witness(p));
  }
  for (std::size_t n = 0; line < lines.size() && n < kMaxRequests; ++line, ++n) {
    const std::string_view request = lines[line];
    const std::size_t space = request.find(' ');
    const std::string_view method = request.substr(0, space);
    const std::string_view target =
        space == std::string_view::npos ? std::string_view() : request.substr(space + 1);
    agree(*table, patterns, method, target);
  }
  // A default-constructed table matches nothing.
  if (RouteTable().match("GET", "/")) fail("an empty RouteTable matches");
  return 0;
}

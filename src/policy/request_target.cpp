#include "policy/request_target.h"

#include <algorithm>
#include <array>
#include <boost/algorithm/hex.hpp>
#include <boost/url/grammar/hexdig_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <iterator>
#include <vector>

namespace gw::policy {
namespace {

// Boost.URL 1.81's normalize_path() also decodes reserved characters (%2F becomes '/'),
// which changes what a request means; this is the RFC 3986 §6.2.2 subset we need.

enum CharClass : unsigned char {
  kRefused = 0,  // never in a target
  kQuery = 1,    // allowed in the query only
  kPath = 2,     // allowed in the path (and the query)
  kPercent = 3,  // '%': a percent-encoding in the path
};

// RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@", and '/'.
// ';' (a sub-delim) is refused in the path; bytes >= 0x80 pass (raw UTF-8 cannot spell an
// ASCII route).
constexpr std::array<unsigned char, 256> kClasses = [] {
  std::array<unsigned char, 256> classes{};
  for (int c = 0x21; c < 0x7f; ++c) classes[c] = kQuery;
  for (int c = 0x80; c < 0x100; ++c) classes[c] = kPath;
  for (const char c : std::string_view(
           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,=:@/")) {
    classes[static_cast<unsigned char>(c)] = kPath;
  }
  classes['%'] = kPercent;
  classes['#'] = kRefused;
  return classes;
}();

// Octets whose encoded form an origin may decode into a path delimiter, a second
// encoding, or a control character.
bool is_refused_encoding(unsigned char c) {
  return c == '/' || c == '\\' || c == ';' || c == '%' || c < 0x20 || c == 0x7f;
}

// Decodes percent-encoded unreserved characters and upper-cases the others' hex digits.
std::optional<std::string> normalize_percent_encoding(std::string_view path) {
  using boost::urls::grammar::hexdig_value;
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = hexdig_value(path[i + 1]);
    const int lo = hexdig_value(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (is_refused_encoding(decoded)) return std::nullopt;
    if (boost::urls::unreserved_chars(static_cast<char>(decoded))) {
      out += static_cast<char>(decoded);
    } else {
      out += '%';
      boost::algorithm::hex(&decoded, &decoded + 1, std::back_inserter(out));  // upper case
    }
    i += 2;
  }
  return out;
}

// RFC 3986 §5.2.4 for an absolute path: "." segments vanish, ".." drops the one before.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 1;  // path starts with '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if (segment == ".") {
      if (last) segments.emplace_back();  // "/a/." is "/a/"
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      if (last) segments.emplace_back();
    } else {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& segment : segments) {
    out += '/';
    out += segment;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

bool is_normal_target(std::string_view target) noexcept {
  if (target.empty() || target.front() != '/') return false;
  const std::size_t path_size = std::min(target.find('?'), target.size());
  // Branch-free passes (every target is scanned, nearly none fails): every path character
  // plain (no '%', nothing refused), no dot segment; every query character allowed.
  unsigned bad = 0;
  for (std::size_t i = 1; i < path_size; ++i) {  // target[0] is '/'
    bad |= static_cast<unsigned>(kClasses[static_cast<unsigned char>(target[i])] != kPath) |
           (static_cast<unsigned>(target[i] == '.') & static_cast<unsigned>(target[i - 1] == '/'));
  }
  for (std::size_t i = path_size; i < target.size(); ++i) {
    bad |= static_cast<unsigned>(kClasses[static_cast<unsigned char>(target[i])] == kRefused);
  }
  return bad == 0;
}

std::optional<std::string> normalize_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  const std::size_t query = target.find('?');
  const std::string_view path = target.substr(0, query);
  const std::string_view rest =
      query == std::string_view::npos ? std::string_view() : target.substr(query);
  for (const char c : path) {
    const unsigned char klass = kClasses[static_cast<unsigned char>(c)];
    if (klass != kPath && klass != kPercent) return std::nullopt;
  }
  for (const char c : rest) {
    if (kClasses[static_cast<unsigned char>(c)] == kRefused) return std::nullopt;
  }
  if (path.find('%') == std::string_view::npos && path.find("/.") == std::string_view::npos) {
    return std::string(target);
  }
  auto decoded = normalize_percent_encoding(path);
  if (!decoded) return std::nullopt;
  return remove_dot_segments(*decoded) + std::string(rest);
}

}  // namespace gw::policy

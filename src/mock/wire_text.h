// Text from the wire, read and written: decimal numbers in header and query values, and
// request bytes as JSON strings.
//
// Thread safety: pure functions.
#pragma once

#include <algorithm>
#include <boost/json/string.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::mock {

// A decimal number, spaces and tabs around it allowed ("  42 "); nullopt for anything else.
inline std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(" \t") + 1 - first);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `bytes` read as Latin-1 (as HTTP reads header bytes >= 0x80), as a JSON string: valid
// UTF-8 whatever a client sent, so the JSON the mock writes always parses.
inline boost::json::string json_text(std::string_view bytes) {
  const auto is_ascii = [](char c) { return static_cast<unsigned char>(c) < 0x80; };
  if (std::all_of(bytes.begin(), bytes.end(), is_ascii)) return boost::json::string(bytes);
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_ascii(c)) {
      out.push_back(c);
    } else {  // U+0080..U+00FF in UTF-8
      out.push_back(static_cast<char>(0xc0 | byte >> 6));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3f)));
    }
  }
  return boost::json::string(out);
}

}  // namespace gw::mock

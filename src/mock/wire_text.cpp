// Decimal numbers and Latin-1 text from the wire; see wire_text.h.
#include "mock/wire_text.h"

#include <charconv>

namespace gw::mock {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(" \t") + 1 - first);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

boost::json::string json_text(std::string_view bytes) {
  boost::json::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {  // U+0080..U+00FF in UTF-8
      out.push_back(static_cast<char>(0xc0 | byte >> 6));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3f)));
    }
  }
  return out;
}

}  // namespace gw::mock

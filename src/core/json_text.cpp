#include "core/json_text.h"

#include <fmt/format.h>

namespace gw::core {
namespace {

constexpr bool needs_escape(unsigned char c) {
  return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

constexpr std::string_view kHexDigits = "0123456789abcdef";

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (!needs_escape(u)) continue;
    out.append(s.data() + run, i - run);  // the plain run before it, in one copy
    run = i + 1;
    switch (u) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHexDigits[u >> 4];
        out += kHexDigits[u & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_decimal(std::string& out, std::int64_t value) {
  const fmt::format_int digits(value);  // two digits per step, into its own buffer
  out.append(digits.data(), digits.size());
}

}  // namespace gw::core

#include "core/json_text.h"

#include <boost/algorithm/hex.hpp>
#include <iterator>

namespace gw::core {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
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
        if (u < 0x20 || u >= 0x80) {
          out += "\\u00";
          boost::algorithm::hex_lower(&u, &u + 1, std::back_inserter(out));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace gw::core

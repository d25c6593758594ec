#include "core/api_error.h"

#include <charconv>

namespace gw::core {
namespace {

// JSON string escaping (RFC 8259 §7). Written by hand because error bodies are on the
// 429 path, which must stay the cheapest path of all.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
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
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

void append_json(const ApiError& e, std::string& out) {
  out += R"({"error":{"type":)";
  append_json_string(out, e.type);
  out += R"(,"code":)";
  append_json_string(out, e.code);
  out += R"(,"message":)";
  append_json_string(out, e.message);
  out += R"(,"param":)";
  if (e.param) {
    append_json_string(out, *e.param);
  } else {
    out += "null";
  }
  if (e.retry_after_s) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), *e.retry_after_s);
    (void)ec;
    out += R"(,"retry_after":)";
    out.append(digits, end);
  }
  out += R"(,"request_id":)";
  append_json_string(out, e.request_id);
  out += "}}";
}

std::string to_json(const ApiError& error) {
  std::string out;
  out.reserve(192 + error.message.size());
  append_json(error, out);
  return out;
}

}  // namespace gw::core

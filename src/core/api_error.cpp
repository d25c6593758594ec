#include "core/api_error.h"

#include <charconv>

#include "core/json_text.h"

namespace gw::core {

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

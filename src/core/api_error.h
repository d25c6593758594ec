// The Kallglot error body, shared by the public listener and the admin API:
//   {"error":{"type":...,"code":...,"message":...,"param":null,"request_id":...}}
// with "retry_after" (seconds) added for rate-limit errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::core {

struct ApiError {
  std::string_view type;  // e.g. "invalid_request_error", "rate_limit_error", "api_error"
  std::string_view code;  // e.g. "invalid_api_key", "rate_limit_exceeded"
  std::string_view message;
  std::string_view request_id;
  std::optional<std::int64_t> retry_after_s;
  std::optional<std::string_view> param;
};

std::string to_json(const ApiError& error);
void append_json(const ApiError& error, std::string& out);  // appends the same text

}  // namespace gw::core

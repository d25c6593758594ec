#include "admin/admin_http.h"

#include <random>

#include <boost/json/serialize.hpp>

#include "core/api_error.h"

namespace gw::admin {
namespace {

Response base_response(http::status status, std::string_view request_id) {
  Response res{status, 11};
  res.set(http::field::server, "kallglot-gateway");
  res.set("X-Request-ID", request_id);
  // Admin answers carry account state and, once, plain keys: never cache them.
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

Response json_response(http::status status, const boost::json::value& body,
                       std::string_view request_id) {
  Response res = base_response(status, request_id);
  res.set(http::field::content_type, "application/json");
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

Response error_response(http::status status, std::string_view type, std::string_view code,
                        std::string_view message, std::string_view request_id,
                        std::optional<std::string_view> param) {
  Response res = base_response(status, request_id);
  res.set(http::field::content_type, "application/json");
  res.body() = core::to_json(core::ApiError{
      .type = type, .code = code, .message = message, .request_id = request_id, .param = param});
  res.prepare_payload();
  return res;
}

Response empty_response(http::status status, std::string_view request_id) {
  Response res = base_response(status, request_id);
  res.prepare_payload();
  return res;
}

Response text_response(http::status status, std::string body, std::string_view content_type,
                       std::string_view request_id) {
  Response res = base_response(status, request_id);
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string request_id_for(const Request& request) {
  const auto it = request.find("X-Request-ID");
  if (it != request.end() && acceptable_request_id(it->value())) {
    return std::string(it->value());
  }
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "req_";
  for (int word = 0; word < 2; ++word) {
    std::uint64_t bits = generator();
    for (int i = 0; i < 12; ++i, bits >>= 4) id.push_back(kHex[bits & 0xf]);
  }
  return id;
}

}  // namespace gw::admin

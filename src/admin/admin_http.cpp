#include "admin/admin_http.h"

#include <boost/json/serialize.hpp>

#include "core/api_error.h"
#include "core/http_date.h"
#include "core/request_id.h"

namespace gw::admin {
namespace {

// insert(), not set(): a new message has no field to replace.
Response base_response(http::status status, std::string_view request_id) {
  Response res{status, 11};
  res.insert("X-Request-ID", request_id);
  return res;
}

}  // namespace

void append_listener_fields(std::string& head, std::int64_t now_unix_s) {
  head += "Server: kallglot-gateway\r\nDate: ";
  head += core::http_date(now_unix_s);
  head += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
}

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
  res.insert(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string request_id_for(const Request& request) {
  const auto it = request.find("X-Request-ID");
  if (it != request.end() && core::is_acceptable_request_id(it->value())) {
    return std::string(it->value());
  }
  return core::generate_request_id();
}

}  // namespace gw::admin

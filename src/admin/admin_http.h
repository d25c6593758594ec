// HTTP vocabulary of the admin listener: the message types and the builders of its JSON,
// text and Kallglot-error responses. Responses are built transport-free (no version, no
// keep-alive): the session sets those from the request it answers, and adds the fields
// every answer carries (append_listener_fields). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

namespace gw::admin {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Kallglot error types (SPEC §4 error shape).
inline constexpr std::string_view kInvalidRequest = "invalid_request_error";
inline constexpr std::string_view kAuthenticationError = "authentication_error";
inline constexpr std::string_view kApiError = "api_error";

// The fields of every answer of the listener, as head lines ("Name: value\r\n"): Server,
// Date (RFC 9110 §6.6.1), Cache-Control: no-store (admin answers carry account state and,
// once, plain keys) and X-Content-Type-Options: nosniff. Written by the session rather than
// kept in each Response: four fields fewer to allocate per answer (POST /v1/check).
void append_listener_fields(std::string& head, std::int64_t now_unix_s);

// A compact JSON body, `Content-Type: application/json`.
Response json_response(http::status status, const boost::json::value& body,
                       std::string_view request_id);

// {"error":{"type","code","message","param","request_id"}} with `status`.
Response error_response(http::status status, std::string_view type, std::string_view code,
                        std::string_view message, std::string_view request_id,
                        std::optional<std::string_view> param = std::nullopt);

// A body-less answer (204).
Response empty_response(http::status status, std::string_view request_id);

Response text_response(http::status status, std::string body, std::string_view content_type,
                       std::string_view request_id);

// The request's X-Request-ID when it is 1..128 visible ASCII characters, else a fresh
// "req_" + 24 hex digits (not a secret: a per-thread PRNG).
std::string request_id_for(const Request& request);

}  // namespace gw::admin

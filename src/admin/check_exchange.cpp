#include "admin/check_exchange.h"

#include <fmt/format.h>

#include <boost/json/monotonic_resource.hpp>

#include "admin/json_body.h"
#include "core/json_text.h"
#include "decision/check_answer_fields.h"
#include "limiter/limit_bounds.h"

namespace gw::admin {
namespace {

using decision::CheckQuery;
using decision::LimitSelector;

core::Result<std::string, CheckBodyError> required_string(const boost::json::object& body,
                                                          std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return core::unexpected(CheckBodyError{
        fmt::format("\"{}\" is required and must be a string.", name), std::string(name)});
  }
  return std::string(value->get_string());
}

void append_member(std::string& out, std::string_view name) {
  out += '"';
  out += name;  // the names below are plain ASCII
  out += "\":";
}

void append_number_or_null(std::string& out, const std::optional<std::int64_t>& value) {
  if (value) {
    core::append_decimal(out, *value);
  } else {
    out += "null";
  }
}

// The header fields, as a JSON object of strings (header values are strings).
struct HeaderObject {
  std::string& out;
  bool first = true;

  // A field name is a token (RFC 9110 §5.1), whose characters need no JSON escape.
  void name(std::string_view field_name) {
    out += first ? "\"" : ",\"";
    first = false;
    out += field_name;
    out += "\":";
  }
  void field(std::string_view field_name, std::int64_t value) {
    name(field_name);
    out += '"';
    core::append_decimal(out, value);
    out += '"';
  }
  void field(std::string_view field_name, std::string_view value) {
    name(field_name);
    core::append_json_string(out, value);
  }
};

}  // namespace

core::Result<CheckQuery, CheckBodyError> read_check_body(std::string_view text) {
  // A check body is a few hundred bytes: its DOM fits here, with no allocation; a larger
  // one (up to the listener's 1 MiB) spills to the heap.
  unsigned char scratch[2048];
  boost::json::monotonic_resource memory(scratch, sizeof scratch);
  auto body = parse_object(text, false, &memory);
  if (!body) return core::unexpected(CheckBodyError{std::move(body.error()), ""});
  if (auto field = unknown_field(*body, {"api_key", "method", "path", "cost"})) {
    return core::unexpected(CheckBodyError{"Unknown field \"" + *field +
                                               "\"; expected \"api_key\", \"method\", \"path\" and "
                                               "\"cost\".",
                                           *field});
  }
  auto key = required_string(*body, "api_key");
  if (!key) return core::unexpected(std::move(key.error()));
  auto method = required_string(*body, "method");
  if (!method) return core::unexpected(std::move(method.error()));
  auto path = required_string(*body, "path");
  if (!path) return core::unexpected(std::move(path.error()));

  CheckQuery query;
  query.by = CheckQuery::By::key;
  query.key_kind = key->empty() ? decision::PresentedCredential::Kind::none
                                : decision::PresentedCredential::Kind::key;
  query.key = std::move(*key);
  if (const auto* cost = body->if_contains("cost"); cost && !cost->is_null()) {
    const auto* number = cost->if_int64();
    if (number == nullptr || *number < 1 || *number > limiter::kMaxCost) {
      return core::unexpected(CheckBodyError{
          fmt::format("\"cost\" must be an integer from 1 to {}.", limiter::kMaxCost), "cost"});
    }
    query.cost = *number;
  }
  // The limits the proxy applies to this request: the plan-wide one and its route's group.
  query.selectors.reserve(2);
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::plan});
  query.selectors.push_back(LimitSelector{
      .kind = LimitSelector::Kind::route, .method = std::move(*method), .path = std::move(*path)});
  return query;
}

std::string check_answer_json(const decision::CheckAnswer& answer, std::string_view request_id) {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> reset;
  if (answer.checked && answer.verdict.decided) {
    const auto decisions = answer.verdict.result.view();
    const limiter::Decision& d =
        decisions[limiter::most_constraining(decisions, answer.verdict.result.admitted)];
    limit = d.limit;
    remaining = d.remaining;
    reset = d.reset_unix_s;
  }
  const decision::Refusal* refusal = answer.refusal ? &*answer.refusal : nullptr;

  std::string out;
  out.reserve(384);
  out += refusal ? R"({"allowed":false,)" : R"({"allowed":true,)";
  append_member(out, "limit");
  append_number_or_null(out, limit);
  out += ',';
  append_member(out, "remaining");
  append_number_or_null(out, remaining);
  out += ',';
  append_member(out, "reset");
  append_number_or_null(out, reset);
  out += ',';
  append_member(out, "retry_after");
  append_number_or_null(out, refusal ? refusal->retry_after_s : std::nullopt);
  out += ',';
  if (refusal) {
    append_member(out, "status");
    core::append_decimal(out, refusal->status);
    out += ',';
    append_member(out, "error");
    out += '{';
    append_member(out, "type");
    core::append_json_string(out, refusal->type);
    out += ',';
    append_member(out, "code");
    core::append_json_string(out, refusal->code);
    out += ',';
    append_member(out, "message");
    core::append_json_string(out, refusal->message);
    out += ',';
    append_member(out, "request_id");
    core::append_json_string(out, request_id);
    out += "},";
  }
  append_member(out, "headers");
  out += '{';
  HeaderObject headers{out};
  decision::write_check_answer_fields(headers, answer, core::to_unix_seconds(answer.now),
                                      answer.fields);
  out += "}}";
  return out;
}

}  // namespace gw::admin

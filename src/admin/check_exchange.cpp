#include "admin/check_exchange.h"

#include <fmt/format.h>

#include <boost/json/basic_parser_impl.hpp>
#include <optional>

#include "admin/check_body_events.h"
#include "admin/json_body.h"
#include "core/json_text.h"
#include "decision/check_answer_fields.h"
#include "limiter/limit_bounds.h"

namespace gw::admin {
namespace {

using check_body::CheckBodyEvents;
using check_body::kApiKey;
using check_body::kCost;
using check_body::kMemberNames;
using check_body::kMethod;
using check_body::kPath;
using check_body::MemberValue;
using decision::CheckQuery;
using decision::LimitSelector;

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
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return core::unexpected(CheckBodyError{std::string(kNotAJsonObject), std::nullopt});
  }
  boost::json::basic_parser<CheckBodyEvents> parser{boost::json::parse_options{}};
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    return core::unexpected(CheckBodyError{malformed_json(ec), std::nullopt});
  }
  CheckBodyEvents& body = parser.handler();
  if (!body.is_object()) {
    return core::unexpected(CheckBodyError{std::string(kNotAJsonObject), std::nullopt});
  }
  if (body.unknown()) {
    const std::string& field = *body.unknown();
    return core::unexpected(CheckBodyError{"Unknown field \"" + field +
                                               "\"; expected \"api_key\", \"method\", \"path\" and "
                                               "\"cost\".",
                                           field});
  }
  if (body.repeated()) {
    const std::string_view field = kMemberNames[*body.repeated()];
    return core::unexpected(
        CheckBodyError{fmt::format("\"{}\" appears more than once.", field), std::string(field)});
  }
  for (const std::size_t member : {kApiKey, kMethod, kPath}) {
    if (body.member(member).kind != MemberValue::Kind::string) {
      const std::string_view field = kMemberNames[member];
      return core::unexpected(CheckBodyError{
          fmt::format("\"{}\" is required and must be a string.", field), std::string(field)});
    }
  }

  CheckQuery query;
  query.by = CheckQuery::By::key;
  std::string& key = body.member(kApiKey).text;
  query.key_kind = key.empty() ? decision::PresentedCredential::Kind::none
                               : decision::PresentedCredential::Kind::key;
  query.key = std::move(key);
  const MemberValue& cost = body.member(kCost);
  if (cost.kind != MemberValue::Kind::absent && cost.kind != MemberValue::Kind::null) {
    if (cost.kind != MemberValue::Kind::int64 || cost.number < 1 ||
        cost.number > limiter::kMaxCost) {
      return core::unexpected(CheckBodyError{
          fmt::format("\"cost\" must be an integer from 1 to {}.", limiter::kMaxCost), "cost"});
    }
    query.cost = cost.number;
  }
  // The limits the proxy applies to this request: the plan-wide one and its route's group.
  query.selectors.reserve(2);
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::plan});
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::route,
                                          .method = std::move(body.member(kMethod).text),
                                          .path = std::move(body.member(kPath).text)});
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
  // Member names and punctuation as literal runs: one append each.
  out += refusal ? R"({"allowed":false,"limit":)" : R"({"allowed":true,"limit":)";
  append_number_or_null(out, limit);
  out += R"(,"remaining":)";
  append_number_or_null(out, remaining);
  out += R"(,"reset":)";
  append_number_or_null(out, reset);
  out += R"(,"retry_after":)";
  append_number_or_null(out, refusal ? refusal->retry_after_s : std::nullopt);
  if (refusal) {
    out += R"(,"status":)";
    core::append_decimal(out, refusal->status);
    out += R"(,"error":{"type":)";
    core::append_json_string(out, refusal->type);
    out += R"(,"code":)";
    core::append_json_string(out, refusal->code);
    out += R"(,"message":)";
    core::append_json_string(out, refusal->message);
    out += R"(,"request_id":)";
    core::append_json_string(out, request_id);
    out += '}';
  }
  out += R"(,"headers":{)";
  HeaderObject headers{out};
  decision::write_check_answer_fields(headers, answer, core::to_unix_seconds(answer.now),
                                      answer.fields);
  out += "}}";
  return out;
}

}  // namespace gw::admin

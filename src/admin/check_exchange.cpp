#include "admin/check_exchange.h"

#include <fmt/format.h>

#include "admin/json_body.h"
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

// The header fields, as a JSON object of strings (header values are strings).
struct HeaderObject {
  boost::json::object& out;
  void field(std::string_view name, std::int64_t value) { out[name] = fmt::format("{}", value); }
  void field(std::string_view name, std::string_view value) { out[name] = value; }
};

}  // namespace

core::Result<CheckQuery, CheckBodyError> read_check_body(std::string_view text) {
  auto body = parse_object(text, false);
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
  query.selectors.push_back(LimitSelector{.kind = LimitSelector::Kind::plan});
  query.selectors.push_back(LimitSelector{
      .kind = LimitSelector::Kind::route, .method = std::move(*method), .path = std::move(*path)});
  return query;
}

boost::json::object check_answer_json(const decision::CheckAnswer& answer,
                                      std::string_view request_id) {
  boost::json::object out;
  out["allowed"] = !answer.refusal.has_value();
  out["limit"] = nullptr;
  out["remaining"] = nullptr;
  out["reset"] = nullptr;
  out["retry_after"] = nullptr;
  if (answer.checked && answer.verdict.decided) {
    const auto decisions = answer.verdict.result.view();
    const limiter::Decision& d =
        decisions[limiter::most_constraining(decisions, answer.verdict.result.admitted)];
    out["limit"] = d.limit;
    out["remaining"] = d.remaining;
    out["reset"] = d.reset_unix_s;
  }
  boost::json::object headers;
  HeaderObject sink{headers};
  decision::write_check_answer_fields(sink, answer, core::to_unix_seconds(answer.now),
                                      answer.fields);
  if (answer.refusal) {
    const decision::Refusal& refusal = *answer.refusal;
    if (refusal.retry_after_s) out["retry_after"] = *refusal.retry_after_s;
    out["status"] = refusal.status;
    out["error"] = boost::json::object{{"type", refusal.type},
                                       {"code", refusal.code},
                                       {"message", refusal.message},
                                       {"request_id", request_id}};
  }
  out["headers"] = std::move(headers);
  return out;
}

}  // namespace gw::admin

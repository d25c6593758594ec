#include "rls/rate_limit_response.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/api_error.h"
#include "decision/check_answer_fields.h"

namespace gw::rls {
namespace {

using envoy::service::ratelimit::v3::RateLimitResponse;
using Unit = RateLimitResponse::RateLimit::Unit;

// response_headers_to_add, as a sink of decision fields.
struct HeaderList {
  RateLimitResponse& out;
  void field(std::string_view name, std::int64_t value) { field(name, fmt::format("{}", value)); }
  void field(std::string_view name, std::string_view value) {
    auto* header = out.add_response_headers_to_add();
    header->set_key(std::string(name));
    header->set_value(std::string(value));
  }
};

Unit unit_of(core::UnixNanos window) {
  using std::chrono::seconds;
  if (window == seconds(1)) return RateLimitResponse::RateLimit::SECOND;
  if (window == seconds(60)) return RateLimitResponse::RateLimit::MINUTE;
  if (window == seconds(3600)) return RateLimitResponse::RateLimit::HOUR;
  if (window == seconds(86400)) return RateLimitResponse::RateLimit::DAY;
  return RateLimitResponse::RateLimit::UNKNOWN;
}

void write_body(const decision::Refusal& refusal, std::string_view request_id,
                RateLimitResponse& out) {
  out.set_raw_body(core::to_json(core::ApiError{.type = refusal.type,
                                                .code = refusal.code,
                                                .message = refusal.message,
                                                .request_id = request_id,
                                                .retry_after_s = refusal.retry_after_s}));
  HeaderList{out}.field("Content-Type", "application/json");
}

}  // namespace

void write_refusal(const decision::Refusal& refusal, int descriptors, std::string_view request_id,
                   RateLimitResponse& out) {
  out.set_overall_code(RateLimitResponse::OVER_LIMIT);
  for (int i = 0; i < descriptors; ++i) out.add_statuses()->set_code(RateLimitResponse::OVER_LIMIT);
  write_body(refusal, request_id, out);
}

void write_answer(const decision::CheckAnswer& answer, std::string_view request_id,
                  RateLimitResponse& out) {
  if (answer.refusal && !answer.checked) {
    // Refused before any counter was asked (identity, the query's shape).
    write_refusal(*answer.refusal, static_cast<int>(answer.selectors), request_id, out);
    return;
  }
  const bool admitted = !answer.refusal;
  out.set_overall_code(admitted ? RateLimitResponse::OK : RateLimitResponse::OVER_LIMIT);
  const bool decided = answer.checked && answer.verdict.decided;
  const std::int64_t now_s = core::to_unix_seconds(answer.now);
  for (const auto& selected : answer.selected) {
    auto* status = out.add_statuses();
    if (!selected) {
      status->set_code(RateLimitResponse::OK);  // it names no limit (a route in no group)
      continue;
    }
    if (!decided) {
      // No counter answered: fail_open admits, fail_closed refuses every limit.
      status->set_code(admitted ? RateLimitResponse::OK : RateLimitResponse::OVER_LIMIT);
      continue;
    }
    const store::LimitRef& limit = answer.limits.storage[*selected];
    const limiter::Decision& d = answer.verdict.result.decisions[*selected];
    status->set_code(!admitted && d.over_limit ? RateLimitResponse::OVER_LIMIT
                                               : RateLimitResponse::OK);
    auto* current = status->mutable_current_limit();
    current->set_name(std::string(limit.name));
    current->set_requests_per_unit(static_cast<std::uint32_t>(d.limit));  // ≤ kMaxLimit
    current->set_unit(unit_of(limit.spec.window));
    status->set_limit_remaining(static_cast<std::uint32_t>(std::max<std::int64_t>(d.remaining, 0)));
    status->mutable_duration_until_reset()->set_seconds(
        std::max<std::int64_t>(d.reset_unix_s - now_s, 0));
  }
  HeaderList headers{out};
  decision::write_check_answer_fields(headers, answer, now_s, answer.fields);
  if (answer.refusal) write_body(*answer.refusal, request_id, out);
}

}  // namespace gw::rls

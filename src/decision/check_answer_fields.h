// The response fields a CheckAnswer tells the asking proxy to add, as the gateway adds
// them to its own answers: the rate-limit fields (rate_limit_fields.h) when the counters
// decided, and Retry-After when the answer is a refusal that has one. Written into any
// sink with `field(name, std::int64_t)` and `field(name, std::string_view)`. Pure.
#pragma once

#include "decision/check_query.h"
#include "decision/rate_limit_fields.h"

namespace gw::decision {

template <typename Sink>
void write_check_answer_fields(Sink& out, const CheckAnswer& answer, std::int64_t now_unix_s,
                               RateLimitFieldOptions options) {
  if (answer.checked && answer.verdict.decided) {
    write_rate_limit_fields(out, answer.limits.view(), answer.verdict.result.view(),
                            answer.verdict.result.admitted, now_unix_s, options);
  }
  if (answer.refusal && answer.refusal->retry_after_s) {
    out.field("Retry-After", *answer.refusal->retry_after_s);
  }
}

}  // namespace gw::decision

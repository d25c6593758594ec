// POST /v1/check (SPEC §8): the body {"api_key","method","path"} (and an optional
// "cost", default 1) read as a decision query for the limits the proxy would apply to
// that request (the plan-wide limit and the route's group), and the answer written as
// {"allowed","limit","remaining","reset","retry_after","headers":{...}}: limit, remaining
// and reset of the most constraining limit (the X-RateLimit-* one; null when no limit
// applied or no counter answered), retry_after in seconds (null when allowed), headers the
// fields the proxy would send. A refused check also carries "status" (what the proxy would
// answer: 401, 429, 503) and "error" (the proxy's error object). Pure functions.
//
// The busiest admin route: the body is read from the parser's events and the answer written
// as text, where a Boost.JSON DOM built and serialized cost a quarter of the check
// (callgrind). A member given twice is a 400 naming it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "decision/check_query.h"

namespace gw::admin {

struct CheckBodyError {
  std::string message;
  std::optional<std::string> param;  // the member at fault; nullopt: the body as a whole
};

core::Result<decision::CheckQuery, CheckBodyError> read_check_body(std::string_view body);

// The answer's JSON text.
std::string check_answer_json(const decision::CheckAnswer& answer, std::string_view request_id);

}  // namespace gw::admin

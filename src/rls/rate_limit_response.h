// The ShouldRateLimit response for a decision (SPEC §8). OK only when the decision admits;
// every refusal (over a limit, unknown or revoked key, invalid request, store failure
// under fail_closed) is OVER_LIMIT with the gateway's error JSON in raw_body, never a gRPC
// error: Envoy's default (failure_mode_deny: false) would turn an error into an admit.
// `statuses` align with the request's descriptors; each one that named a limit carries
// current_limit, limit_remaining and duration_until_reset. response_headers_to_add holds
// the proxy's rate-limit fields and Retry-After, plus Content-Type for raw_body (Envoy
// replaces its local reply's Content-Type with one the service sends). Pure; thread-safe.
#pragma once

#include <cstdint>

#include "decision/check_query.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"

namespace gw::rls {

// The response to a request with `descriptors` descriptors that was refused before any
// decision (its shape, its domain).
void write_refusal(const decision::Refusal& refusal, int descriptors, std::string_view request_id,
                   envoy::service::ratelimit::v3::RateLimitResponse& out);

// The response to a query read from a request (one selector per descriptor).
void write_answer(const decision::CheckAnswer& answer, std::string_view request_id,
                  envoy::service::ratelimit::v3::RateLimitResponse& out);

}  // namespace gw::rls

// The rate-limit fields of a response (SPEC §4): X-RateLimit-Limit/-Remaining/-Reset/-Used/
// -Resource for the most constraining limit, and optionally the IETF httpapi draft's
// RateLimit-Policy and RateLimit fields for every limit. Numbers are formatted with
// std::to_chars straight into the response head.
#pragma once

#include <cstdint>
#include <span>

#include "limiter/limit.h"
#include "proxy/head_writer.h"
#include "store/counter_store.h"

namespace gw::proxy {

struct RateLimitHeaderOptions {
  bool x_ratelimit = true;
  bool ietf = false;
};

// REQUIRES: limits.size() == decisions.size() > 0.
// `now_unix_s` gives the IETF `t` (seconds until reset).
void add_rate_limit_headers(HeadWriter& out, std::span<const store::LimitRef> limits,
                            std::span<const limiter::Decision> decisions, bool admitted,
                            std::int64_t now_unix_s, RateLimitHeaderOptions options);

// Seconds a client should wait before retrying: the decision's retry_after rounded up,
// at least 1.
std::int64_t retry_after_seconds(const limiter::Decision& decision) noexcept;

}  // namespace gw::proxy

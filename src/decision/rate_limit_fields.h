// The rate-limit fields of an answer (SPEC §4): X-RateLimit-Limit/-Remaining/-Reset/-Used/
// -Resource for the most constraining limit, and optionally the IETF httpapi draft's
// RateLimit-Policy and RateLimit fields for every limit. Transport-free: they are written
// into any sink with `field(name, std::int64_t)` and `field(name, std::string_view)` (the
// proxy's HeadWriter formats numbers straight into the response head; the decision
// service's header list). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "limiter/check.h"
#include "limiter/limit.h"
#include "store/counter_store.h"

namespace gw::decision {

struct RateLimitFieldOptions {
  bool x_ratelimit = true;
  bool ietf = false;
};

// The IETF fields' values: RateLimit-Policy and RateLimit.
struct IetfFields {
  std::string policy;
  std::string state;
};
// `now_unix_s` gives each limit's `t` (seconds until reset).
IetfFields ietf_fields(std::span<const store::LimitRef> limits,
                       std::span<const limiter::Decision> decisions, std::int64_t now_unix_s);

// REQUIRES: limits.size() == decisions.size() > 0.
template <typename Sink>
void write_rate_limit_fields(Sink& out, std::span<const store::LimitRef> limits,
                             std::span<const limiter::Decision> decisions, bool admitted,
                             std::int64_t now_unix_s, RateLimitFieldOptions options) {
  if (options.x_ratelimit) {
    const std::size_t shown = limiter::most_constraining(decisions, admitted);
    const limiter::Decision& d = decisions[shown];
    out.field("X-RateLimit-Limit", d.limit);
    out.field("X-RateLimit-Remaining", d.remaining);
    out.field("X-RateLimit-Reset", d.reset_unix_s);
    out.field("X-RateLimit-Used", d.used);
    out.field("X-RateLimit-Resource", std::string_view(limits[shown].name));
  }
  if (options.ietf) {
    const IetfFields ietf = ietf_fields(limits, decisions, now_unix_s);
    out.field("RateLimit-Policy", std::string_view(ietf.policy));
    out.field("RateLimit", std::string_view(ietf.state));
  }
}

// Seconds a client should wait before retrying: the decision's retry_after rounded up,
// at least 1.
std::int64_t retry_after_seconds(const limiter::Decision& decision) noexcept;

}  // namespace gw::decision

#include "proxy/rate_limit_headers.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "limiter/check.h"

namespace gw::proxy {
namespace {

std::int64_t window_seconds(const limiter::LimitSpec& spec) {
  return std::chrono::duration_cast<std::chrono::seconds>(spec.window).count();
}

void append_item(std::string& out, std::string_view name) {
  if (!out.empty()) out += ", ";
  out += '"';
  out += name;
  out += '"';
}

void append_param(std::string& out, std::string_view key, std::int64_t value) {
  out += ';';
  out += key;
  out += '=';
  out += Digits(value).view();
}

}  // namespace

std::int64_t retry_after_seconds(const limiter::Decision& decision) noexcept {
  const auto ns = decision.retry_after.count();
  const std::int64_t seconds = (ns + 999'999'999) / 1'000'000'000;
  return std::max<std::int64_t>(seconds, 1);
}

void add_rate_limit_headers(HeadWriter& out, std::span<const store::LimitRef> limits,
                            std::span<const limiter::Decision> decisions, bool admitted,
                            std::int64_t now_unix_s, RateLimitHeaderOptions options) {
  const std::size_t shown = limiter::most_constraining(decisions, admitted);
  const limiter::Decision& d = decisions[shown];
  if (options.x_ratelimit) {
    out.field("X-RateLimit-Limit", d.limit);
    out.field("X-RateLimit-Remaining", d.remaining);
    out.field("X-RateLimit-Reset", d.reset_unix_s);
    out.field("X-RateLimit-Used", d.used);
    out.field("X-RateLimit-Resource", limits[shown].name);
  }
  if (options.ietf) {
    std::string policy;
    std::string state;
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      append_item(policy, limits[i].name);
      append_param(policy, "q", decisions[i].limit);
      append_param(policy, "w", window_seconds(limits[i].spec));
      append_item(state, limits[i].name);
      append_param(state, "r", decisions[i].remaining);
      append_param(state, "t", std::max<std::int64_t>(decisions[i].reset_unix_s - now_unix_s, 0));
    }
    out.field("RateLimit-Policy", policy);
    out.field("RateLimit", state);
  }
}

}  // namespace gw::proxy

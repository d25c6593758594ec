#include "decision/rate_limit_fields.h"

#include <algorithm>
#include <chrono>
#include <string>

namespace gw::decision {
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
  out += std::to_string(value);
}

}  // namespace

std::int64_t retry_after_seconds(const limiter::Decision& decision) noexcept {
  const auto ns = decision.retry_after.count();
  const std::int64_t seconds = (ns + 999'999'999) / 1'000'000'000;
  return std::max<std::int64_t>(seconds, 1);
}

IetfFields ietf_fields(std::span<const store::LimitRef> limits,
                       std::span<const limiter::Decision> decisions, std::int64_t now_unix_s) {
  IetfFields out;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    append_item(out.policy, limits[i].name);
    append_param(out.policy, "q", decisions[i].limit);
    append_param(out.policy, "w", window_seconds(limits[i].spec));
    append_item(out.state, limits[i].name);
    append_param(out.state, "r", decisions[i].remaining);
    append_param(out.state, "t", std::max<std::int64_t>(decisions[i].reset_unix_s - now_unix_s, 0));
  }
  return out;
}

}  // namespace gw::decision

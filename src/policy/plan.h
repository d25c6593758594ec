// The limits of one plan (or of one account, after its overrides). Plain value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace gw::policy {

struct PlanLimits {
  std::int64_t api_requests_per_minute = 0;
  std::optional<std::int64_t> concurrent_sessions;  // nullopt = unlimited (still counted)
  std::int64_t ws_messages_per_second = 0;
  std::int64_t ws_audio_bytes_per_second = 0;
  // Per-minute limit of each endpoint group this plan limits; a group absent here is not
  // limited for the plan (only the plan-wide limit applies).
  std::map<std::string, std::int64_t, std::less<>> groups;
  bool shadow_mode = false;  // decide and report, never reject (dark launch of this plan)
};

}  // namespace gw::policy

// Store failures are hit by every request during an outage: a line a second, with the
// count of those held back, says as much as a line per request without flooding the log.
// One throttle for the whole process (all workers, every path that decides). Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "core/log_throttle.h"

namespace gw::decision {

inline void log_store_failure(std::string_view what, std::string_view detail) {
  static core::LogThrottle throttle;
  if (auto held_back = throttle.admit()) {
    spdlog::warn("{}: {} ({} more held back since the last such line)", what, detail, *held_back);
  }
}

}  // namespace gw::decision

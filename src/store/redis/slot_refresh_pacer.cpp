#include "store/redis/slot_refresh_pacer.h"

namespace gw::store::redis {

SlotRefreshPacer::Clock::time_point SlotRefreshPacer::due(bool degraded) const noexcept {
  if (in_flight_) return Clock::time_point::max();
  if (!started_) return Clock::time_point::min();
  const Clock::duration gap =
      wanted_ ? periods_.min_gap : (degraded ? periods_.degraded : periods_.steady);
  return last_start_ + gap;
}

bool SlotRefreshPacer::try_start(Clock::time_point now, bool degraded) noexcept {
  if (now < due(degraded)) return false;
  in_flight_ = true;
  wanted_ = false;
  started_ = true;
  last_start_ = now;
  return true;
}

}  // namespace gw::store::redis

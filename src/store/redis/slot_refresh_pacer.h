// SlotRefreshPacer: when a Redis Cluster client asks for the slot map (CLUSTER SLOTS)
// again. A dead master never answers MOVED, so the map must also be refreshed when a node
// fails or times out, and now and then regardless; but a node that fails under traffic
// fails thousands of commands a second, and each must not become a refresh.
//
// - want(): something suggests the map is stale (a node failed or timed out, a MOVED). The
//   next refresh is due `min_gap` after the last one began (at once if that is past).
// - Otherwise refreshes are periodic: every `degraded` while a node that serves slots is
//   down (its replica may be promoted any moment), every `steady` while all are up.
// - At most one refresh in flight: none is due until finished() (the client completes
//   every command, so a refresh cannot hang for longer than its timeout).
//
// Not thread-safe: one per event loop. Time is passed in (tests drive it).
#pragma once

#include <chrono>

namespace gw::store::redis {

class SlotRefreshPacer {
 public:
  using Clock = std::chrono::steady_clock;

  struct Periods {
    Clock::duration min_gap = std::chrono::milliseconds(200);
    Clock::duration degraded = std::chrono::milliseconds(500);
    Clock::duration steady = std::chrono::seconds(5);
  };

  SlotRefreshPacer() noexcept : SlotRefreshPacer(Periods{}) {}
  explicit SlotRefreshPacer(Periods periods) noexcept : periods_(periods) {}

  // The map may be stale: refresh as soon as `min_gap` allows.
  void want() noexcept { wanted_ = true; }

  // When the next refresh may start: time_point::min() if at once (the first, or a wanted
  // one whose gap has passed long ago), time_point::max() while one is in flight.
  Clock::time_point due(bool degraded) const noexcept;

  // Starts a refresh if one is due at `now`; true means the caller sends it now.
  bool try_start(Clock::time_point now, bool degraded) noexcept;

  // The refresh in flight completed, whatever its outcome.
  void finished() noexcept { in_flight_ = false; }

  bool in_flight() const noexcept { return in_flight_; }
  bool wanted() const noexcept { return wanted_; }

 private:
  Periods periods_;
  bool started_ = false;
  Clock::time_point last_start_{};
  bool wanted_ = false;
  bool in_flight_ = false;
};

}  // namespace gw::store::redis

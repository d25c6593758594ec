#include "core/clock.h"

namespace gw::core {
namespace {

class SystemClock final : public Clock {
 public:
  UnixNanos now() const noexcept override {
    return std::chrono::duration_cast<UnixNanos>(
        std::chrono::system_clock::now().time_since_epoch());
  }
  SteadyTime steady_now() const noexcept override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const Clock& real_clock() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace gw::core

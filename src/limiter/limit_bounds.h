// The largest number a limit may hold, in one place for everything a limit comes in
// through — the configuration (config/), admin overrides (policy/) — and for both counter
// stores, which refuse a check beyond it (store/check_bounds.h). Constants only.
#pragma once

#include <cstdint>

namespace gw::limiter {

// Units per window of one limit (requests per minute, concurrent sessions, WebSocket
// messages or audio bytes per second). 1e9 is far above any real plan and keeps every
// computation on it exact with room to spare: the limiter's (128-bit wherever a product
// may pass 64 bits), a stream's token bucket (a double), and the Redis check script's
// (Lua doubles, exact below 2^53; the script is exact for limits up to 2^40).
inline constexpr std::int64_t kMaxLimit = 1'000'000'000;

// Units one check may charge (an HTTP request costs 1). A cost above a limit is never
// admitted, so nothing is gained by allowing more than the largest limit.
inline constexpr std::int64_t kMaxCost = kMaxLimit;

constexpr bool is_valid_limit(std::int64_t n) noexcept { return n >= 0 && n <= kMaxLimit; }

}  // namespace gw::limiter

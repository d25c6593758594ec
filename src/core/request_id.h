// X-Request-ID: propagated when the client sent a sane one, generated otherwise.
#pragma once

#include <string>
#include <string_view>

namespace gw::core {

// "req_" followed by 24 lowercase hex digits, from a per-thread generator (not a secret).
std::string generate_request_id();

// True when a client-supplied id may be passed on: 1..128 visible ASCII characters.
bool is_acceptable_request_id(std::string_view id) noexcept;

}  // namespace gw::core

// Host names as configuration gives them (an upstream, a Redis node): the RFC 1123 form,
// shared by every parser of an address so they accept the same names. Pure; thread-safe.
#pragma once

#include <string_view>

namespace gw::core {

// Dot-separated labels of ASCII letters, digits and '-' (not at a label's ends), each of
// 1 to 63 characters, 253 at most in all; one trailing dot (fully qualified) is allowed.
// A dotted IPv4 address is such a name too.
bool is_host_name(std::string_view text) noexcept;

}  // namespace gw::core

// Host names and port numbers as configuration gives them (an upstream, a Redis node, a
// listen address), shared by every parser of an address so they accept the same text.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gw::core {

// RFC 1123: dot-separated labels of ASCII letters, digits and '-' (not at a label's ends),
// each of 1 to 63 characters, 253 at most in all; one trailing dot (fully qualified) is
// allowed. A dotted IPv4 address is such a name too.
bool is_host_name(std::string_view text) noexcept;

// A port of 1 to 5 decimal digits, 0 to 65535 (leading zeros allowed: "06379" is 6379);
// nullopt for anything else, a sign or a space included. Callers that cannot use port 0
// refuse it themselves.
std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept;

}  // namespace gw::core

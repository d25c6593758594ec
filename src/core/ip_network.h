// Client addresses as the gateway compares them: every address is 16 bytes (an IPv4
// address in its IPv4-mapped IPv6 form, RFC 4291 §2.5.5.2, so one table holds both), CIDR
// networks over those bytes (trusted_proxies), and the unit a client is limited as
// (an IPv4 address, or an IPv6 /64: the smallest block a site is assigned, RFC 6177, so
// rotating through one's own /64 buys no fresh budget or connection slots).
// Pure values and functions; thread-safe.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::core {

using IpBytes = std::array<std::uint8_t, 16>;

IpBytes ip_bytes(const boost::asio::ip::address& address) noexcept;
bool is_ipv4_mapped(const IpBytes& bytes) noexcept;

// A literal IPv4 or IPv6 address (no brackets, no zone, no port); nullopt otherwise.
std::optional<IpBytes> parse_ip(std::string_view text) noexcept;

// "192.0.2.0/24", "2001:db8::/32", or a single address (a /32 or /128).
struct IpNetwork {
  IpBytes base{};             // host bits cleared
  std::uint8_t prefix = 128;  // over the 16 bytes: an IPv4 /24 is 96 + 24

  bool contains(const IpBytes& address) const noexcept;
};

// nullopt for anything else (host bits set are cleared, as most tools accept "10.1.2.3/8").
std::optional<IpNetwork> parse_ip_network(std::string_view text) noexcept;

// The bytes with every bit after the first `prefix` cleared.
IpBytes mask(const IpBytes& bytes, unsigned prefix) noexcept;

// The unit a client is limited as: an IPv4 address whole, an IPv6 address's /64.
IpBytes client_block(const IpBytes& address) noexcept;

// "192.0.2.7" / "2001:db8:1:2::5" (RFC 5952 form).
std::string ip_text(const IpBytes& address);
// The client block's text: "192.0.2.7" or "2001:db8:1:2::/64".
std::string client_block_text(const IpBytes& address);

struct IpBytesHash {
  std::size_t operator()(const IpBytes& bytes) const noexcept;
};

}  // namespace gw::core

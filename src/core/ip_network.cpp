#include "core/ip_network.h"

#include <cstring>

#include "core/keyed_hash.h"

namespace gw::core {

namespace ip = boost::asio::ip;

IpBytes ip_bytes(const ip::address& address) noexcept {
  if (address.is_v4()) return ip::make_address_v6(ip::v4_mapped, address.to_v4()).to_bytes();
  return address.to_v6().to_bytes();
}

bool is_ipv4_mapped(const IpBytes& bytes) noexcept {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kPrefix, sizeof kPrefix) == 0;
}

std::optional<IpBytes> parse_ip(std::string_view text) noexcept {
  if (text.empty() || text.size() > 45 || text.find('%') != std::string_view::npos) {
    return std::nullopt;  // 45: the longest IPv6 text (with an embedded IPv4 tail)
  }
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return ip_bytes(address);
}

IpBytes mask(const IpBytes& bytes, unsigned prefix) noexcept {
  IpBytes out{};
  for (unsigned i = 0; i < 16; ++i) {
    if (prefix >= 8 * (i + 1)) {
      out[i] = bytes[i];
    } else if (prefix > 8 * i) {
      out[i] = static_cast<std::uint8_t>(bytes[i] & (0xff << (8 - (prefix - 8 * i))));
    }
  }
  return out;
}

bool IpNetwork::contains(const IpBytes& address) const noexcept {
  return mask(address, prefix) == base;
}

std::optional<IpNetwork> parse_ip_network(std::string_view text) noexcept {
  const auto slash = text.find('/');
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned offset = is_ipv4_mapped(*address) ? 96 : 0;
  unsigned prefix = 128 - offset;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > 128 - offset) return std::nullopt;
  }
  IpNetwork network;
  network.prefix = static_cast<std::uint8_t>(prefix + offset);
  network.base = mask(*address, network.prefix);
  return network;
}

IpBytes client_block(const IpBytes& address) noexcept {
  return is_ipv4_mapped(address) ? address : mask(address, 64);
}

std::string ip_text(const IpBytes& address) {
  const ip::address_v6 v6(address);
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).to_string();
  return v6.to_string();
}

std::string client_block_text(const IpBytes& address) {
  if (is_ipv4_mapped(address)) return ip_text(address);
  return ip_text(mask(address, 64)) + "/64";
}

std::size_t IpBytesHash::operator()(const IpBytes& bytes) const noexcept {
  // Keyed: a client with a large block of addresses must not aim them at one bucket.
  return static_cast<std::size_t>(keyed_hash(bytes));
}

}  // namespace gw::core

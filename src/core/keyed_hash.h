// Keyed hashes for tables whose keys a client chooses (presented API keys, client
// addresses): SipHash (libsodium's crypto_shorthash) under a key drawn at random when the
// process starts, so nobody outside can aim collisions at one bucket or learn what a
// table holds from its layout. A KeyedDigest also stands in for a secret as a map key:
// the plain secret is never kept (128 bits, so a collision is beyond reach).
// Thread-safe: the process key is set once, before first use, and only read afterwards.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace gw::core {

// SipHash-2-4 (64 bits) of `data` under the process key.
std::uint64_t keyed_hash(std::span<const std::uint8_t> data) noexcept;
inline std::uint64_t keyed_hash(std::string_view data) noexcept {
  return keyed_hash({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
}

// SipHash-2-4 with 128-bit output under the process key (a separate key from keyed_hash).
struct KeyedDigest {
  std::array<std::uint8_t, 16> bytes{};

  static KeyedDigest of(std::string_view data) noexcept;
  friend bool operator==(const KeyedDigest&, const KeyedDigest&) = default;
};

// For hash maps keyed by a KeyedDigest: its bytes are already uniformly distributed.
struct KeyedDigestHash {
  using is_avalanching = void;  // Boost.Unordered: no extra mixing needed
  std::size_t operator()(const KeyedDigest& digest) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, digest.bytes.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};

}  // namespace gw::core

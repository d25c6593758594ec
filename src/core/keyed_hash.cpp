#include "core/keyed_hash.h"

#include <sodium.h>

#include <cstdlib>

namespace gw::core {
namespace {

struct ProcessKeys {
  std::uint8_t short_key[crypto_shorthash_KEYBYTES];
  std::uint8_t digest_key[crypto_shorthash_siphashx24_KEYBYTES];

  ProcessKeys() {
    // sodium_init() seeds from the kernel (getrandom); without it no key is unpredictable,
    // and tables keyed by client input would be open to collision floods.
    if (sodium_init() < 0) std::abort();
    crypto_shorthash_keygen(short_key);
    randombytes_buf(digest_key, sizeof digest_key);
  }
};

const ProcessKeys& keys() {
  static const ProcessKeys instance;  // thread-safe initialization (C++11 statics)
  return instance;
}

}  // namespace

std::uint64_t keyed_hash(std::span<const std::uint8_t> data) noexcept {
  std::uint64_t out;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&out), data.data(), data.size(),
                   keys().short_key);
  return out;
}

KeyedDigest KeyedDigest::of(std::string_view data) noexcept {
  KeyedDigest digest;
  crypto_shorthash_siphashx24(digest.bytes.data(),
                              reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                              keys().digest_key);
  return digest;
}

}  // namespace gw::core

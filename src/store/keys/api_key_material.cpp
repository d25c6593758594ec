#include "store/keys/api_key_material.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <boost/algorithm/hex.hpp>
#include <climits>
#include <iterator>

namespace gw::store {
namespace {

constexpr std::string_view kLivePrefix = "sk_live_";
constexpr std::string_view kTestPrefix = "sk_test_";
constexpr std::size_t kKeySecretChars = 43;  // base62: 43 * log2(62) = 256.0 bits
constexpr std::size_t kKeyIdBytes = 12;      // "key_" + 24 hex digits

// Fills `out` from OpenSSL's CSPRNG. False only if the generator cannot be seeded.
bool random_bytes(unsigned char* out, std::size_t size) {
  return size <= INT_MAX && RAND_bytes(out, static_cast<int>(size)) == 1;
}

// Unbiased base62: bytes >= 248 (= 4 * 62) are discarded, the rest are taken modulo 62.
bool random_base62(std::size_t chars, std::string& out) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::array<unsigned char, 64> pool{};
  std::size_t produced = 0;
  while (produced < chars) {
    if (!random_bytes(pool.data(), pool.size())) return false;
    for (unsigned char b : pool) {
      if (b >= 248) continue;
      out.push_back(kAlphabet[b % 62]);
      if (++produced == chars) break;
    }
  }
  OPENSSL_cleanse(pool.data(), pool.size());
  return true;
}

bool random_hex(std::size_t bytes, std::string& out) {
  std::array<unsigned char, 32> buffer{};
  if (bytes > buffer.size() || !random_bytes(buffer.data(), bytes)) return false;
  boost::algorithm::hex_lower(buffer.data(), buffer.data() + bytes, std::back_inserter(out));
  return true;
}

}  // namespace

std::optional<KeyMaterial> generate_key_material(KeyEnvironment environment) {
  KeyMaterial material;
  material.key = environment == KeyEnvironment::test ? kTestPrefix : kLivePrefix;
  material.key_id = "key_";
  if (!random_base62(kKeySecretChars, material.key) || !random_hex(kKeyIdBytes, material.key_id)) {
    return std::nullopt;
  }
  return material;
}

bool looks_like_api_key(std::string_view plain_key) noexcept {
  // Both prefixes have the same length.
  if (plain_key.size() != kLivePrefix.size() + kKeySecretChars) return false;
  if (!plain_key.starts_with(kLivePrefix) && !plain_key.starts_with(kTestPrefix)) return false;
  // On every request with a key: one table load per character, and no early exit to
  // branch on (a made-up key is rare; a real one is scanned whole anyway).
  static constexpr auto kBase62 = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
    return table;
  }();
  bool all = true;
  for (char c : plain_key.substr(kLivePrefix.size())) all &= kBase62[static_cast<unsigned char>(c)];
  return all;
}

}  // namespace gw::store

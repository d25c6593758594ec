// New API keys: the secret shown once ("sk_live_" / "sk_test_" + 43 base62 characters,
// 256 bits from OpenSSL's CSPRNG) and its public id ("key_" + 24 hex digits). Shared by
// every AccountStore so keys look alike whatever the backend.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/account_store.h"

namespace gw::store {

struct KeyMaterial {
  std::string key;     // the plain secret
  std::string key_id;  // safe to log
};

// nullopt only if the random generator cannot be seeded.
std::optional<KeyMaterial> generate_key_material(KeyEnvironment environment);

// Whether `plain_key` can be an API key at all: a prefix, then exactly 43 base62
// characters, as generate_key_material() makes them. Checked before any hashing, caching
// or lookup, so made-up strings cost nothing more than this scan.
bool looks_like_api_key(std::string_view plain_key) noexcept;

}  // namespace gw::store

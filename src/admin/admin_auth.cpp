#include "admin/admin_auth.h"

#include <openssl/crypto.h>

#include <string>

#include "core/bearer_token.h"
#include "store/keys/key_hash.h"

namespace gw::admin {

AdminAuth check_admin_token(std::string_view authorization, std::string_view expected_sha256_hex) {
  if (expected_sha256_hex.empty()) return AdminAuth::disabled;
  const std::string_view token = core::bearer_token(authorization);
  if (token.empty()) return AdminAuth::missing;

  // Comparing digests of equal length in constant time: the early exit on length above is
  // about the header's shape, never about the secret.
  const std::string presented = store::sha256_hex(token);
  if (presented.size() != expected_sha256_hex.size() ||
      CRYPTO_memcmp(presented.data(), expected_sha256_hex.data(), presented.size()) != 0) {
    return AdminAuth::invalid;
  }
  return AdminAuth::ok;
}

}  // namespace gw::admin

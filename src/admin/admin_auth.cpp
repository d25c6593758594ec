#include "admin/admin_auth.h"

#include <openssl/crypto.h>

#include "core/bearer_token.h"

namespace gw::admin {

AdminAuth check_admin_token(std::string_view authorization,
                            const std::optional<core::KeyedDigest>& expected) {
  if (!expected) return AdminAuth::disabled;
  const std::string_view token = core::bearer_token(authorization);
  if (token.empty()) return AdminAuth::missing;
  const core::KeyedDigest presented = core::KeyedDigest::of(token);
  if (CRYPTO_memcmp(presented.bytes.data(), expected->bytes.data(), presented.bytes.size()) != 0) {
    return AdminAuth::invalid;
  }
  return AdminAuth::ok;
}

}  // namespace gw::admin

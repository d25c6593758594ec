#include "admin/admin_auth.h"

#include "core/http_text.h"

#include <openssl/crypto.h>

#include <cctype>
#include <string>

#include "store/keys/key_hash.h"

namespace gw::admin {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

AdminAuth check_admin_token(std::string_view authorization, std::string_view expected_sha256_hex) {
  if (expected_sha256_hex.empty()) return AdminAuth::disabled;
  authorization = core::trim_ows(authorization);
  constexpr std::string_view kScheme = "Bearer";
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t')) {
    return AdminAuth::missing;
  }
  const std::string_view token = core::trim_ows(authorization.substr(kScheme.size()));
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

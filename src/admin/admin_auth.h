// The admin bearer token check (SPEC §6). The token itself is never stored: the app hands
// over its SHA-256, and the presented token is hashed and compared in constant time, so
// neither the comparison's timing nor a memory dump gives the token away. Pure function.
#pragma once

#include <string_view>

namespace gw::admin {

enum class AdminAuth {
  ok,
  disabled,  // no admin token configured: the admin API refuses everything
  missing,   // no "Authorization: Bearer …" header
  invalid,   // a token that is not the admin token
};

// `authorization` is the raw Authorization header value (empty if absent);
// `expected_sha256_hex` the lowercase hex SHA-256 of the admin token.
AdminAuth check_admin_token(std::string_view authorization, std::string_view expected_sha256_hex);

}  // namespace gw::admin

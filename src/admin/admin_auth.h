// The admin bearer token check (SPEC §6). The token itself is never kept: the app hands
// over its keyed digest (core::KeyedDigest: SipHash-128 under a key drawn when the process
// starts), and the presented token's digest is compared in constant time, so neither the
// comparison's timing nor a memory dump gives the token away. A SipHash, not SHA-256: the
// check runs on every admin request, POST /v1/check among them, where setting up OpenSSL's
// digest cost 13% of the whole check (callgrind). Pure function.
#pragma once

#include <optional>
#include <string_view>

#include "core/keyed_hash.h"

namespace gw::admin {

enum class AdminAuth {
  ok,
  disabled,  // no admin token configured: the admin API refuses everything
  missing,   // no "Authorization: Bearer …" header
  invalid,   // a token that is not the admin token
};

// `authorization` is the raw Authorization header value (empty if absent); `expected` the
// admin token's digest (nullopt: no admin token configured).
AdminAuth check_admin_token(std::string_view authorization,
                            const std::optional<core::KeyedDigest>& expected);

}  // namespace gw::admin

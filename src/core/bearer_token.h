// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1), read the same way
// by the proxy (API keys) and the admin listener (the admin token). Pure; thread-safe.
#pragma once

#include <string_view>

#include "core/ascii.h"

namespace gw::core {

// The token, without the optional whitespace around it; empty when `authorization` is
// not a Bearer credential. The scheme is case-insensitive (RFC 9110 §11.1) and is
// followed by at least one SP or HTAB.
constexpr std::string_view bearer_token(std::string_view authorization) noexcept {
  constexpr std::string_view kScheme = "Bearer";
  authorization = trim_ows(authorization);
  if (authorization.size() <= kScheme.size() || !istarts_with(authorization, kScheme) ||
      (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t')) {
    return {};
  }
  return trim_ows(authorization.substr(kScheme.size()));
}

}  // namespace gw::core

#include "proxy/credentials.h"

#include "core/ascii.h"
#include "core/bearer_token.h"

namespace gw::proxy {

namespace http = boost::beast::http;

PresentedCredential presented_credential(const http::fields& fields) {
  PresentedCredential out;
  // The value each line presents: a Bearer token, or the raw value of anything else (a
  // Basic credential is a credential too, and may not ride along with a key).
  std::string_view seen;
  bool seen_any = false;
  bool malformed = false;
  const auto present = [&](std::string_view value, bool is_key, bool via_authorization) {
    if (seen_any && value != seen) {
      out.kind = PresentedCredential::Kind::conflicting;
      return false;
    }
    if (!seen_any) out.via_authorization = via_authorization;
    out.via_authorization |= via_authorization;
    seen = value;
    seen_any = true;
    malformed |= !is_key;
    return true;
  };
  for (const auto& field : fields) {
    if (field.name() == http::field::authorization) {
      const std::string_view value = core::trim_ows(field.value());
      const std::string_view token = core::bearer_token(value);
      if (!present(token.empty() ? value : token, !token.empty(), true)) return out;
    } else if (field.name() == http::field::unknown &&
               core::iequals(field.name_string(), "X-API-Key")) {
      const std::string_view key = core::trim_ows(field.value());
      if (!present(key, !key.empty(), false)) return out;
    }
  }
  if (!seen_any) return out;
  if (malformed) {
    out.kind = PresentedCredential::Kind::malformed;
    return out;
  }
  out.kind = PresentedCredential::Kind::key;
  out.key = seen;
  return out;
}

}  // namespace gw::proxy

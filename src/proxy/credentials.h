// The API key a request presents (SPEC §4 "Identity"): `Authorization: Bearer <key>` or
// `X-API-Key: <key>`, and nothing else. One credential per request: a caller could
// otherwise be charged as one account (the key the gateway reads) while the API
// authenticates it as another (the key the API reads). So every Authorization and
// X-API-Key line is read, and the request presents
//   - no credential at all;
//   - one key (possibly on several lines, or in both headers, but always the same key);
//   - a malformed credential (another scheme than Bearer, an empty key): it cannot be
//     charged, so it is an unknown key;
//   - or conflicting ones (two different values): refused with 400.
// What is forwarded is the one key the gateway charged, written by the gateway (see
// upstream_request_head.h): no Connection nomination can drop or swap it.
// Pure; points into the parsed head; thread-safe.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string_view>

#include "decision/decision.h"

namespace gw::proxy {

using decision::PresentedCredential;

PresentedCredential presented_credential(const boost::beast::http::fields& fields);

}  // namespace gw::proxy

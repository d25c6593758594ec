// Who a request comes from (SPEC §3 trusted_proxies). From an untrusted peer the client is
// the peer, whatever X-Forwarded-For says, and the upstream hears only the peer. From a
// trusted proxy, X-Forwarded-For (every line, in order: RFC 9110 §5.3) is read right to
// left and the first address that is not itself a trusted proxy is the client (a trusted
// proxy appends what it saw, so entries left of the first untrusted one are the client's
// own claims); the upstream hears the chain with the peer appended.
// Pure functions; thread-safe.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <span>
#include <string>
#include <string_view>

#include "core/ip_network.h"

namespace gw::proxy {

// X-Forwarded-For (always rewritten by the gateway), Forwarded and X-Real-IP (passed on
// only from a trusted proxy): what a client could write to pass for another address.
enum class OriginField { none, forwarded_for, other };
OriginField origin_field(std::string_view name) noexcept;

bool is_trusted_proxy(const core::IpBytes& peer, std::span<const core::IpNetwork> trusted) noexcept;

struct ForwardedClient {
  core::IpBytes address{};    // the client
  std::string forwarded_for;  // the X-Forwarded-For value for the upstream
};

// REQUIRES: is_trusted_proxy(peer, trusted). `peer_text` is ip_text(peer).
ForwardedClient client_behind_proxy(const core::IpBytes& peer, std::string_view peer_text,
                                    std::span<const core::IpNetwork> trusted,
                                    const boost::beast::http::fields& fields);

}  // namespace gw::proxy

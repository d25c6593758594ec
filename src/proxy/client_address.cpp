#include "proxy/client_address.h"

#include <vector>

#include "core/ascii.h"

namespace gw::proxy {

OriginField origin_field(std::string_view name) noexcept {
  using core::iequals;
  if (iequals(name, "X-Forwarded-For")) return OriginField::forwarded_for;
  if (iequals(name, "Forwarded") || iequals(name, "X-Real-IP")) return OriginField::other;
  return OriginField::none;
}

bool is_trusted_proxy(const core::IpBytes& peer,
                      std::span<const core::IpNetwork> trusted) noexcept {
  for (const core::IpNetwork& network : trusted) {
    if (network.contains(peer)) return true;
  }
  return false;
}

ForwardedClient client_behind_proxy(const core::IpBytes& peer, std::string_view peer_text,
                                    std::span<const core::IpNetwork> trusted,
                                    const boost::beast::http::fields& fields) {
  ForwardedClient out;
  std::vector<std::string_view> chain;  // bounded by the head size limit
  for (const auto& field : fields) {
    if (field.name() != boost::beast::http::field::unknown ||
        !core::iequals(field.name_string(), "X-Forwarded-For")) {
      continue;
    }
    core::for_each_list_element(field.value(),
                                [&](std::string_view entry) { chain.push_back(entry); });
  }
  for (std::string_view entry : chain) {
    out.forwarded_for.append(entry);
    out.forwarded_for += ", ";
  }
  out.forwarded_for.append(peer_text);

  out.address = peer;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const auto address = core::parse_ip(*it);
    // Not an address: nothing left of it can be trusted either; the client is the last
    // hop that was.
    if (!address) break;
    out.address = *address;
    if (!is_trusted_proxy(*address, trusted)) break;
  }
  return out;
}

}  // namespace gw::proxy

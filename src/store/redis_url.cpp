#include "store/redis_url.h"

#include <algorithm>
#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <optional>

#include "core/ascii.h"
#include "core/host_port.h"

namespace gw::store {
namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kExpected = "expected redis://[[user]:password@]host[:port][/db]";
constexpr std::string_view kBadPort = "the port must be a number from 1 to 65535";

core::Unexpected<std::string> refuse(std::string_view what) {
  return core::unexpected(std::string(what) + "; " + std::string(kExpected));
}

// "\"<host>\" is not a valid host" (appended, not operator+: GCC 12 warns falsely on that).
std::string not_a_host(std::string_view host) {
  std::string out = "\"";
  out.append(host).append("\" is not a valid host");
  return out;
}

std::optional<int> db_of(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), core::is_ascii_digit)) {
    return std::nullopt;
  }
  int db = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, error] = std::from_chars(digits.data(), end, db);
  if (error != std::errc() || stop != end) return std::nullopt;  // more than an int holds
  return db;
}

// Why Boost.URL refused the URL, told by the part at fault. `userinfo` has its '@'
// escaped; the message never quotes it (it holds the password).
std::string why_unparsable(std::optional<std::string_view> userinfo, std::string_view host_port) {
  if (userinfo && !boost::urls::parse_authority(std::string(*userinfo) + "@h")) {
    return "the user name and password must be percent-encoded (RFC 3986 §2.1: %25 for '%', "
           "%20 for a space)";
  }
  if (!boost::urls::parse_authority(host_port)) {
    if (host_port.starts_with('[')) {
      const auto close = host_port.find(']');
      if (close != std::string_view::npos && close + 1 < host_port.size() &&
          host_port[close + 1] != ':') {
        return "expected ':' and a port after ']'";
      }
      return "malformed bracketed IPv6 address";
    }
    const std::string_view host = host_port.substr(0, host_port.find(':'));
    if (!core::is_host_name(host)) return not_a_host(host);
    return std::string(kBadPort);  // the host is fine: the port is not
  }
  return "the database must be a number";  // the authority is fine: what follows is not
}

}  // namespace

std::string RedisUrl::address() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

core::Result<RedisUrl, std::string> parse_redis_url(std::string_view text) {
  if (!text.starts_with(kScheme)) {
    if (core::istarts_with(text, "rediss://")) return refuse("TLS (rediss://) is not supported");
    return core::unexpected(std::string(kExpected));
  }
  // The authority ends at the first '/', '?' or '#' (RFC 3986 §3.2), its user info at
  // the last '@' in it; an '@' before that one is escaped for Boost.URL, which would end
  // the user info at the first.
  const std::string_view rest = text.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t at = authority.rfind('@');
  const std::string_view host_port =
      at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (!host_port.starts_with('[') && std::count(host_port.begin(), host_port.end(), ':') > 1) {
    return refuse("IPv6 addresses must be in brackets, e.g. redis://[::1]:6379");
  }
  const bool has_userinfo = at != std::string_view::npos;
  std::string escaped(kScheme);
  if (has_userinfo) {
    for (const char c : authority.substr(0, at)) c == '@' ? escaped += "%40" : escaped += c;
  }
  const std::size_t userinfo_size = escaped.size() - kScheme.size();
  escaped.append(has_userinfo ? rest.substr(at) : rest);
  const auto parsed = boost::urls::parse_uri(escaped);  // views `escaped`
  if (!parsed) {
    const std::string_view userinfo =
        std::string_view(escaped).substr(kScheme.size(), userinfo_size);
    return refuse(why_unparsable(has_userinfo ? std::optional(userinfo) : std::nullopt, host_port));
  }
  if (parsed->has_query() || parsed->has_fragment()) {
    return refuse("a query or fragment is not supported (the database is the path: /<db>)");
  }

  RedisUrl url;
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      url.host = parsed->encoded_host_address();  // IPv6 without its brackets
      break;
    case boost::urls::host_type::name:
      if (parsed->encoded_host().empty()) return refuse("the URL has no host");
      if (!core::is_host_name(parsed->encoded_host())) {
        return refuse(not_a_host(parsed->encoded_host()));
      }
      url.host = parsed->encoded_host();
      break;
    default:  // none, or an IPvFuture literal ("[v1.x]")
      return refuse("malformed bracketed IPv6 address");
  }
  if (parsed->has_port()) {
    // From the digits, not port_number(): Boost.URL 1.81 wraps a port above 65535 (":99999"
    // would be 34463).
    const auto port = core::parse_port(parsed->port());
    if (!port || *port == 0) return refuse(kBadPort);
    url.port = *port;
  }
  const std::string_view path = parsed->encoded_path();
  if (!path.empty() && !path.starts_with('/')) {
    // "h:1x", "[::1]x": Boost.URL 1.81 reads the 'x' as a path.
    return refuse(parsed->has_port() ? kBadPort : "expected ':' and a port after ']'");
  }
  if (path.size() > 1) {
    const auto db = db_of(path.substr(1));
    if (!db) return refuse("the database must be a number");
    url.db = *db;
  }
  if (parsed->has_userinfo()) {
    url.username = parsed->user();
    url.password = parsed->password();
  }
  return url;
}

}  // namespace gw::store

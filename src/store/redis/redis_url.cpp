#include "store/redis/redis_url.h"

#include <boost/url/parse.hpp>
#include <charconv>

namespace gw::store::redis {

std::string RedisUrl::address() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

core::Result<RedisUrl, std::string> parse_redis_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || parsed->scheme() != "redis" || !parsed->has_authority()) {
    return core::unexpected(std::string("expected redis://[[user]:password@]host[:port][/db]"));
  }
  RedisUrl url;
  url.host = parsed->host_name().empty() ? std::string(parsed->encoded_host_address())
                                         : std::string(parsed->host_name());
  if (url.host.size() > 2 && url.host.front() == '[') url.host = url.host.substr(1, url.host.size() - 2);
  if (url.host.empty()) return core::unexpected(std::string("the URL has no host"));
  if (parsed->has_port()) {
    const auto port = parsed->port_number();
    if (port == 0) return core::unexpected(std::string("the port must be from 1 to 65535"));
    url.port = port;
  }
  if (parsed->has_userinfo()) {
    url.username = parsed->user();
    url.password = parsed->password();
  }
  std::string_view path = parsed->encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), url.db);
    if (ec != std::errc() || end != path.data() + path.size() || url.db < 0) {
      return core::unexpected(std::string("the database must be a number"));
    }
  }
  return url;
}

}  // namespace gw::store::redis

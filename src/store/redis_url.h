// A Redis endpoint as configured: redis://[[user]:password@]host[:port][/db]. The one
// parser of store.redis.url: `check-config` validates with it and `serve` connects with
// what it returns, so the two never disagree. Boost.URL only (no Redis client), so config/
// can use it. Pure values and functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gw::store {

struct RedisUrl {
  std::string host;  // a host name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 6379;
  int db = 0;
  std::string username;  // empty: the default user
  std::string password;  // empty: no AUTH

  // host:port, as Redis names nodes (CLUSTER SLOTS, MOVED); never the password.
  std::string address() const;
};

// RFC 3986 through Boost.URL, and narrower where Redis is: the scheme is "redis" (TLS,
// "rediss", is refused); the host an RFC 1123 name, an IPv4 address or a bracketed IPv6
// address; the port 1 to 65535; the path empty, "/" or "/<db number>"; no query or
// fragment. The user name and password are percent-decoded; a raw '@' in the password is
// read as Python's urllib (redis-py) reads it: the user info ends at the last '@'.
// A failure says what is wrong and what is expected, never the password.
core::Result<RedisUrl, std::string> parse_redis_url(std::string_view text);

}  // namespace gw::store

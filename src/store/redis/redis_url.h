// A Redis endpoint as configured: redis://[[user]:password@]host[:port][/db].
// config/ has already validated the text; parse_redis_url() still refuses what it cannot
// use, so a store built from any text fails with a message instead of misbehaving.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gw::store::redis {

struct RedisUrl {
  std::string host;
  std::uint16_t port = 6379;
  int db = 0;
  std::string username;  // empty: the default user
  std::string password;  // empty: no AUTH

  // host:port, as Redis names nodes (CLUSTER SLOTS, MOVED); never the password.
  std::string address() const;
};

core::Result<RedisUrl, std::string> parse_redis_url(std::string_view text);

}  // namespace gw::store::redis

// Parsers for the string-valued settings whose syntax is ours to check: listen addresses,
// the upstream URL and Redis URLs. Pure functions; each failure is a message that says what
// is accepted (the loader adds file, line and column). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "core/result.h"

namespace gw::config {

// "host:port" with an IPv4 address, "localhost" or a bracketed IPv6 address
// ("[::1]:8080"; the brackets are not kept). Port 0..65535 (0 = ephemeral).
core::Result<ListenAddress, std::string> parse_listen_address(std::string_view text);

struct HttpUrl {
  std::string host;  // host name or address; IPv6 without brackets
  std::uint16_t port = 80;
};

// "http://host[:port][/]": the upstream is HTTP/1.1 without TLS, and requests keep their own
// path, so a path (other than "/"), query, fragment or user info is rejected.
core::Result<HttpUrl, std::string> parse_upstream_url(std::string_view text);

// "redis://[[user]:password@]host[:port][/db]": what store::parse_redis_url() accepts, the
// parser `serve` connects with; nullopt when valid, else its message.
std::optional<std::string> validate_redis_url(std::string_view text);

}  // namespace gw::config

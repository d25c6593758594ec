#include "config/value_parsers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "core/ascii.h"
#include "core/host_port.h"
#include "store/redis_url.h"

namespace gw::config {
namespace {

bool is_ipv4(std::string_view s) {
  in_addr addr{};
  return inet_pton(AF_INET, std::string(s).c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view s) {
  in6_addr addr{};
  return inet_pton(AF_INET6, std::string(s).c_str(), &addr) == 1;
}

struct Authority {
  std::string host;
  std::optional<std::string_view> port;  // the text after ':', if any
};

// Splits "host[:port]" or "[v6][:port]"; the message says what is wrong.
core::Result<Authority, std::string> split_authority(std::string_view text) {
  Authority out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || !is_ipv6(text.substr(1, close - 1))) {
      return core::unexpected(std::string("malformed bracketed IPv6 address"));
    }
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return core::unexpected(std::string("expected ':' and a port after ']'"));
    }
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return core::unexpected(std::string("IPv6 addresses must be in brackets, e.g. [::1]:8080"));
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (!rest.empty()) {
    out.port = rest.substr(1);
  }
  return out;
}

}  // namespace

core::Result<ListenAddress, std::string> parse_listen_address(std::string_view text) {
  constexpr std::string_view kExpected =
      "expected \"host:port\" with an IPv4 address, localhost or [IPv6] "
      "(e.g. 0.0.0.0:8080, \"[::1]:8080\")";
  auto authority = split_authority(text);
  if (!authority) {
    return core::unexpected(authority.error() + "; " + std::string(kExpected));
  }
  if (!authority->port) {
    return core::unexpected("missing port; " + std::string(kExpected));
  }
  const auto port = core::parse_port(*authority->port);
  if (!port) {
    return core::unexpected("the port must be a number from 0 to 65535 (0 = any free port)");
  }
  const bool bracketed = !text.empty() && text.front() == '[';
  if (!bracketed && authority->host != "localhost" && !is_ipv4(authority->host)) {
    return core::unexpected("\"" + authority->host + "\" is not an address; " +
                            std::string(kExpected));
  }
  return ListenAddress{std::move(authority->host), *port};
}

core::Result<HttpUrl, std::string> parse_upstream_url(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (core::istarts_with(text, "https://")) {
    return core::unexpected(
        std::string("https upstreams are not supported; the upstream must be http://host[:port]"));
  }
  if (!core::istarts_with(text, kScheme)) {
    return core::unexpected(std::string("expected http://host[:port]"));
  }
  std::string_view rest = text.substr(kScheme.size());
  const auto end = rest.find_first_of("/?#");
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  rest = rest.substr(0, end);
  if (tail != "" && tail != "/") {
    return core::unexpected(std::string(
        "the upstream URL may not have a path, query or fragment (requests keep their own path)"));
  }
  if (rest.find('@') != std::string_view::npos) {
    return core::unexpected(std::string("the upstream URL may not contain user info"));
  }
  auto authority = split_authority(rest);
  if (!authority) {
    return core::unexpected(authority.error());
  }
  const bool bracketed = !rest.empty() && rest.front() == '[';
  if (!bracketed && !core::is_host_name(authority->host)) {
    return core::unexpected("\"" + authority->host + "\" is not a valid host");
  }
  HttpUrl out{std::move(authority->host), 80};
  if (authority->port) {
    const auto port = core::parse_port(*authority->port);
    if (!port || *port == 0) {
      return core::unexpected(std::string("the port must be a number from 1 to 65535"));
    }
    out.port = *port;
  }
  return out;
}

std::optional<std::string> validate_redis_url(std::string_view text) {
  auto url = store::parse_redis_url(text);
  if (!url) return std::move(url.error());
  return std::nullopt;
}

}  // namespace gw::config

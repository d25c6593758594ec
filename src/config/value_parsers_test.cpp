#include "config/value_parsers.h"

#include <gtest/gtest.h>

namespace gw::config {
namespace {

TEST(ListenAddress, Accepted) {
  const struct {
    const char* text;
    const char* host;
    std::uint16_t port;
  } cases[] = {
      {"0.0.0.0:8080", "0.0.0.0", 8080},     {"127.0.0.1:0", "127.0.0.1", 0},
      {"[::1]:8080", "::1", 8080},           {"[::]:65535", "::", 65535},
      {"localhost:9090", "localhost", 9090},
  };
  for (const auto& c : cases) {
    const auto a = parse_listen_address(c.text);
    ASSERT_TRUE(a) << c.text << ": " << a.error();
    EXPECT_EQ(a->host, c.host);
    EXPECT_EQ(a->port, c.port);
  }
}

TEST(ListenAddress, Rejected) {
  for (const char* text :
       {"", "8080", ":8080", "0.0.0.0", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:-1", "0.0.0.0:80x",
        "::1:8080", "[::1]8080", "[nope]:1", "example.com:80", "256.0.0.1:80", "*:80"}) {
    EXPECT_FALSE(parse_listen_address(text)) << text;
  }
}

TEST(UpstreamUrl, Accepted) {
  const struct {
    const char* text;
    const char* host;
    std::uint16_t port;
  } cases[] = {
      {"http://127.0.0.1:7000", "127.0.0.1", 7000}, {"http://api.internal", "api.internal", 80},
      {"http://api.internal/", "api.internal", 80}, {"HTTP://mock:1", "mock", 1},
      {"http://[::1]:7001", "::1", 7001},           {"http://[fe80::1]", "fe80::1", 80},
  };
  for (const auto& c : cases) {
    const auto u = parse_upstream_url(c.text);
    ASSERT_TRUE(u) << c.text << ": " << u.error();
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->port, c.port);
  }
}

TEST(UpstreamUrl, Rejected) {
  for (const char* text :
       {"", "127.0.0.1:7000", "https://api", "ftp://api", "http://", "http://:80", "http://api:0",
        "http://api:65536", "http://api:x", "http://api/v1", "http://api?x=1", "http://u:p@api",
        "http://a_b", "http://-a", "http://[::1"}) {
    EXPECT_FALSE(parse_upstream_url(text)) << text;
  }
}

TEST(RedisUrl, AcceptedAndRejected) {
  for (const char* text : {"redis://127.0.0.1:6379/0", "redis://cache", "redis://:pw@h:1/15",
                           "redis://user:p@ss@h:1", "redis://[::1]:6379"}) {
    EXPECT_EQ(validate_redis_url(text), std::nullopt) << text;
  }
  for (const char* text : {"", "127.0.0.1:6379", "http://h", "redis://", "redis://h:0",
                           "redis://h:99999", "redis://h/db"}) {
    EXPECT_NE(validate_redis_url(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace gw::config

#include "core/host_port.h"

#include <gtest/gtest.h>

#include <string>

namespace gw::core {
namespace {

TEST(HostName, Rfc1123NamesAndDottedAddresses) {
  for (const char* name :
       {"localhost", "cache", "redis-1.internal", "a.b.c.", "127.0.0.1", "x1", "API.Example.COM"}) {
    EXPECT_TRUE(is_host_name(name)) << name;
  }
  const std::string label63(63, 'a');
  EXPECT_TRUE(is_host_name(label63 + ".com"));
  EXPECT_FALSE(is_host_name(std::string(64, 'a') + ".com"));
  std::string longest;
  while (longest.size() + 64 <= 253) longest += label63 + ".";
  longest += std::string(253 - longest.size(), 'b');
  EXPECT_TRUE(is_host_name(longest));
  EXPECT_FALSE(is_host_name(longest + "b"));
  for (const char* bad : {"", ".", "a..b", ".a", "a.b..", "-a", "a-", "a.-b", "ho_st", "h%41",
                          "h h", "[::1]", "::1", "h:80", "exa\xc3\xa9mple"}) {
    EXPECT_FALSE(is_host_name(bad)) << bad;
  }
}

TEST(Port, DecimalDigitsUpTo65535) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("6379"), 6379);
  EXPECT_EQ(parse_port("06379"), 6379);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* bad : {"", "65536", "99999", "000001", "-1", "+1", " 1", "1 ", "1x", "0x10"}) {
    EXPECT_EQ(parse_port(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace gw::core

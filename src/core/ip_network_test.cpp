#include "core/ip_network.h"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

IpBytes ip(const char* text) { return *parse_ip(text); }

TEST(IpNetwork, AddressesParseToSixteenBytesWithIpv4Mapped) {
  EXPECT_TRUE(is_ipv4_mapped(ip("192.0.2.7")));
  EXPECT_FALSE(is_ipv4_mapped(ip("2001:db8::1")));
  EXPECT_EQ(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
  EXPECT_EQ(ip_text(ip("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(ip_text(ip("2001:DB8:0:0::1")), "2001:db8::1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "[::1]", "fe80::1%eth0", "1.2.3.4:80",
                          "example.com", " 1.2.3.4", "01.2.3.4x"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

TEST(IpNetwork, CidrsContainTheirAddressesOnly) {
  const auto v4 = *parse_ip_network("10.0.0.0/8");
  EXPECT_TRUE(v4.contains(ip("10.255.1.2")));
  EXPECT_FALSE(v4.contains(ip("11.0.0.1")));
  EXPECT_FALSE(v4.contains(ip("::a00:1")));  // an IPv6 address with the same low bits
  const auto host = *parse_ip_network("192.0.2.7");
  EXPECT_TRUE(host.contains(ip("192.0.2.7")));
  EXPECT_FALSE(host.contains(ip("192.0.2.8")));
  const auto v6 = *parse_ip_network("2001:db8::/32");
  EXPECT_TRUE(v6.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db9::1")));
  EXPECT_TRUE(parse_ip_network("0.0.0.0/0")->contains(ip("203.0.113.1")));
  EXPECT_TRUE(parse_ip_network("10.1.2.3/8")->contains(ip("10.9.9.9")));  // host bits cleared
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "/8", "10.0.0.0/0008"}) {
    EXPECT_FALSE(parse_ip_network(bad)) << bad;
  }
}

TEST(IpNetwork, AClientIsItsIpv4AddressOrItsIpv6Slash64) {
  EXPECT_EQ(client_block(ip("192.0.2.7")), ip("192.0.2.7"));
  EXPECT_EQ(client_block(ip("2001:db8:1:2:aaaa::1")), client_block(ip("2001:db8:1:2:bbbb::2")));
  EXPECT_NE(client_block(ip("2001:db8:1:2::1")), client_block(ip("2001:db8:1:3::1")));
  EXPECT_EQ(client_block_text(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(client_block_text(ip("192.0.2.7")), "192.0.2.7");
}

}  // namespace
}  // namespace gw::core

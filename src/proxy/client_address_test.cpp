#include "proxy/client_address.h"

#include <gtest/gtest.h>

#include <vector>

namespace gw::proxy {
namespace {

namespace http = boost::beast::http;

core::IpBytes ip(const char* text) { return *core::parse_ip(text); }

class ClientAddressTest : public ::testing::Test {
 protected:
  std::vector<core::IpNetwork> trusted{*core::parse_ip_network("10.0.0.0/8"),
                                       *core::parse_ip_network("2001:db8::/32")};
  const core::IpBytes peer = ip("10.0.0.5");

  ForwardedClient behind(std::initializer_list<const char*> forwarded_for) {
    http::fields fields;
    for (const char* value : forwarded_for) fields.insert("X-Forwarded-For", value);
    return client_behind_proxy(peer, "10.0.0.5", trusted, fields);
  }
};

TEST_F(ClientAddressTest, OnlyListedPeersAreTrusted) {
  EXPECT_TRUE(is_trusted_proxy(ip("10.1.2.3"), trusted));
  EXPECT_TRUE(is_trusted_proxy(ip("2001:db8::7"), trusted));
  EXPECT_FALSE(is_trusted_proxy(ip("192.0.2.1"), trusted));
  EXPECT_FALSE(is_trusted_proxy(ip("10.1.2.3"), {}));
}

TEST_F(ClientAddressTest, TheClientIsTheRightMostUntrustedAddress) {
  auto c = behind({"198.51.100.9, 203.0.113.7, 10.0.0.3"});
  EXPECT_EQ(c.address, ip("203.0.113.7"));  // 198.51.100.9 is only the client's own claim
  EXPECT_EQ(c.forwarded_for, "198.51.100.9, 203.0.113.7, 10.0.0.3, 10.0.0.5");
}

TEST_F(ClientAddressTest, EveryFieldLineCountsInOrder) {
  auto c = behind({"198.51.100.9", "203.0.113.7 ,10.0.0.3"});
  EXPECT_EQ(c.address, ip("203.0.113.7"));
  EXPECT_EQ(c.forwarded_for, "198.51.100.9, 203.0.113.7, 10.0.0.3, 10.0.0.5");
}

TEST_F(ClientAddressTest, WithoutForwardedForThePeerIsTheClient) {
  auto c = behind({});
  EXPECT_EQ(c.address, peer);
  EXPECT_EQ(c.forwarded_for, "10.0.0.5");
}

TEST_F(ClientAddressTest, GarbageStopsTheWalkAtTheLastTrustedHop) {
  EXPECT_EQ(behind({"203.0.113.7, not-an-ip, 10.0.0.3"}).address, ip("10.0.0.3"));
  EXPECT_EQ(behind({"unknown"}).address, peer);
  EXPECT_EQ(behind({"203.0.113.7:443"}).address, peer);  // ports are not addresses
}

TEST_F(ClientAddressTest, AllTrustedMeansTheLeftMostHop) {
  EXPECT_EQ(behind({"10.9.9.9, 10.0.0.3"}).address, ip("10.9.9.9"));
}

TEST_F(ClientAddressTest, OriginFieldsAreKnownByName) {
  EXPECT_EQ(origin_field("x-forwarded-for"), OriginField::forwarded_for);
  EXPECT_EQ(origin_field("Forwarded"), OriginField::other);
  EXPECT_EQ(origin_field("X-REAL-IP"), OriginField::other);
  EXPECT_EQ(origin_field("X-Forwarded-Proto"), OriginField::none);
}

}  // namespace
}  // namespace gw::proxy

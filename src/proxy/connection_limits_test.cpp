#include "proxy/connection_limits.h"

#include <gtest/gtest.h>

#include <vector>

namespace gw::proxy {
namespace {

core::IpBytes ip(const char* text) { return *core::parse_ip(text); }

using Refusal = ConnectionLimits::Refusal;

TEST(ConnectionLimits, CapsPerClientAndInTotalAndGivesSlotsBack) {
  ConnectionLimits limits;
  const ConnectionLimits::Caps caps{.total = 3, .per_client = 2};
  std::vector<ConnectionLimits::Ticket> held(4);
  EXPECT_EQ(limits.admit(ip("192.0.2.1"), caps, held[0]), Refusal::none);
  EXPECT_EQ(limits.admit(ip("192.0.2.1"), caps, held[1]), Refusal::none);
  ConnectionLimits::Ticket refused;
  EXPECT_EQ(limits.admit(ip("192.0.2.1"), caps, refused), Refusal::per_client);
  EXPECT_EQ(limits.admit(ip("192.0.2.2"), caps, held[2]), Refusal::none);
  EXPECT_EQ(limits.admit(ip("192.0.2.3"), caps, held[3]), Refusal::total);
  EXPECT_EQ(limits.open(), 3u);
  EXPECT_EQ(limits.client_blocks(), 2u);

  held[0] = ConnectionLimits::Ticket();  // gives its slot back
  EXPECT_EQ(limits.open(), 2u);
  EXPECT_EQ(limits.admit(ip("192.0.2.1"), caps, held[0]), Refusal::none);
  held.clear();
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.client_blocks(), 0u);  // no entry outlives its last connection
}

TEST(ConnectionLimits, AnIpv6ClientIsItsSlash64) {
  ConnectionLimits limits;
  const ConnectionLimits::Caps caps{.total = 100, .per_client = 2};
  ConnectionLimits::Ticket a, b, c, d;
  EXPECT_EQ(limits.admit(ip("2001:db8:1:2::1"), caps, a), Refusal::none);
  EXPECT_EQ(limits.admit(ip("2001:db8:1:2:ffff::9"), caps, b), Refusal::none);
  EXPECT_EQ(limits.admit(ip("2001:db8:1:2:1234::5"), caps, c), Refusal::per_client);
  EXPECT_EQ(limits.admit(ip("2001:db8:1:3::1"), caps, d), Refusal::none);
}

TEST(ConnectionLimits, ATrustedProxyCountsOnlyTowardTheTotal) {
  ConnectionLimits limits;
  const ConnectionLimits::Caps caps{.total = 3, .per_client = 1, .exempt = true};
  std::vector<ConnectionLimits::Ticket> held(4);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limits.admit(ip("10.0.0.1"), caps, held[i]), Refusal::none);
  EXPECT_EQ(limits.admit(ip("10.0.0.1"), caps, held[3]), Refusal::total);
  EXPECT_EQ(limits.client_blocks(), 0u);
}

TEST(ConnectionLimits, AMovedTicketReleasesOnce) {
  ConnectionLimits limits;
  const ConnectionLimits::Caps caps{.total = 1, .per_client = 1};
  ConnectionLimits::Ticket first;
  ASSERT_EQ(limits.admit(ip("192.0.2.1"), caps, first), Refusal::none);
  ConnectionLimits::Ticket moved(std::move(first));
  first = ConnectionLimits::Ticket();
  EXPECT_EQ(limits.open(), 1u);
  moved = ConnectionLimits::Ticket();
  EXPECT_EQ(limits.open(), 0u);
}

}  // namespace
}  // namespace gw::proxy

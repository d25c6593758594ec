#include "store/redis/cluster_slots.h"

#include <gtest/gtest.h>

#include "testing/resp_reply.h"

namespace gw::store::redis {
namespace {

using gw::testing::RespReply;

// One CLUSTER SLOTS entry: slots first..last served by host:port (plus its node id).
std::string entry(int first, int last, std::string_view host, long long port) {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*3\r\n$" +
         std::to_string(host.size()) + "\r\n" + std::string(host) + "\r\n:" + std::to_string(port) +
         "\r\n$4\r\nnode\r\n";
}

TEST(ClusterSlots, ReadsTheRangesOfAReply) {
  const RespReply reply("*2\r\n" + entry(0, 8191, "10.0.0.1", 7000) + entry(8192, 16383, "", 7001));
  const auto ranges = parse_cluster_slots(reply.get(), "10.0.0.9");
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].first, 0);
  EXPECT_EQ((*ranges)[0].last, 8191);
  EXPECT_EQ((*ranges)[0].host, "10.0.0.1");
  EXPECT_EQ((*ranges)[0].port, 7000);
  EXPECT_EQ((*ranges)[1].host, "10.0.0.9");  // the node asked, as Redis reports itself
  EXPECT_EQ((*ranges)[1].port, 7001);
}

TEST(ClusterSlots, RefusesSlotsOutsideTheCluster) {
  EXPECT_FALSE(parse_cluster_slots(RespReply("*1\r\n" + entry(0, 16384, "h", 7000)).get(), "h"));
  EXPECT_FALSE(parse_cluster_slots(RespReply("*1\r\n" + entry(-1, 10, "h", 7000)).get(), "h"));
  EXPECT_FALSE(parse_cluster_slots(RespReply("*1\r\n" + entry(10, 9, "h", 7000)).get(), "h"));
}

// Found by fuzz/resp_reply_fuzzer: a port outside 1..65535 was cast to 16 bits, sending
// the range's commands to another port (70000 -> 4464) or to port 0.
TEST(ClusterSlots, RefusesAPortOutsideOneTo65535) {
  for (const long long port : {0LL, -1LL, 65536LL, 70000LL}) {
    EXPECT_FALSE(parse_cluster_slots(RespReply("*1\r\n" + entry(0, 16383, "h", port)).get(), "h"))
        << port;
  }
  EXPECT_TRUE(parse_cluster_slots(RespReply("*1\r\n" + entry(0, 16383, "h", 65535)).get(), "h"));
}

TEST(ClusterSlots, ReadsRedirects) {
  const auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  const auto ask = parse_redirect("ASK 12182 ::1:7002");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7002);
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:6381"));
  EXPECT_FALSE(parse_redirect("MOVED 3999 127.0.0.1:65536"));
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
}

// Found by fuzz/resp_reply_fuzzer: "MOVED 3999 host:0" was a redirect to port 0.
TEST(ClusterSlots, RefusesARedirectToPortZero) {
  EXPECT_FALSE(parse_redirect("MOVED 3999 127.0.0.1:0"));
  EXPECT_FALSE(parse_redirect("ASK 3999 127.0.0.1:0"));
}

}  // namespace
}  // namespace gw::store::redis

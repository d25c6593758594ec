#include "store/redis_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gw::store {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

RedisUrl parsed(std::string_view text) {
  auto url = parse_redis_url(text);
  EXPECT_TRUE(url) << text << ": " << (url ? "" : url.error());
  return url ? *url : RedisUrl{};
}

std::string refusal(std::string_view text) {
  auto url = parse_redis_url(text);
  EXPECT_FALSE(url) << text << " was accepted";
  return url ? std::string() : url.error();
}

TEST(RedisUrl, FieldsAndDefaults) {
  const RedisUrl plain = parsed("redis://cache");
  EXPECT_EQ(plain.host, "cache");
  EXPECT_EQ(plain.port, 6379);
  EXPECT_EQ(plain.db, 0);
  EXPECT_EQ(plain.username, "");
  EXPECT_EQ(plain.password, "");

  const RedisUrl full = parsed("redis://app:pw@10.0.0.5:7000/15");
  EXPECT_EQ(full.host, "10.0.0.5");
  EXPECT_EQ(full.port, 7000);
  EXPECT_EQ(full.db, 15);
  EXPECT_EQ(full.username, "app");
  EXPECT_EQ(full.password, "pw");

  EXPECT_EQ(parsed("redis://h/").db, 0);
  EXPECT_EQ(parsed("redis://h/2147483647").db, 2147483647);
  EXPECT_EQ(parsed("redis://h:65535").port, 65535);
  EXPECT_EQ(parsed("redis://h:06379").port, 6379);
}

TEST(RedisUrl, UserInfoIsPercentDecodedAndEndsAtTheLastAt) {
  const RedisUrl encoded = parsed("redis://us%65r:p%40ss%3A%25%20x@h");
  EXPECT_EQ(encoded.username, "user");
  EXPECT_EQ(encoded.password, "p@ss:% x");
  const RedisUrl raw_at = parsed("redis://user:p@ss@h:1");
  EXPECT_EQ(raw_at.username, "user");
  EXPECT_EQ(raw_at.password, "p@ss");
  EXPECT_EQ(raw_at.host, "h");
  EXPECT_EQ(raw_at.port, 1);
  EXPECT_EQ(parsed("redis://:pw@h").username, "");
  EXPECT_EQ(parsed("redis://:pw@h").password, "pw");
}

TEST(RedisUrl, Ipv6HostsLoseTheirBracketsAndRegainThemInTheAddress) {
  const RedisUrl v6 = parsed("redis://[::1]:6380/2");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 6380);
  EXPECT_EQ(v6.address(), "[::1]:6380");
  EXPECT_EQ(parsed("redis://[2001:db8::7]").address(), "[2001:db8::7]:6379");
  EXPECT_EQ(parsed("redis://cache:7000").address(), "cache:7000");
}

TEST(RedisUrl, RefusalsSayWhatIsWrongAndWhatIsExpected) {
  constexpr std::string_view kForm = "expected redis://[[user]:password@]host[:port][/db]";
  EXPECT_EQ(refusal("http://h"), kForm);
  EXPECT_EQ(refusal("REDIS://h"), kForm);
  EXPECT_THAT(refusal("rediss://h:6380"), AllOf(HasSubstr("TLS"), EndsWith(kForm)));
  for (const char* port : {"redis://h:0", "redis://h:65536", "redis://h:99999",
                           "redis://h:", "redis://h:1x", "redis://h:-1"}) {
    EXPECT_THAT(refusal(port), HasSubstr("the port must be a number from 1 to 65535")) << port;
  }
  for (const char* db : {"redis://h/db", "redis://h/-1", "redis://h/2147483648", "redis://h/0/1"}) {
    EXPECT_THAT(refusal(db), HasSubstr("the database must be a number")) << db;
  }
  EXPECT_THAT(refusal("redis://::1:6379"), HasSubstr("IPv6 addresses must be in brackets"));
  EXPECT_THAT(refusal("redis://[::1"), HasSubstr("malformed bracketed IPv6 address"));
  EXPECT_THAT(refusal("redis://[v1.x]"), HasSubstr("malformed bracketed IPv6 address"));
  EXPECT_THAT(refusal("redis://[::1]x"), HasSubstr("expected ':' and a port after ']'"));
  EXPECT_THAT(refusal("redis://ho_st"), HasSubstr("\"ho_st\" is not a valid host"));
  EXPECT_THAT(refusal("redis://h%41"), HasSubstr("is not a valid host"));
  EXPECT_THAT(refusal("redis://"), HasSubstr("no host"));
  EXPECT_THAT(refusal("redis://h?db=1"), HasSubstr("query"));
  EXPECT_THAT(refusal("redis://h#x"), HasSubstr("fragment"));
  EXPECT_THAT(refusal("redis://:%zz@h"), HasSubstr("percent-encoded"));
}

TEST(RedisUrl, NoRefusalQuotesThePassword) {
  for (const char* text : {"redis://u:s3cret@ho_st", "redis://u:s3cret x@h", "redis://u:s3cret@h:0",
                           "redis://u:s3cret@h/x", "redis://u:s3cret@[::1", "rediss://u:s3cret@h",
                           "redis://u:s3cret@h?q", "redis://u:s3cret%zz@h"}) {
    EXPECT_THAT(refusal(text), Not(HasSubstr("s3cret"))) << text;
  }
}

}  // namespace
}  // namespace gw::store

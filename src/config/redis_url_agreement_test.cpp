// store.redis.url is checked by `check-config` and parsed again by `serve` (StoreBackend):
// one table of URLs through both paths, which must give the same verdict. The check path
// is the loader (what check-config runs); the serve path is store::parse_redis_url() over
// the URLs the loaded configuration holds, as StoreBackend::open does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "store/redis_url.h"

namespace gw::config {
namespace {

using ::testing::StartsWith;

struct Row {
  const char* url;
  bool valid;
};

constexpr Row kUrls[] = {
    {"redis://127.0.0.1:6379/0", true},
    {"redis://cache", true},
    {"redis://cache/", true},
    {"redis://cache.internal./2147483647", true},
    {"redis://a-b.example.com:7000", true},
    {"redis://:pw@h:1/15", true},
    {"redis://user:p@ss@h:1", true},  // a raw '@' in the password
    {"redis://user:p%40ss%3A%25@h", true},
    {"redis://us%65r:pa%20ss@h", true},
    {"redis://default:@h", true},
    {"redis://@h", true},
    {"redis://[::1]:6379", true},
    {"redis://[::1]", true},
    {"redis://[2001:db8::1]:65535/3", true},
    {"redis://h:65535", true},
    {"redis://h:06379", true},
    {"", false},
    {"127.0.0.1:6379", false},
    {"http://h", false},
    {"redis:h", false},
    {"REDIS://h", false},
    {"rediss://h:6380", false},  // TLS is not supported
    {"redis://", false},
    {"redis://h:0", false},
    {"redis://h:65536", false},
    {"redis://h:99999", false},
    {"redis://h:", false},
    {"redis://h:1x", false},
    {"redis://h:-1", false},
    {"redis://h/db", false},
    {"redis://h/-1", false},
    {"redis://h/2147483648", false},
    {"redis://h/0/1", false},
    {"redis://::1:6379", false},
    {"redis://[::1", false},
    {"redis://[::1]x", false},
    {"redis://[v1.x]", false},
    {"redis://[fe80::1%25eth0]:1", false},
    {"redis://ho_st", false},
    {"redis://h%41", false},
    {"redis://-h", false},
    {"redis://h h", false},
    {"redis://:p ss@h", false},
    {"redis://:%zz@h", false},
    {"redis://h?db=1", false},
    {"redis://h#x", false},
};

// The YAML of a user file setting store.redis.url to `url` (a double-quoted scalar: the
// table holds no '"' or '\').
std::string yaml_with(std::string_view url) {
  return "store: {redis: {url: \"" + std::string(url) + "\"}}\n";
}

TEST(RedisUrlAgreement, CheckConfigAndServeGiveTheSameVerdict) {
  for (const Row& row : kUrls) {
    const auto checked = load_config_text(yaml_with(row.url), "user.yaml");
    EXPECT_EQ(static_cast<bool>(checked), row.valid) << "check-config: " << row.url;
    if (checked) {
      // What serve parses is what the check let through.
      ASSERT_EQ((*checked)->store.redis_urls.size(), 1u);
      EXPECT_EQ((*checked)->store.redis_urls[0], row.url);
      for (const std::string& text : (*checked)->store.redis_urls) {
        const auto served = store::parse_redis_url(text);
        EXPECT_TRUE(served) << "serve: " << text << ": " << (served ? "" : served.error());
      }
    } else {
      const auto served = store::parse_redis_url(row.url);
      EXPECT_FALSE(served) << "serve accepts what check-config refuses: " << row.url;
      ASSERT_EQ(checked.error().size(), 1u) << row.url;
      // check-config prints the serve parser's own reason, at the URL's position (an
      // empty URL is refused by the loader before any parser sees it).
      if (*row.url != '\0') {
        EXPECT_EQ(checked.error()[0].to_string(),
                  "user.yaml:1:22: store.redis.url: " + (served ? "" : served.error()))
            << row.url;
      }
    }
  }
}

TEST(RedisUrlAgreement, EveryUrlOfAListIsChecked) {
  const auto checked = load_config_text(
      "store:\n  redis:\n    url: [redis://h1:7000, \"redis://h2:0\"]\n", "user.yaml");
  ASSERT_FALSE(checked);
  ASSERT_EQ(checked.error().size(), 1u);
  EXPECT_THAT(checked.error()[0].to_string(),
              StartsWith("user.yaml:3:28: store.redis.url[1]: the port must be a number from 1 "
                         "to 65535; expected redis://"));
}

}  // namespace
}  // namespace gw::config

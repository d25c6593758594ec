#include "store/keys/api_key_material.h"

#include <gtest/gtest.h>

#include <set>

namespace gw::store {
namespace {

bool is_lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(KeyMaterial, KeysAndIdsHaveTheirShape) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const auto material =
        generate_key_material(i % 2 ? KeyEnvironment::test : KeyEnvironment::live);
    ASSERT_TRUE(material);
    EXPECT_TRUE(material->key.starts_with(i % 2 ? "sk_test_" : "sk_live_")) << material->key;
    EXPECT_TRUE(looks_like_api_key(material->key)) << material->key;
    ASSERT_EQ(material->key_id.size(), 4u + 24u) << material->key_id;
    EXPECT_TRUE(material->key_id.starts_with("key_"));
    EXPECT_TRUE(is_lower_hex(std::string_view(material->key_id).substr(4))) << material->key_id;
    ids.insert(material->key_id);
  }
  EXPECT_EQ(ids.size(), 50u);  // 96 random bits each
}

TEST(KeyMaterial, LooksLikeApiKeyChecksPrefixLengthAndAlphabet) {
  const std::string secret(43, 'A');
  EXPECT_TRUE(looks_like_api_key("sk_live_" + secret));
  EXPECT_TRUE(looks_like_api_key("sk_test_" + secret));
  EXPECT_FALSE(looks_like_api_key("sk_prod_" + secret));
  EXPECT_FALSE(looks_like_api_key("sk_live_" + secret.substr(1)));
  EXPECT_FALSE(looks_like_api_key("sk_live_" + secret + "A"));
  EXPECT_FALSE(looks_like_api_key("sk_live_" + secret.substr(1) + "-"));
}

}  // namespace
}  // namespace gw::store

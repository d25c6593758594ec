#include "core/string_map.h"

#include <gtest/gtest.h>

#include <string_view>
#include <unordered_set>

namespace gw::core {
namespace {

TEST(StringMap, FindsByStringView) {
  StringMap<int> map;
  map.emplace("acct_1:live", 1);
  map.emplace("acct_1:test", 2);
  const std::string_view key = std::string_view("xacct_1:testx").substr(1, 11);
  const auto it = map.find(key);
  ASSERT_NE(it, map.end());
  EXPECT_EQ(it->second, 2);
  EXPECT_EQ(map.find(std::string_view("acct_1")), map.end());
  EXPECT_TRUE(map.contains("acct_1:live"));
}

TEST(StringMap, TheHashServesStandardContainersToo) {
  std::unordered_set<std::string, StringHash, std::equal_to<>> names{"api", "analysis"};
  EXPECT_TRUE(names.contains(std::string_view("analysis")));
  EXPECT_FALSE(names.contains(std::string_view("analysi")));
  EXPECT_EQ(StringHash{}(std::string("abc")), StringHash{}(std::string_view("abc")));
}

}  // namespace
}  // namespace gw::core

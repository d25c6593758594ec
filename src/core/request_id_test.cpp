#include "core/request_id.h"

#include <gtest/gtest.h>

#include <set>

namespace gw::core {
namespace {

TEST(RequestId, GeneratedIdsHaveTheKallglotShapeAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = generate_request_id();
    ASSERT_EQ(id.size(), 28u);
    ASSERT_EQ(id.substr(0, 4), "req_");
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestId, ClientIdsMustBeShortVisibleAscii) {
  EXPECT_TRUE(is_acceptable_request_id("abc-123"));
  EXPECT_FALSE(is_acceptable_request_id(""));
  EXPECT_FALSE(is_acceptable_request_id("has space"));
  EXPECT_FALSE(is_acceptable_request_id("line\r\nbreak"));
  EXPECT_FALSE(is_acceptable_request_id(std::string(129, 'a')));
  EXPECT_TRUE(is_acceptable_request_id(std::string(128, 'a')));
}

}  // namespace
}  // namespace gw::core

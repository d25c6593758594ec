#include "core/bearer_token.h"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

TEST(BearerToken, TheSchemeInAnyCaseThenWhitespaceThenTheToken) {
  EXPECT_EQ(bearer_token("Bearer sk_live_a"), "sk_live_a");
  EXPECT_EQ(bearer_token("bearer\tsk_live_a"), "sk_live_a");
  EXPECT_EQ(bearer_token("  BEARER   sk_live_a \t"), "sk_live_a");
  EXPECT_EQ(bearer_token("Bearer a b"), "a b");  // the token's own shape is the caller's
}

TEST(BearerToken, AnythingElseIsNoToken) {
  for (const char* value : {"", "Bearer", "Bearer ", "Bearer \t ", "Bearersk_live_a",
                            "Basic dXNlcjpwdw==", "sk_live_a", "Bear sk_live_a", "Bearer\r\nx"}) {
    EXPECT_EQ(bearer_token(value), "") << value;
  }
}

}  // namespace
}  // namespace gw::core

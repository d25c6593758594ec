#include "store/redis/script.h"

#include <gtest/gtest.h>

namespace gw::store::redis {
namespace {

// EVALSHA names a script by the SHA-1 of its body in lower-case hex, as Redis computes it
// (SCRIPT LOAD "return 1" answers e0e1f9fa…).
TEST(Script, Sha1IsTheLowerCaseHexDigestOfTheBody) {
  EXPECT_EQ(Script("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

}  // namespace
}  // namespace gw::store::redis

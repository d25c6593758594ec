#include "store/subject.h"

#include <gtest/gtest.h>

namespace gw::store {
namespace {

TEST(Subject, AnAccountHasOneSubjectPerEnvironment) {
  EXPECT_EQ(subject_of("acct_1", KeyEnvironment::live), "acct_1:live");
  EXPECT_EQ(subject_of("acct_1", KeyEnvironment::test), "acct_1:test");
  for (const auto environment : {KeyEnvironment::live, KeyEnvironment::test}) {
    EXPECT_EQ(environment_of(subject_of("acct_1", environment)), environment);
    EXPECT_EQ(environment_named(environment_name(environment)), environment);
  }
}

TEST(Subject, AnythingButTestIsLive) {
  EXPECT_EQ(environment_name(KeyEnvironment::live), "live");
  EXPECT_EQ(environment_name(KeyEnvironment::test), "test");
  EXPECT_EQ(environment_named("live"), KeyEnvironment::live);
  EXPECT_EQ(environment_named("TEST"), KeyEnvironment::live);
  EXPECT_EQ(environment_named(""), KeyEnvironment::live);
  EXPECT_EQ(environment_of("ip:192.0.2.7"), KeyEnvironment::live);
  EXPECT_EQ(environment_of("acct:test:live"), KeyEnvironment::live);
  EXPECT_EQ(environment_of("test"), KeyEnvironment::live);
}

}  // namespace
}  // namespace gw::store

#include "proxy/request_target.h"

#include <gtest/gtest.h>

namespace gw::proxy {
namespace {

TEST(RequestTarget, PlainTargetsPassUnchanged) {
  EXPECT_EQ(normalize_target("/v1/sessions/abc?x=1"), "/v1/sessions/abc?x=1");
  EXPECT_EQ(normalize_target("/"), "/");
}

TEST(RequestTarget, DecodesUnreservedAndRemovesDotSegments) {
  EXPECT_EQ(normalize_target("/v1/sessions/x/%61nalysis"), "/v1/sessions/x/analysis");
  EXPECT_EQ(normalize_target("/v1/x/../analysis/y"), "/v1/analysis/y");
  EXPECT_EQ(normalize_target("/v1/./webhooks"), "/v1/webhooks");
  EXPECT_EQ(normalize_target("/v1/a%2fb"), "/v1/a%2Fb");  // reserved stays encoded
  EXPECT_EQ(normalize_target("/v1/../../x"), "/x");
  EXPECT_EQ(normalize_target("/v1/a/..?q=/../"), "/v1/?q=/../");
}

TEST(RequestTarget, RejectsWhatIsNotOriginForm) {
  EXPECT_EQ(normalize_target(""), std::nullopt);
  EXPECT_EQ(normalize_target("http://example.com/x"), std::nullopt);
  EXPECT_EQ(normalize_target("*"), std::nullopt);
  EXPECT_EQ(normalize_target("/bad%zz"), std::nullopt);
  EXPECT_EQ(normalize_target("/bad%4"), std::nullopt);
  EXPECT_EQ(normalize_target("/a b"), std::nullopt);
}

}  // namespace
}  // namespace gw::proxy

#include "policy/request_target.h"

#include <gtest/gtest.h>

namespace gw::policy {
namespace {

TEST(RequestTarget, PlainTargetsPassUnchanged) {
  EXPECT_EQ(normalize_target("/v1/sessions/abc?x=1"), "/v1/sessions/abc?x=1");
  EXPECT_EQ(normalize_target("/"), "/");
}

TEST(RequestTarget, DecodesUnreservedAndRemovesDotSegments) {
  EXPECT_EQ(normalize_target("/v1/sessions/x/%61nalysis"), "/v1/sessions/x/analysis");
  EXPECT_EQ(normalize_target("/v1/x/../analysis/y"), "/v1/analysis/y");
  EXPECT_EQ(normalize_target("/v1/./webhooks"), "/v1/webhooks");
  EXPECT_EQ(normalize_target("/v1/a%3ab"), "/v1/a%3Ab");  // reserved stays encoded
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

// Forms that origin routers read in different ways (docs/security.md).
TEST(RequestTarget, RefusesFormsOriginsReadDifferently) {
  for (const char* target :
       {"/v1/analysis;x/run", "/v1/analysis/run;jsessionid=1", "/v1\\analysis\\run", "/v1/a%2Fb",
        "/v1/a%2fb", "/v1/a%5Cb", "/v1/a%3Bb", "/v1/%252F", "/v1/a%00", "/v1/a%1f", "/v1/a%7F",
        "/v1/a\"b", "/v1/a<b", "/v1/a>b", "/v1/a^b", "/v1/a`b", "/v1/a{b", "/v1/a|b", "/v1/a}b"}) {
    EXPECT_EQ(normalize_target(target), std::nullopt) << target;
    EXPECT_FALSE(is_normal_target(target)) << target;
  }
  // The query is the application's: those characters pass there.
  EXPECT_EQ(normalize_target("/v1/x?a=|{}\"^;"), "/v1/x?a=|{}\"^;");
  EXPECT_TRUE(is_normal_target("/v1/x?a=|{}\"^;"));
}

// The fast check must never let through a target that normalizing would change or reject.
TEST(RequestTarget, IsNormalTargetAgreesWithNormalizeTarget) {
  const char* const targets[] = {"/v1/sessions/abc?x=1",
                                 "/",
                                 "/v1/sessions/x/%61nalysis",
                                 "/v1/x/../analysis/y",
                                 "/v1/./x",
                                 "/v1/a/..?q=/../",
                                 "/v1/.hidden",
                                 "/v1/a.b/c.d",
                                 "/v1/x?%zz=./..",
                                 "",
                                 "http://example.com/x",
                                 "*",
                                 "/bad%zz",
                                 "/a b",
                                 "/a#frag",
                                 "/a?b#c",
                                 "/a\x7f",
                                 "/v1/sessions/sess_1/transcript",
                                 "/v1//sessions/",
                                 "/..",
                                 "/.",
                                 "/a;b",
                                 "/a\\b",
                                 "/a%2Fb",
                                 "/a|b?x"};
  for (const std::string_view target : targets) {
    const auto normalized = normalize_target(target);
    if (is_normal_target(target)) {
      EXPECT_EQ(normalized, std::string(target)) << target;
    }
    const bool unchanged = normalized && *normalized == target;
    if (unchanged && target.find('%') == std::string_view::npos &&
        target.substr(0, target.find('?')).find("/.") == std::string_view::npos) {
      EXPECT_TRUE(is_normal_target(target)) << target;
    }
  }
  EXPECT_TRUE(is_normal_target("/v1/sessions/sess_1/transcript?x=%41"));
  EXPECT_FALSE(is_normal_target("/v1/sessions/%41"));
  EXPECT_FALSE(is_normal_target("/v1/../x"));
  EXPECT_FALSE(is_normal_target("/a b"));
}

}  // namespace
}  // namespace gw::policy

#include "core/http_date.h"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(http_date(1798761599), "Thu, 31 Dec 2026 23:59:59 GMT");
}

TEST(HttpDate, TheCachedSecondIsReplacedWhenTimeMoves) {
  const std::string first(http_date(784111777));
  EXPECT_EQ(http_date(784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
  EXPECT_EQ(http_date(784111777), first);
}

}  // namespace
}  // namespace gw::core

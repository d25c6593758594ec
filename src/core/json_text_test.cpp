#include "core/json_text.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace gw::core {
namespace {

TEST(JsonText, EscapesControlsQuotesAndHighBytes) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01\xc3\xa9");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001\u00c3\u00a9")");
  EXPECT_NO_THROW(boost::json::parse(out));
}

}  // namespace
}  // namespace gw::core

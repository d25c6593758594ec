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

TEST(JsonText, CopiesPlainRunsAroundEscapes) {
  std::string out = "x";
  append_json_string(out, "");
  append_json_string(out, "plain text");
  append_json_string(out, "\"lead and trail\t");
  EXPECT_EQ(out, R"(x"""plain text""\"lead and trail\t")");
}

TEST(JsonText, AppendsDecimalsAcrossTheWholeRange) {
  std::string out;
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-7}, std::int64_t{1'000'000'000},
                         INT64_MAX, INT64_MIN}) {
    append_decimal(out, v);
    out += ' ';
  }
  EXPECT_EQ(out, "0 -7 1000000000 9223372036854775807 -9223372036854775808 ");
}

}  // namespace
}  // namespace gw::core

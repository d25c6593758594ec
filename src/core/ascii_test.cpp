#include "core/ascii.h"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

TEST(Ascii, LowerFoldsOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower('A'), 'a');
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('a'), 'a');
  for (char c : {'@', '[', '`', '{', '0', '-', '_', '\xc4', '\x1a'}) EXPECT_EQ(ascii_lower(c), c);
  std::string text = "X-Forwarded-FOR_1\xc4";
  to_lower(text);
  EXPECT_EQ(text, "x-forwarded-for_1\xc4");
}

TEST(Ascii, IequalsIgnoresLetterCaseOnly) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("Bearer", "bEARER"));
  EXPECT_TRUE(iequals("X-API-Key", "x-api-key"));
  EXPECT_FALSE(iequals("chunked", "chunke"));
  EXPECT_FALSE(iequals("chunked", "chunkeD "));
  // Characters one case bit apart that are not letters stay different.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals(":", "\x1a"));
  EXPECT_FALSE(iequals("\xc4", "\xe4"));  // Latin-1 Ä / ä: not ASCII
}

TEST(Ascii, IstartsWith) {
  EXPECT_TRUE(istarts_with("HTTP://h", "http://"));
  EXPECT_TRUE(istarts_with("http://", "http://"));
  EXPECT_TRUE(istarts_with("anything", ""));
  EXPECT_FALSE(istarts_with("http:/", "http://"));
  EXPECT_FALSE(istarts_with("http\x1a//h", "http://"));
}

TEST(Ascii, TrimOwsRemovesSpacesAndTabsAtBothEnds) {
  EXPECT_EQ(trim_ows(" \t value with  inner space\t "), "value with  inner space");
  EXPECT_EQ(trim_ows("\t \t"), "");
  EXPECT_EQ(trim_ows(""), "");
  EXPECT_EQ(trim_ows("\r\nv\n"), "\r\nv\n");  // CR and LF are not OWS
}

}  // namespace
}  // namespace gw::core

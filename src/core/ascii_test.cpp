#include "core/ascii.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace gw::core {
namespace {

TEST(Ascii, CharacterClasses) {
  for (char c = '0'; c <= '9'; ++c) EXPECT_TRUE(is_ascii_digit(c) && is_ascii_alnum(c)) << c;
  for (char c = 'a'; c <= 'z'; ++c) EXPECT_TRUE(is_ascii_letter(c) && is_ascii_alnum(c)) << c;
  for (char c = 'A'; c <= 'Z'; ++c) EXPECT_TRUE(is_ascii_letter(c) && is_ascii_alnum(c)) << c;
  for (char c : {'/', ':', '@', '[', '`', '{', '-', '_', ' ', '\0', '\xb2', '\xe9'}) {
    EXPECT_FALSE(is_ascii_digit(c) || is_ascii_letter(c) || is_ascii_alnum(c)) << int(c);
  }
}

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

TEST(Ascii, ListElementsAreTrimmedAndEmptyOnesSkipped) {
  const auto elements = [](std::string_view value) {
    std::vector<std::string_view> out;
    for_each_list_element(value, [&](std::string_view element) { out.push_back(element); });
    return out;
  };
  using List = std::vector<std::string_view>;
  EXPECT_EQ(elements("gzip, chunked"), (List{"gzip", "chunked"}));
  EXPECT_EQ(elements(" 203.0.113.7 ,\t,  ,198.51.100.1,"), (List{"203.0.113.7", "198.51.100.1"}));
  EXPECT_EQ(elements("one"), (List{"one"}));
  EXPECT_EQ(elements(""), List{});
  EXPECT_EQ(elements(" , ,"), List{});
}

}  // namespace
}  // namespace gw::core

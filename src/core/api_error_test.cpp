#include "core/api_error.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace gw::core {
namespace {

TEST(ApiError, HasTheKallglotShape) {
  const std::string text = to_json({.type = "rate_limit_error",
                                    .code = "rate_limit_exceeded",
                                    .message = "Rate limit exceeded for analysis (30 per minute).",
                                    .request_id = "req_1",
                                    .retry_after_s = 12});
  EXPECT_EQ(text, R"({"error":{"type":"rate_limit_error","code":"rate_limit_exceeded",)"
                  R"("message":"Rate limit exceeded for analysis (30 per minute).","param":null,)"
                  R"("retry_after":12,"request_id":"req_1"}})");
}

TEST(ApiError, EscapesEveryStringAsJson) {
  const std::string nasty = "quote\" backslash\\ newline\n tab\t bell\x07 done";
  const std::string text =
      to_json({.type = "t", .code = "c", .message = nasty, .request_id = "id\"x", .param = "p"});
  const auto value = boost::json::parse(text);
  const auto& error = value.at("error").as_object();
  EXPECT_EQ(error.at("message").as_string(), nasty);
  EXPECT_EQ(error.at("request_id").as_string(), "id\"x");
  EXPECT_EQ(error.at("param").as_string(), "p");
  EXPECT_FALSE(error.contains("retry_after"));
}

}  // namespace
}  // namespace gw::core

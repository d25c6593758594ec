#include "admin/check_exchange.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace gw::admin {
namespace {

using decision::LimitSelector;

TEST(CheckBody, ReadsTheRequestAsTheProxysLimits) {
  auto query = read_check_body(R"({"api_key":"sk_live_x","method":"GET","path":"/v1/a?b=1"})");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->key, "sk_live_x");
  EXPECT_EQ(query->cost, 1);
  ASSERT_EQ(query->selectors.size(), 2u);
  EXPECT_EQ(query->selectors[0].kind, LimitSelector::Kind::plan);
  EXPECT_EQ(query->selectors[1].kind, LimitSelector::Kind::route);
  EXPECT_EQ(query->selectors[1].method, "GET");
  EXPECT_EQ(query->selectors[1].path, "/v1/a?b=1");
  EXPECT_EQ(read_check_body(R"({"api_key":"k","method":"GET","path":"/","cost":7})")->cost, 7);
  EXPECT_EQ(read_check_body(R"({"api_key":"","method":"GET","path":"/"})")->key_kind,
            decision::PresentedCredential::Kind::none);
}

TEST(CheckBody, ErrorsNameTheMember) {
  auto param = [](std::string_view body) {
    auto read = read_check_body(body);
    return read ? std::string("ok") : read.error().param.value_or("(body)");
  };
  EXPECT_EQ(param(R"({"method":"GET","path":"/"})"), "api_key");
  EXPECT_EQ(param(R"({"api_key":1,"method":"GET","path":"/"})"), "api_key");
  EXPECT_EQ(param(R"({"api_key":"k","path":"/"})"), "method");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET"})"), "path");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":0})"), "cost");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":1.5})"), "cost");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":9223372036854775807})"),
            "cost");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","extra":1})"), "extra");
  EXPECT_EQ(param("[1]"), "(body)");
  EXPECT_EQ(param("{"), "(body)");
  EXPECT_EQ(param(""), "(body)");
  EXPECT_EQ(param(R"({"":1,"api_key":"k","method":"GET","path":"/"})"), "");  // a member named ""
}

TEST(CheckBody, ReadsOnlyTheTopLevelMembers) {
  // Escapes decoded; a long escaped value (the parser hands it over in parts) kept whole.
  const std::string long_path = "/v1/" + std::string(5000, 'a');
  std::string long_escaped = "\\/v1\\/";
  for (int i = 0; i < 5000; ++i) long_escaped += "\\u0061";
  auto query = read_check_body(R"( {"api_key":"sk\u005flive","method":"GET","path":")" +
                               long_escaped + R"(","cost":null} )");
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(query->key, "sk_live");
  EXPECT_EQ(query->cost, 1);
  EXPECT_EQ(query->selectors[1].path, long_path);

  auto param = [](std::string_view body) {
    auto read = read_check_body(body);
    return read ? std::string("ok") : read.error().param.value_or("(body)");
  };
  // Values of the wrong kind, nested or not, name their member.
  EXPECT_EQ(param(R"({"api_key":{"api_key":"k"},"method":"GET","path":"/"})"), "api_key");
  EXPECT_EQ(param(R"({"api_key":["k"],"method":"GET","path":"/"})"), "api_key");
  EXPECT_EQ(param(R"({"api_key":"k","method":null,"path":"/"})"), "method");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":true})"), "path");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":18446744073709551615})"),
            "cost");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":"3"})"), "cost");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":-1})"), "cost");
  // Keys inside a nested value are not members; an unknown member is named before a
  // missing one.
  EXPECT_EQ(param(R"({"extra":{"api_key":"k"},"method":"GET"})"), "extra");
  // A member given twice is refused, whatever the values.
  EXPECT_EQ(param(R"({"api_key":"a","api_key":"b","method":"GET","path":"/"})"), "api_key");
  EXPECT_EQ(param(R"({"api_key":"k","method":"GET","path":"/","cost":1,"cost":2})"), "cost");
  auto twice = read_check_body(R"({"api_key":"a","method":"GET","path":"/","path":"/x"})");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, R"("path" appears more than once.)");
  // Not an object, trailing data, only whitespace: the body's own error, no member.
  EXPECT_EQ(param(R"("text")"), "(body)");
  EXPECT_EQ(param(" \r\n\t"), "(body)");
  auto trailing = read_check_body(R"({"api_key":"k","method":"GET","path":"/"} {})");
  ASSERT_FALSE(trailing);
  EXPECT_TRUE(trailing.error().message.starts_with("Malformed JSON body"))
      << trailing.error().message;
}

TEST(CheckAnswerJson, RefusedBeforeTheCounters) {
  decision::CheckAnswer answer;
  answer.refusal = decision::Refusal{.status = 401,
                                     .type = "authentication_error",
                                     .code = "invalid_api_key",
                                     .message = "Invalid API key provided."};
  EXPECT_EQ(check_answer_json(answer, "req_1"),
            R"({"allowed":false,"limit":null,"remaining":null,"reset":null,"retry_after":null,)"
            R"("status":401,"error":{"type":"authentication_error","code":"invalid_api_key",)"
            R"("message":"Invalid API key provided.","request_id":"req_1"},"headers":{}})");
}

TEST(CheckAnswerJson, DecidedShowsTheMostConstrainingLimit) {
  decision::CheckAnswer answer;
  answer.now = core::UnixNanos(std::chrono::seconds(1000));
  answer.checked = true;
  answer.limits.count = 1;
  answer.limits.storage[0] = {"api", {.limit = 10}};
  answer.verdict.decided = true;
  answer.verdict.admitted = true;
  answer.verdict.result.admitted = true;
  answer.verdict.result.count = 1;
  answer.verdict.result.decisions[0] = {
      .allowed = true, .limit = 10, .remaining = 9, .used = 1, .reset_unix_s = 1040};
  EXPECT_EQ(check_answer_json(answer, "req_1"),
            R"({"allowed":true,"limit":10,"remaining":9,"reset":1040,"retry_after":null,)"
            R"("headers":{"X-RateLimit-Limit":"10","X-RateLimit-Remaining":"9",)"
            R"("X-RateLimit-Reset":"1040","X-RateLimit-Used":"1","X-RateLimit-Resource":"api"}})");
}

TEST(CheckAnswerJson, OverTheLimitCarriesRetryAfterAndStaysValidJson) {
  decision::CheckAnswer answer;
  answer.now = core::UnixNanos(std::chrono::seconds(1000));
  answer.refusal = decision::Refusal{.status = 429,
                                     .type = "rate_limit_error",
                                     .code = "rate_limit_exceeded",
                                     .message = "Too \"many\"\nrequests\\",
                                     .retry_after_s = 17};
  const std::string text = check_answer_json(answer, "req_\"x");
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(parsed.at("allowed"), false);
  EXPECT_EQ(parsed.at("retry_after"), 17);
  EXPECT_EQ(parsed.at("status"), 429);
  EXPECT_EQ(parsed.at("error").at("message"), "Too \"many\"\nrequests\\");
  EXPECT_EQ(parsed.at("error").at("request_id"), "req_\"x");
  EXPECT_EQ(parsed.at("headers").at("Retry-After"), "17");
}

}  // namespace
}  // namespace gw::admin

#include "mock/api_routes.h"

#include <gtest/gtest.h>

#include "mock/stream_session.h"
#include "mock/wire_text.h"

namespace gw::mock {
namespace {

MockRequest request(http::verb verb, std::string_view target) {
  MockRequest req{verb, target, 11};
  req.set(http::field::host, "mock.test");
  return req;
}

// The answer to `req` as a client reads it: its status must be `want`; returns its JSON.
json::object echo(const MockRequest& req, MockState& state, http::status want) {
  auto reply = answer(req, state);
  std::string wire;
  beast::error_code ec;
  while (!reply.message.is_done()) {
    const auto buffers = reply.message.prepare(ec);
    wire += beast::buffers_to_string(buffers);
    reply.message.consume(beast::buffer_bytes(buffers));
  }
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.put(net::buffer(wire), ec);
  EXPECT_TRUE(parser.is_done()) << ec.message() << "\n" << wire;
  EXPECT_EQ(parser.get().result(), want) << wire;
  return json::parse(parser.get().body()).as_object();
}

TEST(WireText, DecimalsAndLatin1) {
  EXPECT_EQ(parse_decimal(" 42\t"), 42u);
  for (const char* bad : {"", " ", "4 2", "-1", "+1", "0x10", "99999999999999999999"}) {
    EXPECT_FALSE(parse_decimal(bad)) << bad;
  }
  EXPECT_EQ(json_text("caf\xe9"), "caf\xc3\xa9");  // é read as Latin-1, written as UTF-8
  EXPECT_EQ(json_text("plain"), "plain");
}

TEST(ApiRoutes, EchoesWhatTheRequestCarried) {
  MockState state;
  auto req = request(http::verb::get, "/v1/x?a=1");
  req.insert("X-Rep", "one");
  req.insert("x-rep", "two");
  const auto body = echo(req, state, http::status::ok);
  EXPECT_EQ(body.at("path"), "/v1/x");
  EXPECT_EQ(body.at("query"), "a=1");
  EXPECT_EQ(body.at("headers").at("x-rep"), "one, two");
  EXPECT_EQ(body.at("body_bytes"), 0);
}

TEST(ApiRoutes, SessionsAreCreatedEndedAndLookedUp) {
  MockState state;
  const auto created =
      echo(request(http::verb::post, "/v1/sessions"), state, http::status::created);
  const std::string id(created.at("id").as_string());
  EXPECT_EQ(created.at("stream").at("url"),
            json::value("ws://mock.test/v1/sessions/" + id + "/connect"));
  EXPECT_EQ(
      echo(request(http::verb::get, "/v1/sessions/" + id), state, http::status::ok).at("status"),
      "active");
  echo(request(http::verb::post, "/v1/sessions/" + id + "/end"), state, http::status::ok);
  EXPECT_EQ(
      echo(request(http::verb::get, "/v1/sessions/" + id), state, http::status::ok).at("status"),
      "ended");
  auto failing = request(http::verb::post, "/v1/sessions");
  failing.set("X-Mock-Status", "500");
  EXPECT_FALSE(echo(failing, state, http::status::internal_server_error).contains("id"));
}

TEST(StreamToken, FromTheQueryOrTheAuthorizationHeader) {
  auto req = request(http::verb::get, "/v1/sessions/s/connect");
  EXPECT_FALSE(has_stream_token(req, ""));  // an absent query (null data) must not crash
  EXPECT_TRUE(has_stream_token(req, "mode=echo&token=kst_1"));
  EXPECT_FALSE(has_stream_token(req, "token=kst_"));
  req.set(http::field::authorization, "bearer   kst_abc");
  EXPECT_TRUE(has_stream_token(req, {}));
}

}  // namespace
}  // namespace gw::mock

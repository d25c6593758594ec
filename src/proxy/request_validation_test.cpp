#include "proxy/request_validation.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <memory>
#include <vector>

namespace gw::proxy {
namespace {

namespace http = boost::beast::http;

// Parses a head with the proxy's own parser type and validates it as the proxy does. The
// parsers stay alive for the test (a CheckedHead points into its head).
core::Result<CheckedHead, RequestRefusal> check(std::string_view raw) {
  static std::vector<std::unique_ptr<http::request_parser<http::buffer_body>>> parsers;
  auto& parser = *parsers.emplace_back(std::make_unique<http::request_parser<http::buffer_body>>());
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  EXPECT_TRUE(parser.is_header_done()) << raw << ": " << ec.message();
  return validate_request_head(parser.get(), has_obs_fold(raw));
}

std::string_view code_of(std::string_view raw) {
  auto checked = check(raw);
  return checked ? std::string_view("ok") : checked.error().code;
}

TEST(RequestValidation, OneContentLengthOrChunkedFramesTheBody) {
  auto length = check("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
  ASSERT_TRUE(length);
  EXPECT_EQ(length->framing.kind, BodyFraming::Kind::length);
  EXPECT_EQ(length->framing.length, 7u);
  EXPECT_EQ(length->host, "h");

  for (const char* te : {"chunked", "Chunked", " chunked ", ", chunked,"}) {
    auto chunked =
        check(std::string("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:") + te + "\r\n\r\n");
    ASSERT_TRUE(chunked) << te;
    EXPECT_EQ(chunked->framing.kind, BodyFraming::Kind::chunked) << te;
  }
  auto none = check("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->framing.kind, BodyFraming::Kind::none);
}

TEST(RequestValidation, FramingThatTwoParsersCouldReadTwoWaysIsRefused) {
  // TE and CL together, whichever order and coding.
  EXPECT_EQ(code_of("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n"
                    "Content-Length: 5\r\n\r\n"),
            "invalid_request_framing");
  // Several TE lines are one list: identity then chunked has another coding.
  EXPECT_EQ(code_of("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
            "unsupported_transfer_encoding");
  for (const char* te : {"identity", "xchunked", "gzip, chunked", "chunked;x=1", "gzip"}) {
    auto refused =
        check(std::string("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + te + "\r\n\r\n");
    ASSERT_FALSE(refused) << te;
    EXPECT_EQ(refused.error().status, 501u) << te;
  }
  EXPECT_EQ(code_of("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            "invalid_request_framing");
  EXPECT_EQ(code_of("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n"),
            "invalid_request_framing");
  EXPECT_EQ(code_of("POST /x HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "invalid_request_framing");
  // Beast reads equal duplicates and lists as one length; the next reader may not.
  EXPECT_EQ(
      code_of("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
      "invalid_request_framing");
  EXPECT_EQ(code_of("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n"),
            "invalid_request_framing");
}

TEST(RequestValidation, ObsFoldIsRefused) {
  EXPECT_EQ(code_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"), "malformed_request");
  EXPECT_EQ(code_of("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tTransfer-Encoding: chunked\r\n\r\n"),
            "malformed_request");
  EXPECT_FALSE(has_obs_fold("GET /x HTTP/1.1\r\nHost: h\r\nX-A: a b\r\n\r\n"));
}

TEST(RequestValidation, ExactlyOneValidHost) {
  EXPECT_EQ(code_of("GET /x HTTP/1.1\r\n\r\n"), "invalid_host");
  EXPECT_EQ(code_of("GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), "invalid_host");
  for (const char* host : {"a, b", "a b", "", "user@h", "h:99999", "h:1x", "[::1"}) {
    EXPECT_FALSE(is_valid_host(host)) << host;
  }
  for (const char* host : {"h", "api.kallglot.com", "h:8080", "127.0.0.1:65535", "[::1]:80",
                           "xn--bcher-kva.example", "h:"}) {
    EXPECT_TRUE(is_valid_host(host)) << host;
  }
}

TEST(RequestValidation, MethodsAreUpperCase) {
  EXPECT_EQ(code_of("post /v1/sessions HTTP/1.1\r\nHost: h\r\n\r\n"), "invalid_method");
  EXPECT_EQ(code_of("Get /x HTTP/1.1\r\nHost: h\r\n\r\n"), "invalid_method");
  EXPECT_EQ(code_of("PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n"), "ok");
}

TEST(RequestValidation, UnderscoreAliasesOfManagedFieldsAreRefused) {
  for (const char* name : {"X_API_Key", "x_api_key", "Content_Length", "Transfer_Encoding",
                           "X_Forwarded_For", "X_Request_ID"}) {
    EXPECT_EQ(code_of(std::string("GET /x HTTP/1.1\r\nHost: h\r\n") + name + ": v\r\n\r\n"),
              "ambiguous_header")
        << name;
  }
  EXPECT_EQ(code_of("GET /x HTTP/1.1\r\nHost: h\r\nX_Custom: v\r\n\r\n"), "ok");
}

}  // namespace
}  // namespace gw::proxy

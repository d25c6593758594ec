#include "proxy/hop_by_hop.h"

#include <gtest/gtest.h>

namespace gw::proxy {
namespace {

namespace http = boost::beast::http;

TEST(HopByHop, StripsStandardAndConnectionNamedHeaders) {
  http::fields f;
  f.set(http::field::connection, "keep-alive, X-Secret-Hop");
  f.set("X-Secret-Hop", "1");
  f.set(http::field::keep_alive, "timeout=5");
  f.set(http::field::te, "trailers");
  f.set(http::field::proxy_authorization, "Basic abc");
  f.set(http::field::upgrade, "h2c");
  f.set(http::field::content_length, "10");
  f.set("X-End-To-End", "kept");
  strip_hop_by_hop(f);
  EXPECT_EQ(f.count(http::field::connection), 0u);
  EXPECT_EQ(f.count("X-Secret-Hop"), 0u);
  EXPECT_EQ(f.count(http::field::keep_alive), 0u);
  EXPECT_EQ(f.count(http::field::te), 0u);
  EXPECT_EQ(f.count(http::field::proxy_authorization), 0u);
  EXPECT_EQ(f.count(http::field::upgrade), 0u);
  EXPECT_EQ(f["Content-Length"], "10");
  EXPECT_EQ(f["X-End-To-End"], "kept");
}

TEST(HopByHop, ConnectionCannotRemoveFraming) {
  http::fields f;
  f.set(http::field::connection, "content-length, transfer-encoding");
  f.set(http::field::content_length, "3");
  strip_hop_by_hop(f);
  EXPECT_EQ(f["Content-Length"], "3");
}

}  // namespace
}  // namespace gw::proxy

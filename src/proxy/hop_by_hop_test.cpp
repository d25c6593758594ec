#include "proxy/hop_by_hop.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace gw::proxy {
namespace {

namespace http = boost::beast::http;

std::set<std::string> kept(const http::fields& f) {
  const HopByHopFilter filter(f);
  std::set<std::string> names;
  for (const auto& field : f) {
    if (!filter.drops(field)) names.emplace(field.name_string());
  }
  return names;
}

TEST(HopByHop, DropsStandardAndConnectionNamedHeaders) {
  http::fields f;
  f.set(http::field::connection, "keep-alive, X-Secret-Hop");
  f.set("x-secret-hop", "1");
  f.set(http::field::keep_alive, "timeout=5");
  f.set(http::field::te, "trailers");
  f.set(http::field::proxy_authorization, "Basic abc");
  f.set(http::field::upgrade, "h2c");
  f.set(http::field::content_length, "10");
  f.set("X-End-To-End", "kept");
  EXPECT_EQ(kept(f), (std::set<std::string>{"Content-Length", "X-End-To-End"}));
}

TEST(HopByHop, ConnectionCannotRemoveFraming) {
  http::fields f;
  f.set(http::field::connection, "content-length, transfer-encoding");
  f.set(http::field::content_length, "3");
  EXPECT_EQ(kept(f), (std::set<std::string>{"Content-Length"}));
}

}  // namespace
}  // namespace gw::proxy

#include "proxy/credentials.h"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <memory>

namespace gw::proxy {
namespace {

using Kind = PresentedCredential::Kind;

// The credential points into the fields: both live as long as the test needs them.
struct Presented : PresentedCredential {
  std::shared_ptr<boost::beast::http::fields> fields;
};

Presented of(std::initializer_list<std::pair<const char*, const char*>> lines) {
  auto fields = std::make_shared<boost::beast::http::fields>();
  for (const auto& [name, value] : lines) fields->insert(name, value);
  return Presented{presented_credential(*fields), fields};
}

TEST(Credentials, OneKeyInEitherHeader) {
  auto bearer = of({{"Authorization", "Bearer sk_live_a"}});
  EXPECT_EQ(bearer.kind, Kind::key);
  EXPECT_EQ(bearer.key, "sk_live_a");
  EXPECT_TRUE(bearer.via_authorization);
  auto header = of({{"x-api-key", " sk_live_a "}});
  EXPECT_EQ(header.kind, Kind::key);
  EXPECT_EQ(header.key, "sk_live_a");
  EXPECT_FALSE(header.via_authorization);
  EXPECT_EQ(of({{"Authorization", "bearer\tsk_live_a"}}).key, "sk_live_a");
  EXPECT_EQ(of({}).kind, Kind::none);
}

TEST(Credentials, TheSameKeyTwiceIsOneCredential) {
  auto both = of({{"X-API-Key", "sk_live_a"}, {"Authorization", "Bearer sk_live_a"}});
  EXPECT_EQ(both.kind, Kind::key);
  EXPECT_TRUE(both.via_authorization);
  EXPECT_EQ(of({{"X-API-Key", "sk_live_a"}, {"X-API-Key", "sk_live_a"}}).kind, Kind::key);
}

TEST(Credentials, TwoDifferentCredentialsConflict) {
  EXPECT_EQ(of({{"Authorization", "Bearer sk_live_a"}, {"X-API-Key", "sk_live_b"}}).kind,
            Kind::conflicting);
  EXPECT_EQ(of({{"Authorization", "Bearer sk_live_a"}, {"Authorization", "Bearer sk_live_b"}}).kind,
            Kind::conflicting);
  EXPECT_EQ(of({{"X-API-Key", "sk_live_a"}, {"X-API-Key", "sk_live_b"}}).kind, Kind::conflicting);
  EXPECT_EQ(of({{"Authorization", "Basic eDp5"}, {"X-API-Key", "sk_live_b"}}).kind,
            Kind::conflicting);
}

TEST(Credentials, WhatCannotBeChargedIsMalformed) {
  for (const char* value : {"Basic eDp5", "Bearer", "Bearer ", "sk_live_a", "Bearersk_live_a"}) {
    EXPECT_EQ(of({{"Authorization", value}}).kind, Kind::malformed) << value;
  }
  EXPECT_EQ(of({{"X-API-Key", ""}}).kind, Kind::malformed);
}

}  // namespace
}  // namespace gw::proxy

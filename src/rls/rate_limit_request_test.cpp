#include "rls/rate_limit_request.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <limits>
#include <utility>

#include "decision/check_runner.h"

namespace gw::rls {
namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using Kind = decision::LimitSelector::Kind;
using Entries = std::initializer_list<std::pair<const char*, std::string>>;

const std::string kKey = "sk_live_" + std::string(32, 'a');

void add(RateLimitRequest& request, Entries entries) {
  auto* descriptor = request.add_descriptors();
  for (const auto& [key, value] : entries) {
    auto* entry = descriptor->add_entries();
    entry->set_key(key);
    entry->set_value(value);
  }
}

RateLimitRequest request_of(std::initializer_list<Entries> descriptors) {
  RateLimitRequest request;
  request.set_domain("kallglot");
  for (const auto& entries : descriptors) add(request, entries);
  return request;
}

std::string code_of(const RateLimitRequest& request) {
  auto read = read_rate_limit_request(request);
  return read ? std::string() : std::string(read.error().code);
}

TEST(RateLimitRequest, KeyAloneIsThePlanWideLimit) {
  auto read = read_rate_limit_request(request_of({{{"api_key", kKey}}}));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->by, decision::CheckQuery::By::key);
  EXPECT_EQ(read->key, kKey);
  EXPECT_EQ(read->key_kind, decision::PresentedCredential::Kind::key);
  ASSERT_EQ(read->selectors.size(), 1u);
  EXPECT_EQ(read->selectors[0].kind, Kind::plan);
  EXPECT_EQ(read->cost, 1);
}

TEST(RateLimitRequest, AuthorizationValuesAreReadAsTheProxyReadsThem) {
  auto read = read_rate_limit_request(request_of({{{"api_key", "Bearer " + kKey}}}));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->key, kKey);
  auto blank = read_rate_limit_request(request_of({{{"api_key", "  "}}}));
  ASSERT_TRUE(blank);
  EXPECT_EQ(blank->key_kind, decision::PresentedCredential::Kind::malformed);
}

TEST(RateLimitRequest, EachDescriptorNamesOneLimit) {
  auto read = read_rate_limit_request(
      request_of({{{"api_key", kKey}},
                  {{"api_key", kKey}, {"group", "analysis"}},
                  {{"api_key", kKey}, {"method", "GET"}, {"path", "/v1/analysis/1?x=1"}},
                  {{"api_key", kKey}, {"generic_key", "ignored"}}}));
  ASSERT_TRUE(read);
  ASSERT_EQ(read->selectors.size(), 4u);
  EXPECT_EQ(read->selectors[0].kind, Kind::plan);
  EXPECT_EQ(read->selectors[1].kind, Kind::group);
  EXPECT_EQ(read->selectors[1].group, "analysis");
  EXPECT_EQ(read->selectors[2].kind, Kind::route);
  EXPECT_EQ(read->selectors[2].method, "GET");
  EXPECT_EQ(read->selectors[2].path, "/v1/analysis/1?x=1");
  EXPECT_EQ(read->selectors[3].kind, Kind::plan);
}

TEST(RateLimitRequest, AccountWithEnvironment) {
  auto read = read_rate_limit_request(
      request_of({{{"account", "acct_1"}, {"environment", "test"}, {"group", "g"}}}));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->by, decision::CheckQuery::By::account);
  EXPECT_EQ(read->account_id, "acct_1");
  EXPECT_EQ(read->environment, store::KeyEnvironment::test);
  EXPECT_EQ(code_of(request_of({{{"account", "acct 1"}}})), "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"account", std::string(129, 'a')}}})), "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"account", "a"}, {"environment", "prod"}}})),
            "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"account", "a"}, {"api_key", kKey}}})), "invalid_descriptor");
}

TEST(RateLimitRequest, RemoteAddressMustBeAnAddress) {
  auto read = read_rate_limit_request(request_of({{{"remote_address", "2001:db8::1"}}}));
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->client);
  EXPECT_EQ(read->key_kind, decision::PresentedCredential::Kind::none);
  EXPECT_EQ(code_of(request_of({{{"remote_address", "not-an-ip"}}})), "invalid_descriptor");
}

TEST(RateLimitRequest, OtherDomainsAndEmptyRequestsAreRefused) {
  auto other = request_of({{{"api_key", kKey}}});
  other.set_domain("envoy");
  EXPECT_EQ(code_of(other), "unknown_domain");
  EXPECT_EQ(code_of(request_of({})), "no_limits");
  // A descriptor without entries names no caller: the plan-wide limit of nobody (401 later).
  auto empty = read_rate_limit_request(request_of({{}}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->key_kind, decision::PresentedCredential::Kind::none);
}

TEST(RateLimitRequest, ShapeBounds) {
  RateLimitRequest many;
  many.set_domain("kallglot");
  for (std::size_t i = 0; i <= decision::kMaxSelectors; ++i) add(many, {{"api_key", kKey}});
  EXPECT_EQ(code_of(many), "too_many_limits");

  RateLimitRequest wide = request_of({{}});
  for (int i = 0; i <= kMaxEntriesPerDescriptor; ++i) {
    auto* e = wide.mutable_descriptors(0)->add_entries();
    e->set_key("x");
  }
  EXPECT_EQ(code_of(wide), "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"api_key", std::string(kMaxEntryBytes + 1, 'k')}}})),
            "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"api_key", kKey}, {"api_key", kKey}}})), "invalid_descriptor");
  EXPECT_EQ(
      code_of(request_of({{{"api_key", kKey}, {"group", "g"}, {"path", "/"}, {"method", "GET"}}})),
      "invalid_descriptor");
  EXPECT_EQ(code_of(request_of({{{"api_key", kKey}, {"path", "/"}}})), "invalid_descriptor");
}

TEST(RateLimitRequest, OneCallerPerRequest) {
  EXPECT_EQ(code_of(request_of({{{"api_key", kKey}}, {{"api_key", kKey + "b"}}})),
            "multiple_callers");
  EXPECT_EQ(code_of(request_of({{{"api_key", kKey}}, {{"group", "g"}}})), "multiple_callers");
}

TEST(RateLimitRequest, HitsAddendIsTheCost) {
  auto request = request_of({{{"api_key", kKey}}, {{"api_key", kKey}, {"group", "g"}}});
  request.set_hits_addend(5);
  EXPECT_EQ(read_rate_limit_request(request)->cost, 5);
  request.set_hits_addend(0);
  EXPECT_EQ(read_rate_limit_request(request)->cost, 1);  // 0 = 1, as in Envoy's service

  request.set_hits_addend(std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(read_rate_limit_request(request)->cost, 4294967295);  // run_check bounds it

  // A descriptor's own hits_addend overrides the request's, and must agree with the rest.
  request.set_hits_addend(2);
  request.mutable_descriptors(0)->mutable_hits_addend()->set_value(3);
  EXPECT_EQ(code_of(request), "invalid_cost");
  request.mutable_descriptors(1)->mutable_hits_addend()->set_value(3);
  EXPECT_EQ(read_rate_limit_request(request)->cost, 3);

  request.mutable_descriptors(0)->mutable_hits_addend()->set_value(
      std::numeric_limits<std::uint64_t>::max());
  request.mutable_descriptors(1)->mutable_hits_addend()->set_value(
      std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(read_rate_limit_request(request)->cost, std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace gw::rls

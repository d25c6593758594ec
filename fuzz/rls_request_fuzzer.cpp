// A ShouldRateLimit request from the wire: protobuf's parser, then read_rate_limit_request()
// as the decision service reads every call, then the refusal it would send back. A
// crash, a sanitizer report or a broken invariant (a query whose shape does not match the
// request's, a cost out of range, statuses that do not align) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "decision/check_runner.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "rls/rate_limit_request.h"
#include "rls/rate_limit_response.h"

namespace {

void require(bool holds) {
  if (!holds) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  envoy::service::ratelimit::v3::RateLimitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto query = gw::rls::read_rate_limit_request(request);
  if (!query) {
    envoy::service::ratelimit::v3::RateLimitResponse response;
    gw::rls::write_refusal(query.error(), request.descriptors_size(), "req_fuzz", response);
    require(response.overall_code() == envoy::service::ratelimit::v3::RateLimitResponse::OVER_LIMIT);
    require(response.statuses_size() == request.descriptors_size());
    require(!response.raw_body().empty());
    return 0;
  }
  require(request.domain() == gw::rls::kDomain);
  require(query->selectors.size() == static_cast<std::size_t>(request.descriptors_size()));
  require(!query->selectors.empty() && query->selectors.size() <= gw::decision::kMaxSelectors);
  require(query->cost >= 1);
  for (const auto& selector : query->selectors) {
    require(selector.group.size() <= gw::rls::kMaxEntryBytes);
    require(selector.path.size() <= gw::rls::kMaxEntryBytes);
  }
  return 0;
}

// How a ShouldRateLimit request (Envoy's external rate limit API v3) reads as a decision
// query (SPEC §8). Domain `kallglot`. Descriptor entries:
//   api_key         the presented key, bare or as an Authorization value ("Bearer <key>")
//   account         an account id, for proxies that authenticate callers themselves
//   environment     with `account`: live (default) or test
//   group           an endpoint group by name
//   method, path    a request, matched by the proxy's route table (path as sent)
//   remote_address  the client's address (callers without a key, `unknown_key: anonymous`)
// Other entries are ignored (Envoy's actions add some of their own). One descriptor names
// one limit, as in Envoy's own service: without group/method/path the plan-wide limit,
// with them that group's. Every descriptor names the same caller (the check is one
// all-or-nothing check of one caller's limits); the cost is hits_addend (0 = 1), a
// descriptor's own hits_addend overriding the request's, equal across descriptors.
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "core/result.h"
#include "decision/check_query.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"

namespace gw::rls {

inline constexpr std::string_view kDomain = "kallglot";
// Bounds on one request's shape, beyond which it is refused unread.
inline constexpr int kMaxEntriesPerDescriptor = 32;
inline constexpr std::size_t kMaxEntryBytes = 4096;

core::Result<decision::CheckQuery, decision::Refusal> read_rate_limit_request(
    const envoy::service::ratelimit::v3::RateLimitRequest& request);

}  // namespace gw::rls

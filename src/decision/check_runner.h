// run_check(): answers a CheckQuery (check_query.h) on the proxy's decision path: the same
// Decider steps (identity, then one all-or-nothing check of every limit the query names),
// the same counters, metrics and usage history, so a check asked over gRPC or
// POST /v1/check and a request the proxy carries draw from one budget.
//
// Thread-safety: as the Decider's: run on the thread that owns `decider`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>

#include "decision/check_query.h"
#include "decision/decider.h"

namespace gw::decision {

// At most this many selectors in one query (one per Envoy descriptor): a bound on the
// work one call can ask for. More is a 400 refusal.
inline constexpr std::size_t kMaxSelectors = 64;

boost::asio::awaitable<CheckAnswer> run_check(Decider& decider, CheckQuery query,
                                              DecisionContext context, core::UnixNanos now);

// The same check when it needs no store round trip (a cached caller, the memory store,
// a refusal): the answer at once, on the calling thread; nullopt when run_check() must
// take it (nothing was charged).
std::optional<CheckAnswer> run_check_now(Decider& decider, const CheckQuery& query,
                                         DecisionContext context, core::UnixNanos now);

}  // namespace gw::decision

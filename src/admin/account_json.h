// JSON views of the admin API's account answers (SPEC §6): an account with its effective
// limits and keys, a key just created, and one counter's state. Pure functions.
#pragma once

#include <span>
#include <string_view>

#include <boost/json/object.hpp>

#include "limiter/limit.h"
#include "policy/plan.h"
#include "store/account_store.h"
#include "store/session_store.h"

namespace gw::admin {

// {api_requests_per_minute, concurrent_sessions (null = unlimited), ws_messages_per_second,
//  ws_audio_bytes_per_second, groups: {name: limit}, shadow_mode}
boost::json::object limits_json(const policy::PlanLimits& limits);

// {"id","plan","overrides","effective_limits","keys":[{"key_id","environment"}]}.
// `effective` is null when the account's plan is no longer in the configuration.
boost::json::object account_json(const store::Account& account, const policy::PlanLimits* effective,
                                 std::span<const store::ApiKeyRecord> keys);

// {"session_id","environment","created","lease_expires"} of one bound session; times in Unix
// seconds (rounded down).
boost::json::object session_json(const store::SessionRecord& session,
                                 store::KeyEnvironment environment);

// {"key_id","key","environment","account_id"}: the only answer that ever holds a key.
boost::json::object created_key_json(const store::CreatedKey& created);

// {"limit","remaining","reset","used","window_seconds"} of one counter as a peek shows it;
// reset in Unix seconds (the same fields as GET /v1/rate_limits).
boost::json::object counter_json(const limiter::Decision& decision, const limiter::LimitSpec& spec);

}  // namespace gw::admin

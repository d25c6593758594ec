#include "admin/account_json.h"

#include <chrono>

#include <boost/json/array.hpp>

#include "core/clock.h"
#include "store/subject.h"

namespace gw::admin {

boost::json::object session_json(const store::SessionRecord& session,
                                 store::KeyEnvironment environment) {
  return {{"session_id", session.session_id},
          {"environment", store::environment_name(environment)},
          {"created", core::to_unix_seconds(session.created)},
          {"lease_expires", core::to_unix_seconds(session.lease_expires)}};
}

boost::json::object limits_json(const policy::PlanLimits& limits) {
  boost::json::object groups;
  for (const auto& [name, limit] : limits.groups) groups[name] = limit;
  boost::json::object out;
  out["api_requests_per_minute"] = limits.api_requests_per_minute;
  out["concurrent_sessions"] = limits.concurrent_sessions
                                   ? boost::json::value(*limits.concurrent_sessions)
                                   : boost::json::value(nullptr);
  out["ws_messages_per_second"] = limits.ws_messages_per_second;
  out["ws_audio_bytes_per_second"] = limits.ws_audio_bytes_per_second;
  out["groups"] = std::move(groups);
  out["shadow_mode"] = limits.shadow_mode;
  return out;
}

boost::json::object account_json(const store::Account& account, const policy::PlanLimits* effective,
                                 std::span<const store::ApiKeyRecord> keys) {
  boost::json::array key_list;
  for (const auto& key : keys) {
    key_list.push_back(boost::json::object{
        {"key_id", key.key_id}, {"environment", store::environment_name(key.environment)}});
  }
  boost::json::object out;
  out["id"] = account.id;
  out["plan"] = account.plan;
  out["overrides"] = account.overrides;
  out["effective_limits"] =
      effective ? boost::json::value(limits_json(*effective)) : boost::json::value(nullptr);
  out["keys"] = std::move(key_list);
  return out;
}

boost::json::object created_key_json(const store::CreatedKey& created) {
  return {{"key_id", created.record.key_id},
          {"key", created.key},
          {"environment", store::environment_name(created.record.environment)},
          {"account_id", created.record.account_id}};
}

boost::json::object counter_json(const limiter::Decision& decision,
                                 const limiter::LimitSpec& spec) {
  const auto window_s = std::chrono::duration_cast<std::chrono::seconds>(spec.window).count();
  return {{"limit", decision.limit},
          {"remaining", decision.remaining},
          {"reset", decision.reset_unix_s},
          {"used", decision.used},
          {"window_seconds", window_s}};
}

}  // namespace gw::admin

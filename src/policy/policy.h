// The compiled rate-limit policy of one configuration: plans, endpoint groups and their
// routes, the special session routes, and how an account's overrides change its plan.
// Built once per configuration (start-up and each SIGHUP) and then immutable: any number
// of threads may use one Policy concurrently.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "policy/plan.h"
#include "policy/policy_config.h"
#include "policy/route_table.h"
#include "store/counter_store.h"

namespace gw::policy {

// What is wrong with an account's overrides: the offending field as the admin API's error
// `param` names it ("overrides.api_requests_per_minute", "overrides.groups.analysis"),
// and a message that names it too.
struct OverrideError {
  std::string param;
  std::string message;
  bool operator==(const OverrideError&) const = default;
};

// Which of the special session routes a request is (SPEC §3 `sessions:`).
enum class SessionRoute { none, create, end, stream };

class Policy {
 public:
  explicit Policy(std::shared_ptr<const PolicyConfig> config);

  const PolicyConfig& config() const noexcept { return *config_; }

  // nullptr when the configuration has no such plan.
  const PlanLimits* plan(std::string_view name) const noexcept;

  // The endpoint group a request belongs to, as an index into config().groups.
  std::optional<std::size_t> match_group(std::string_view method,
                                         std::string_view path) const noexcept;
  const std::string& group_name(std::size_t index) const { return config_->groups[index].name; }
  // The group named `name` (exact, as configured), as an index into config().groups.
  std::optional<std::size_t> find_group(std::string_view name) const noexcept;

  // The session route a request is, and the `{id}` segment it carries (for end/stream).
  SessionRoute match_session_route(std::string_view method, std::string_view path,
                                   std::string* session_id) const;

  // The plan's limits with the account's overrides applied. Overrides may set any
  // PlanLimits field by its YAML name (null concurrent_sessions = unlimited) and any group
  // limit under "groups", each a JSON integer within the configuration's own bounds
  // (0 to limiter::kMaxLimit). Returns a message naming the offending field when invalid.
  core::Result<PlanLimits, std::string> effective_limits(
      std::string_view plan_name, const boost::json::object& overrides) const;

  // Validates overrides as effective_limits() would apply them (admin API input).
  std::optional<OverrideError> validate_overrides(const boost::json::object& overrides) const;

  // The limits one request must acquire: the plan-wide limit ("api") and, when the request
  // is in a group the plan limits, the group's; with the configured algorithm and the
  // shadow-mode flags (global, plan, group) resolved. Writes into `out`, returns the count.
  // The LimitRef names point into this Policy, valid as long as it lives.
  std::size_t limits_for(const PlanLimits& limits, std::optional<std::size_t> group,
                         std::span<store::LimitRef, store::kMaxLimitsPerCheck> out) const;
  // The two kinds of limit limits_for() combines, one at a time (the decision service
  // names each limit separately): the plan-wide limit, and `group`'s limit when the plan
  // limits that group.
  store::LimitRef api_limit(const PlanLimits& limits) const noexcept;
  std::optional<store::LimitRef> group_limit(const PlanLimits& limits, std::size_t group) const;

 private:
  std::shared_ptr<const PolicyConfig> config_;
  RouteTable groups_;
  RouteTable session_routes_;  // values: SessionRoute cast to size_t
};

}  // namespace gw::policy

// A Policy is built from a configuration that config/ has already validated (routes parse,
// no route in two groups, distinct session routes), so building its route tables cannot
// fail for a loaded configuration. A hand-made invalid configuration is a programming error:
// the constructor throws std::invalid_argument (start-up and reload build the Policy outside
// the request path).
#include "policy/policy.h"

#include <stdexcept>
#include <utility>

#include "limiter/limit_bounds.h"

namespace gw::policy {
namespace {

constexpr std::string_view kApiLimitName = "api";
constexpr limiter::UnixNanos kMinute = std::chrono::seconds(60);

RouteTable build_or_throw(const std::vector<RouteTable::Entry>& entries, std::string_view what) {
  auto table = RouteTable::build(entries);
  if (!table) {
    throw std::invalid_argument(std::string(what) + ": " + table.error());
  }
  return std::move(table).value();
}

RouteTable build_group_table(const PolicyConfig& config) {
  std::vector<RouteTable::Entry> entries;
  for (std::size_t i = 0; i < config.groups.size(); ++i) {
    for (const auto& route : config.groups[i].routes) {
      entries.push_back({route, i});
    }
  }
  return build_or_throw(entries, "groups");
}

RouteTable build_session_table(const SessionsConfig& sessions) {
  return build_or_throw(
      {
          {sessions.create_route, static_cast<std::size_t>(SessionRoute::create)},
          {sessions.end_route, static_cast<std::size_t>(SessionRoute::end)},
          {sessions.stream_route, static_cast<std::size_t>(SessionRoute::stream)},
      },
      "sessions");
}

// A limit as the admin API takes it: a JSON integer from 0 to limiter::kMaxLimit, the
// configuration's own bounds. Boost.JSON reads 2^63 as a uint64 and 1e3, 1.5 or 1e300 as
// doubles: none of them is a limit (nor is "5").
std::optional<std::int64_t> limit_value(const boost::json::value& v) {
  if (v.is_int64() && limiter::is_valid_limit(v.get_int64())) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(limiter::kMaxLimit)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

OverrideError must_be_limit(std::string field, std::string_view alternative = {}) {
  std::string param = "overrides." + field;
  std::string message = param + " must be an integer from 0 to " +
                        std::to_string(limiter::kMaxLimit) + std::string(alternative);
  return {std::move(param), std::move(message)};
}

}  // namespace

Policy::Policy(std::shared_ptr<const PolicyConfig> config)
    : config_(std::move(config)),
      groups_(build_group_table(*config_)),
      session_routes_(build_session_table(config_->sessions)) {}

const PlanLimits* Policy::plan(std::string_view name) const noexcept {
  const auto it = config_->plans.find(name);
  return it == config_->plans.end() ? nullptr : &it->second;
}

std::optional<std::size_t> Policy::match_group(std::string_view method,
                                               std::string_view path) const noexcept {
  return groups_.match(method, path);
}

SessionRoute Policy::match_session_route(std::string_view method, std::string_view path,
                                         std::string* session_id) const {
  std::string_view captured;
  const auto value = session_routes_.match(method, path, &captured);
  if (!value) {
    return SessionRoute::none;
  }
  if (session_id != nullptr) {
    session_id->assign(captured);
  }
  return static_cast<SessionRoute>(*value);
}

namespace {

// Applies `overrides` to `limits`; the error names the first offending field.
std::optional<OverrideError> apply_overrides(const PolicyConfig& config,
                                             const boost::json::object& overrides,
                                             PlanLimits& limits) {
  for (const auto& [key, value] : overrides) {
    if (key == "api_requests_per_minute" || key == "ws_messages_per_second" ||
        key == "ws_audio_bytes_per_second") {
      const auto n = limit_value(value);
      if (!n) return must_be_limit(key);
      if (key == "api_requests_per_minute") {
        limits.api_requests_per_minute = *n;
      } else if (key == "ws_messages_per_second") {
        limits.ws_messages_per_second = *n;
      } else {
        limits.ws_audio_bytes_per_second = *n;
      }
    } else if (key == "concurrent_sessions") {
      if (value.is_null()) {
        limits.concurrent_sessions.reset();
      } else if (const auto n = limit_value(value)) {
        limits.concurrent_sessions = *n;
      } else {
        return must_be_limit(key, ", or null (unlimited)");
      }
    } else if (key == "shadow_mode") {
      if (!value.is_bool()) {
        return OverrideError{"overrides.shadow_mode",
                             "overrides.shadow_mode must be true or false"};
      }
      limits.shadow_mode = value.get_bool();
    } else if (key == "groups") {
      if (!value.is_object()) {
        return OverrideError{
            "overrides.groups",
            "overrides.groups must be an object of group name to limit per minute"};
      }
      for (const auto& [group, limit] : value.get_object()) {
        bool known = false;
        for (const auto& g : config.groups) known = known || g.name == std::string_view(group);
        const std::string field = "groups." + std::string(group);
        if (!known) {
          std::string names;
          for (const auto& g : config.groups) names += (names.empty() ? "" : ", ") + g.name;
          return OverrideError{
              "overrides." + field,
              "overrides." + field + ": no such endpoint group (groups: " + names + ")"};
        }
        const auto n = limit_value(limit);
        if (!n) return must_be_limit(field);
        limits.groups.insert_or_assign(std::string(group), *n);
      }
    } else {
      return OverrideError{"overrides." + std::string(key),
                           "overrides." + std::string(key) +
                               ": unknown field (fields: api_requests_per_minute, "
                               "concurrent_sessions, ws_messages_per_second, "
                               "ws_audio_bytes_per_second, groups, shadow_mode)"};
    }
  }
  return std::nullopt;
}

}  // namespace

core::Result<PlanLimits, std::string> Policy::effective_limits(
    std::string_view plan_name, const boost::json::object& overrides) const {
  const PlanLimits* base = plan(plan_name);
  if (base == nullptr) {
    return core::unexpected("unknown plan \"" + std::string(plan_name) + "\"");
  }
  PlanLimits limits = *base;
  if (auto error = apply_overrides(*config_, overrides, limits)) {
    return core::unexpected(std::move(error->message));
  }
  return limits;
}

std::optional<OverrideError> Policy::validate_overrides(
    const boost::json::object& overrides) const {
  PlanLimits scratch;
  return apply_overrides(*config_, overrides, scratch);
}

std::optional<std::size_t> Policy::find_group(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < config_->groups.size(); ++i) {
    if (config_->groups[i].name == name) return i;
  }
  return std::nullopt;
}

store::LimitRef Policy::api_limit(const PlanLimits& limits) const noexcept {
  const bool plan_shadow = config_->shadow_mode || limits.shadow_mode;
  return store::LimitRef{kApiLimitName, limiter::LimitSpec{limits.api_requests_per_minute, kMinute,
                                                           config_->algorithm, !plan_shadow}};
}

std::optional<store::LimitRef> Policy::group_limit(const PlanLimits& limits,
                                                   std::size_t group) const {
  if (group >= config_->groups.size()) return std::nullopt;
  const GroupConfig& g = config_->groups[group];
  const auto it = limits.groups.find(g.name);
  if (it == limits.groups.end()) return std::nullopt;
  const bool shadow = config_->shadow_mode || limits.shadow_mode || g.shadow_mode;
  return store::LimitRef{g.name,
                         limiter::LimitSpec{it->second, kMinute, config_->algorithm, !shadow}};
}

std::size_t Policy::limits_for(const PlanLimits& limits, std::optional<std::size_t> group,
                               std::span<store::LimitRef, store::kMaxLimitsPerCheck> out) const {
  std::size_t n = 0;
  out[n++] = api_limit(limits);
  if (group) {
    if (auto limit = group_limit(limits, *group)) out[n++] = *limit;
  }
  return n;
}

}  // namespace gw::policy

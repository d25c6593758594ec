// The part of the configuration the rate-limit policy is compiled from: plans, endpoint
// groups and their routes, the special session routes, the algorithm and the global
// shadow flag. config/ fills it (GatewayConfig extends it with the operator's knobs) and
// validates it; policy/ only reads it. Thread-safety: a plain value, immutable (and so
// safe to read from any thread) once built.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "limiter/limit.h"
#include "policy/plan.h"

namespace gw::policy {

struct GroupConfig {
  std::string name;
  std::vector<std::string> routes;  // "METHOD /path/{id}/x*"
  bool shadow_mode = false;
};

struct SessionsConfig {
  std::string create_route = "POST /v1/sessions";
  std::string end_route = "POST /v1/sessions/{id}/end";
  std::string stream_route = "GET /v1/sessions/{id}/connect";
  std::chrono::seconds lease{14400};
};

struct PolicyConfig {
  limiter::Algorithm algorithm = limiter::Algorithm::fixed_window;
  bool shadow_mode = false;
  std::map<std::string, PlanLimits, std::less<>> plans;  // free, starter, pro, ...
  std::vector<GroupConfig> groups;                       // in file order
  SessionsConfig sessions;
};

}  // namespace gw::policy

// The configuration in force and what is compiled from it, published together (through
// one core::VersionedSource) so that a worker never sees one without the others: the
// whole GatewayConfig for the listener's own knobs, the Policy, and the decision's
// settings. Built once per configuration (start-up and each SIGHUP), then immutable: any
// number of threads may read one concurrently.
#pragma once

#include <memory>

#include "config/gateway_config.h"
#include "core/versioned_source.h"
#include "decision/decision_settings.h"
#include "policy/policy.h"

namespace gw::config {

class RunningConfig {
 public:
  // Throws std::invalid_argument for a configuration config/ did not validate (Policy).
  explicit RunningConfig(std::shared_ptr<const GatewayConfig> config)
      : config_(std::move(config)),
        policy_(std::make_shared<const policy::Policy>(config_)),
        decision_{
            .unknown_key = config_->unknown_key,
            .on_failure = config_->store.on_failure,
            .fields = {.x_ratelimit = config_->x_ratelimit_headers, .ietf = config_->ietf_headers},
            .caller_cache_ttl = config_->accounts.cache} {}

  const GatewayConfig& config() const noexcept { return *config_; }
  const policy::Policy& policy() const noexcept { return *policy_; }
  const std::shared_ptr<const policy::Policy>& shared_policy() const noexcept { return policy_; }
  const decision::DecisionSettings& decision() const noexcept { return decision_; }

 private:
  std::shared_ptr<const GatewayConfig> config_;
  std::shared_ptr<const policy::Policy> policy_;
  decision::DecisionSettings decision_;
};

using ConfigSource = core::VersionedSource<RunningConfig>;

}  // namespace gw::config

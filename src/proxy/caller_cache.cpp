#include "proxy/caller_cache.h"

#include <spdlog/spdlog.h>

namespace gw::proxy {

CallerCache::CallerCache(store::AccountStore& accounts, const core::Clock& clock)
    : accounts_(accounts), clock_(clock) {}

void CallerCache::invalidate_if_stale(std::uint64_t policy_version) {
  const std::uint64_t store_version = accounts_.version();
  if (store_version != store_version_ || policy_version != policy_version_) {
    entries_.clear();
    anonymous_.clear();
    store_version_ = store_version;
    policy_version_ = policy_version;
  }
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::find(
    std::string_view key, const policy::Policy& policy, std::uint64_t policy_version) {
  invalidate_if_stale(policy_version);
  const core::UnixNanos now = clock_.now();
  if (auto it = entries_.find(key); it != entries_.end() && now < it->second.expires) {
    return it->second.caller;
  }

  auto record = accounts_.find_key(key);
  if (!record) return core::unexpected(record.error().detail);

  std::shared_ptr<const Caller> caller;
  if (*record) {
    const store::ApiKeyRecord& key_record = **record;
    auto account = accounts_.get_account(key_record.account_id);
    if (!account) return core::unexpected(account.error().detail);
    if (*account) {
      auto built = std::make_shared<Caller>();
      built->account_id = key_record.account_id;
      built->environment = key_record.environment;
      if (key_record.environment == store::KeyEnvironment::test) {
        // Test keys are limited with the free plan, on counters of their own.
        built->subject = key_record.account_id + ":test";
        built->plan_name = "free";
        const policy::PlanLimits* free = policy.plan("free");
        if (free) built->limits = *free;
      } else {
        built->subject = key_record.account_id + ":live";
        built->plan_name = (*account)->plan;
        auto limits = policy.effective_limits((*account)->plan, (*account)->overrides);
        if (!limits) {
          // The account names a plan the configuration no longer has (or overrides that no
          // longer apply): limit it as free rather than lock the customer out.
          spdlog::warn("account {}: {}; limiting it with the free plan", key_record.account_id,
                       limits.error());
          built->plan_name = "free";
          if (const policy::PlanLimits* free = policy.plan("free")) built->limits = *free;
        } else {
          built->limits = std::move(*limits);
        }
      }
      caller = std::move(built);
    }
  }

  if (entries_.size() >= kMaxEntries) entries_.clear();
  const auto ttl = policy.config().accounts.cache;
  entries_.insert_or_assign(std::string(key), Entry{caller, now + ttl});
  return caller;
}

std::shared_ptr<const Caller> CallerCache::anonymous(std::string_view client_ip,
                                                     const policy::Policy& policy,
                                                     std::uint64_t policy_version) {
  invalidate_if_stale(policy_version);
  if (auto it = anonymous_.find(client_ip); it != anonymous_.end()) return it->second;
  auto caller = std::make_shared<Caller>();
  caller->anonymous = true;
  caller->subject = "ip:" + std::string(client_ip);
  caller->plan_name = "anonymous";
  if (const policy::PlanLimits* plan = policy.plan("anonymous")) caller->limits = *plan;
  if (anonymous_.size() >= kMaxEntries) anonymous_.clear();
  anonymous_.emplace(std::string(client_ip), caller);
  return caller;
}

}  // namespace gw::proxy

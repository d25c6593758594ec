#include "proxy/caller_cache.h"

#include <spdlog/spdlog.h>

namespace gw::proxy {

CallerCache::CallerCache(store::AccountStore& accounts, const core::Clock& clock)
    : accounts_(accounts), clock_(clock) {}

void CallerCache::invalidate_if_stale(std::uint64_t policy_version) {
  const std::uint64_t store_version = accounts_.version();
  if (store_version != store_version_ || policy_version != policy_version_) {
    entries_.clear();
    accounts_by_subject_.clear();
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
    auto built = build((*record)->account_id, (*record)->environment, policy);
    if (!built) return core::unexpected(std::move(built.error()));
    caller = std::move(*built);
  }

  if (entries_.size() >= kMaxEntries) entries_.clear();
  const auto ttl = policy.config().accounts.cache;
  entries_.insert_or_assign(std::string(key), Entry{caller, now + ttl});
  return caller;
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::for_account(
    std::string_view account_id, store::KeyEnvironment environment, const policy::Policy& policy,
    std::uint64_t policy_version) {
  invalidate_if_stale(policy_version);
  const core::UnixNanos now = clock_.now();
  std::string subject = subject_of(account_id, environment);
  if (auto it = accounts_by_subject_.find(subject);
      it != accounts_by_subject_.end() && now < it->second.expires) {
    return it->second.caller;
  }
  auto built = build(account_id, environment, policy);
  if (!built) return built;
  if (accounts_by_subject_.size() >= kMaxEntries) accounts_by_subject_.clear();
  accounts_by_subject_.insert_or_assign(std::move(subject),
                                        Entry{*built, now + policy.config().accounts.cache});
  return built;
}

std::string CallerCache::subject_of(std::string_view account_id,
                                    store::KeyEnvironment environment) {
  std::string subject(account_id);
  subject += environment == store::KeyEnvironment::test ? ":test" : ":live";
  return subject;
}

// The caller an account's key (or session) acts as; nullptr when the account is gone.
core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::build(
    std::string_view account_id, store::KeyEnvironment environment, const policy::Policy& policy) {
  auto account = accounts_.get_account(account_id);
  if (!account) return core::unexpected(account.error().detail);
  if (!*account) return std::shared_ptr<const Caller>();
  auto built = std::make_shared<Caller>();
  built->account_id = std::string(account_id);
  built->environment = environment;
  built->subject = subject_of(account_id, environment);
  if (environment == store::KeyEnvironment::test) {
    // Test keys are limited with the free plan, on counters of their own.
    built->plan_name = "free";
    if (const policy::PlanLimits* free = policy.plan("free")) built->limits = *free;
    return std::shared_ptr<const Caller>(std::move(built));
  }
  built->plan_name = (*account)->plan;
  auto limits = policy.effective_limits((*account)->plan, (*account)->overrides);
  if (!limits) {
    // The account names a plan the configuration no longer has (or overrides that no
    // longer apply): limit it as free rather than lock the customer out.
    spdlog::warn("account {}: {}; limiting it with the free plan", account_id, limits.error());
    built->plan_name = "free";
    if (const policy::PlanLimits* free = policy.plan("free")) built->limits = *free;
  } else {
    built->limits = std::move(*limits);
  }
  return std::shared_ptr<const Caller>(std::move(built));
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

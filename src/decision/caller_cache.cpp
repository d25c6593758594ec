#include "decision/caller_cache.h"

#include <spdlog/spdlog.h>

#include "store/keys/api_key_material.h"
#include "store/subject.h"

namespace gw::decision {

CallerCache::CallerCache(store::AccountStore& accounts, const core::Clock& clock, Sharing sharing)
    : accounts_(accounts),
      clock_(clock),
      mutex_(sharing == Sharing::threads ? std::make_unique<std::mutex>() : nullptr) {}

void CallerCache::invalidate_if_stale(std::uint64_t policy_version) {
  const std::uint64_t store_version = accounts_.version();
  if (store_version != store_version_ || policy_version != policy_version_) {
    known_.clear();
    unknown_.clear();
    accounts_by_subject_.clear();
    anonymous_.clear();
    store_version_ = store_version;
    policy_version_ = policy_version;
  }
}

template <typename Map>
void CallerCache::make_room(Map& map, std::size_t max) {
  if (map.size() < max) return;
  const core::UnixNanos now = clock_.now();
  boost::unordered::erase_if(map, [now](const auto& entry) {
    if constexpr (std::is_same_v<std::decay_t<decltype(entry.second)>, core::UnixNanos>) {
      return entry.second <= now;
    } else {
      return entry.second.expires <= now;
    }
  });
  if (map.size() < max - max / 8) return;
  bool drop = false;
  boost::unordered::erase_if(map, [&drop](const auto&) { return drop = !drop; });
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::find(
    std::string_view key, const policy::Policy& policy, std::uint64_t policy_version) {
  if (auto hit = cached_key(key, policy_version)) return std::move(*hit);
  const std::uint64_t started_at = store_version();
  store::AccountResult<store::KeyLookup> lookup = store::KeyLookup{};
  if (auto record = accounts_.find_key(key); !record) {
    lookup = core::unexpected(std::move(record.error()));
  } else if (*record) {
    auto account = accounts_.get_account((*record)->account_id);
    if (!account) {
      lookup = core::unexpected(std::move(account.error()));
    } else if (*account) {
      lookup = store::KeyLookup{std::move(*record), std::move(*account)};
    }
  }
  return remember_key(key, std::move(lookup), policy, started_at);
}

std::optional<std::shared_ptr<const Caller>> CallerCache::cached_key(std::string_view key,
                                                                     std::uint64_t policy_version) {
  // Not a key at all: as unknown as a key can be, for the price of a scan.
  if (!store::looks_like_api_key(key)) return std::shared_ptr<const Caller>();
  const auto lock = guard();
  invalidate_if_stale(policy_version);
  const core::KeyedDigest digest = core::KeyedDigest::of(key);
  const core::UnixNanos now = clock_.now();
  if (auto it = known_.find(digest); it != known_.end() && now < it->second.expires) {
    return it->second.caller;
  }
  if (auto it = unknown_.find(digest); it != unknown_.end() && now < it->second) {
    return std::shared_ptr<const Caller>();
  }
  return std::nullopt;
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::remember_key(
    std::string_view key, store::AccountResult<store::KeyLookup> lookup,
    const policy::Policy& policy, std::uint64_t started_at) {
  if (!lookup) return core::unexpected(std::move(lookup.error().detail));
  std::shared_ptr<const Caller> caller;
  if (lookup->record && lookup->account) {
    caller =
        build(lookup->record->account_id, lookup->record->environment, lookup->account, policy);
  }
  const auto lock = guard();
  if (started_at != store_version()) return caller;
  const core::KeyedDigest digest = core::KeyedDigest::of(key);
  const core::UnixNanos expires = clock_.now() + ttl_;
  if (caller) {
    make_room(known_, kMaxKnownKeys);
    known_.insert_or_assign(digest, Entry{caller, expires});
  } else {
    // Churned by floods of made-up keys: a full set is simply emptied.
    if (unknown_.size() >= kMaxUnknownKeys) unknown_.clear();
    unknown_.insert_or_assign(digest, expires);
  }
  return caller;
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::for_account(
    std::string_view account_id, store::KeyEnvironment environment, const policy::Policy& policy,
    std::uint64_t policy_version) {
  if (auto hit = cached_account(account_id, environment, policy_version)) return std::move(*hit);
  const std::uint64_t started_at = store_version();
  return remember_account(account_id, environment, accounts_.get_account(account_id), policy,
                          started_at);
}

std::optional<std::shared_ptr<const Caller>> CallerCache::cached_account(
    std::string_view account_id, store::KeyEnvironment environment, std::uint64_t policy_version) {
  const auto lock = guard();
  invalidate_if_stale(policy_version);
  const std::string subject = store::subject_of(account_id, environment);
  if (auto it = accounts_by_subject_.find(subject);
      it != accounts_by_subject_.end() && clock_.now() < it->second.expires) {
    return it->second.caller;
  }
  return std::nullopt;
}

core::Result<std::shared_ptr<const Caller>, std::string> CallerCache::remember_account(
    std::string_view account_id, store::KeyEnvironment environment,
    store::AccountResult<std::optional<store::Account>> account, const policy::Policy& policy,
    std::uint64_t started_at) {
  if (!account) return core::unexpected(std::move(account.error().detail));
  auto caller = build(account_id, environment, *account, policy);
  const auto lock = guard();
  if (started_at != store_version()) return caller;
  make_room(accounts_by_subject_, kMaxAccounts);
  accounts_by_subject_.insert_or_assign(store::subject_of(account_id, environment),
                                        Entry{caller, clock_.now() + ttl_});
  return caller;
}

// The caller an account's key (or session) acts as; nullptr when the account is gone.
std::shared_ptr<const Caller> CallerCache::build(std::string_view account_id,
                                                 store::KeyEnvironment environment,
                                                 const std::optional<store::Account>& account,
                                                 const policy::Policy& policy) {
  if (!account) return nullptr;
  auto built = std::make_shared<Caller>();
  built->account_id = std::string(account_id);
  built->environment = environment;
  built->subject = store::subject_of(account_id, environment);
  built->subject_hash = store::hash_subject(built->subject);
  if (environment == store::KeyEnvironment::test) {
    // Test keys are limited with the free plan, on counters of their own.
    built->plan_name = "free";
    if (const policy::PlanLimits* free = policy.plan("free")) built->limits = *free;
    return std::shared_ptr<const Caller>(std::move(built));
  }
  built->plan_name = account->plan;
  auto limits = policy.effective_limits(account->plan, account->overrides);
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

std::shared_ptr<const Caller> CallerCache::anonymous(const core::IpBytes& client,
                                                     const policy::Policy& policy,
                                                     std::uint64_t policy_version) {
  const auto lock = guard();
  invalidate_if_stale(policy_version);
  const core::IpBytes block = core::client_block(client);
  if (auto it = anonymous_.find(block); it != anonymous_.end()) return it->second;
  auto caller = std::make_shared<Caller>();
  caller->anonymous = true;
  caller->subject = "ip:" + core::client_block_text(block);
  caller->subject_hash = store::hash_subject(caller->subject);
  caller->plan_name = "anonymous";
  if (const policy::PlanLimits* plan = policy.plan("anonymous")) caller->limits = *plan;
  // Nothing is lost by forgetting one: it is rebuilt from the block on the next request.
  if (anonymous_.size() >= kMaxAnonymous) anonymous_.clear();
  anonymous_.emplace(block, caller);
  return caller;
}

}  // namespace gw::decision

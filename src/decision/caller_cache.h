// Per-worker cache from a presented API key to its Caller. SHA-256 and the account store
// are consulted only on a miss. The request path asks cached_*() and, on a miss, looks
// the key up without blocking (AccountStore::lookup_*, see caller_lookup.h) and
// remember_*()s the answer; find()/for_account() do both synchronously (tests, local
// tools). Entries are dropped when the account store's version or the policy's version
// moves (a plan change applies to the very next request), and after accounts.cache_seconds.
//
// Built to be flooded (SPEC §3, issue 11): the map key is a keyed digest of the presented
// key (core/keyed_hash.h), never the key itself; a key that is not even well formed
// (store::looks_like_api_key) is never looked up or cached; keys the store does not know
// live in a small set of their own, so a flood of made-up keys churns only that set and
// never pushes out the callers that are known. Anonymous callers (per client block) are
// cheap to rebuild and kept in a bounded map too.
//
// Thread-safety: none for a worker's own cache (Sharing::one_thread). A cache made with
// Sharing::threads (the decision service's, asked from gRPC's threads and its own) takes
// a mutex in every call; find()/for_account() release it while the store answers.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ip_network.h"
#include "core/keyed_hash.h"
#include "core/result.h"
#include "core/string_map.h"
#include "decision/caller.h"
#include "policy/policy.h"
#include "store/account_store.h"

namespace gw::decision {

class CallerCache {
 public:
  enum class Sharing { one_thread, threads };
  CallerCache(store::AccountStore& accounts, const core::Clock& clock,
              Sharing sharing = Sharing::one_thread);

  // The caller a key belongs to, nullptr for an unknown or revoked key, or an error when
  // the account store cannot answer.
  core::Result<std::shared_ptr<const Caller>, std::string> find(std::string_view key,
                                                                const policy::Policy& policy,
                                                                std::uint64_t policy_version);

  // The caller an account acts as in one environment (a session's stream), nullptr when
  // the account no longer exists.
  core::Result<std::shared_ptr<const Caller>, std::string> for_account(
      std::string_view account_id, store::KeyEnvironment environment, const policy::Policy& policy,
      std::uint64_t policy_version);

  // The cached caller of a key (nullptr inside: a known-unknown key); nullopt on a miss.
  std::optional<std::shared_ptr<const Caller>> cached_key(std::string_view key,
                                                          std::uint64_t policy_version);
  // Caches what a lookup of `key` found and returns its caller (nullptr: unknown key).
  // `started_at` is store_version() from before the lookup: if the store has changed
  // since, the answer may be stale and is returned without being cached.
  core::Result<std::shared_ptr<const Caller>, std::string> remember_key(
      std::string_view key, store::AccountResult<store::KeyLookup> lookup,
      const policy::Policy& policy, std::uint64_t started_at);

  std::optional<std::shared_ptr<const Caller>> cached_account(std::string_view account_id,
                                                              store::KeyEnvironment environment,
                                                              std::uint64_t policy_version);
  core::Result<std::shared_ptr<const Caller>, std::string> remember_account(
      std::string_view account_id, store::KeyEnvironment environment,
      store::AccountResult<std::optional<store::Account>> account, const policy::Policy& policy,
      std::uint64_t started_at);

  // How long an entry is trusted (accounts.cache_seconds); applies to entries made after.
  void set_ttl(std::chrono::seconds ttl) {
    const auto lock = guard();
    ttl_ = ttl;
  }

  // Moves on every account or key change: a caller taken earlier may be stale.
  std::uint64_t store_version() const noexcept { return accounts_.version(); }

  // The caller for an unauthenticated client (unknown_key: anonymous): its client block
  // (an IPv4 address, an IPv6 /64) is the counter subject.
  std::shared_ptr<const Caller> anonymous(const core::IpBytes& client, const policy::Policy& policy,
                                          std::uint64_t policy_version);

  // Bounds, per worker. Known keys come only from accounts an operator created.
  static constexpr std::size_t kMaxKnownKeys = 100'000;
  static constexpr std::size_t kMaxUnknownKeys = 4'096;
  static constexpr std::size_t kMaxAccounts = 100'000;
  static constexpr std::size_t kMaxAnonymous = 4'096;

  struct Sizes {
    std::size_t known_keys, unknown_keys, accounts, anonymous;
  };
  Sizes sizes() const {
    const auto lock = guard();
    return {known_.size(), unknown_.size(), accounts_by_subject_.size(), anonymous_.size()};
  }

 private:
  struct Entry {
    std::shared_ptr<const Caller> caller;  // nullptr: the account no longer exists
    core::UnixNanos expires{};
  };
  template <typename V>
  using DigestMap = boost::unordered_flat_map<core::KeyedDigest, V, core::KeyedDigestHash>;

  // Held for the whole of each call when the cache is shared; an empty lock otherwise.
  std::unique_lock<std::mutex> guard() const {
    return mutex_ ? std::unique_lock(*mutex_) : std::unique_lock<std::mutex>();
  }
  void invalidate_if_stale(std::uint64_t policy_version);
  // Makes room in a full map of entries: the expired ones go, and if that frees less than
  // an eighth, every other one (arbitrary under a keyed hash, so nobody can aim it).
  template <typename Map>
  void make_room(Map& map, std::size_t max);
  // The caller of an account (nullptr when `account` is nullopt: it no longer exists).
  static std::shared_ptr<const Caller> build(std::string_view account_id,
                                             store::KeyEnvironment environment,
                                             const std::optional<store::Account>& account,
                                             const policy::Policy& policy);

  store::AccountStore& accounts_;
  const core::Clock& clock_;
  const std::unique_ptr<std::mutex> mutex_;  // Sharing::threads only
  std::chrono::seconds ttl_{60};
  std::uint64_t store_version_ = 0;
  std::uint64_t policy_version_ = 0;
  DigestMap<Entry> known_;                      // keys of a live account
  DigestMap<core::UnixNanos> unknown_;          // keys the store does not know: until when
  core::StringMap<Entry> accounts_by_subject_;  // by "<account>:<environment>"
  boost::unordered_flat_map<core::IpBytes, std::shared_ptr<const Caller>, core::IpBytesHash>
      anonymous_;  // by client block
};

}  // namespace gw::decision

// Per-worker cache from a presented API key to its Caller. The plain key is the map key
// (it lives only in this process's memory); SHA-256 and the account store are consulted
// only on a miss. Entries are dropped when the account store's version or the policy's
// version moves (a plan change applies to the very next request), and after
// accounts.cache_seconds.
//
// Thread-safety: none; each worker thread owns one.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "policy/policy.h"
#include "proxy/caller.h"
#include "store/account_store.h"

namespace gw::proxy {

class CallerCache {
 public:
  CallerCache(store::AccountStore& accounts, const core::Clock& clock);

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

  // Moves on every account or key change: a caller taken earlier may be stale.
  std::uint64_t store_version() const noexcept { return accounts_.version(); }

  static std::string subject_of(std::string_view account_id, store::KeyEnvironment environment);

  // The caller for an unauthenticated client address (unknown_key: anonymous).
  std::shared_ptr<const Caller> anonymous(std::string_view client_ip, const policy::Policy& policy,
                                          std::uint64_t policy_version);

 private:
  // Lets lookups take the key as a string_view, without building a std::string.
  struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <typename V>
  using StringMap = boost::unordered_flat_map<std::string, V, TransparentHash, std::equal_to<>>;

  struct Entry {
    std::shared_ptr<const Caller> caller;  // nullptr: the key is unknown
    core::UnixNanos expires{};
  };

  void invalidate_if_stale(std::uint64_t policy_version);
  core::Result<std::shared_ptr<const Caller>, std::string> build(std::string_view account_id,
                                                                 store::KeyEnvironment environment,
                                                                 const policy::Policy& policy);

  static constexpr std::size_t kMaxEntries = 100'000;  // per worker; cleared when exceeded

  store::AccountStore& accounts_;
  const core::Clock& clock_;
  std::uint64_t store_version_ = 0;
  std::uint64_t policy_version_ = 0;
  StringMap<Entry> entries_;              // by plain key
  StringMap<Entry> accounts_by_subject_;  // by "<account>:<environment>"
  StringMap<std::shared_ptr<const Caller>> anonymous_;
};

}  // namespace gw::proxy

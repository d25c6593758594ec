// AccountStore over one SQLite file: the embedded store of accounts and API keys
// (SPEC §7, backend `memory`), so they survive a restart.
//
// Schema (user_version 1):
//   accounts(id PK, plan, overrides_json, created_at, updated_at)
//   api_keys(key_id PK, account_id, environment 'live'|'test', key_hash UNIQUE,
//            created_at, revoked_at NULL)
// Times are Unix seconds from the injected clock. Only the SHA-256 (hex) of a key is
// stored. Deleting an account revokes its keys (rows stay, for audit); a key is found
// only while it is not revoked and its account exists.
//
// Thread-safety: every method may be called from any thread; one connection, serialized
// by a mutex (calls are short: single-row statements on indexed columns). version() reads
// an atomic and never waits.
// Lookups of keys that do not exist never reach SQLite: the hashes of every live key are
// held in memory (reloaded after each key or account change, all of them, under the
// connection's mutex; O(keys) and rare), so a flood of made-up keys costs a SHA-256 and a
// shared-lock probe, and cannot queue real lookups behind it on the mutex. It counts writes made
// through this object only; another process writing the same file is not seen (one gateway process
// owns the file). Errors come back as AccountStoreError, never as exceptions; details never hold a
// key.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "store/account_store.h"

namespace gw::store {

class SqliteAccountStore final : public AccountStore {
 public:
  // Opens (or creates) the database at `path`, creating its parent directory, and
  // switches a file database to WAL. ":memory:" gives a private in-memory database.
  // `clock` must outlive the store.
  static AccountResult<std::unique_ptr<SqliteAccountStore>> open(std::string_view path,
                                                                 const core::Clock& clock);

  ~SqliteAccountStore() override;
  SqliteAccountStore(const SqliteAccountStore&) = delete;
  SqliteAccountStore& operator=(const SqliteAccountStore&) = delete;

  // AccountStore
  AccountResult<std::optional<Account>> get_account(std::string_view id) override;
  AccountResult<bool> put_account(const Account& account) override;
  AccountResult<bool> delete_account(std::string_view id) override;
  AccountResult<std::vector<ApiKeyRecord>> list_keys(std::string_view account_id) override;
  AccountResult<CreatedKey> create_key(std::string_view account_id,
                                       KeyEnvironment environment) override;
  AccountResult<bool> revoke_key(std::string_view key_id) override;
  AccountResult<std::optional<ApiKeyRecord>> find_key(std::string_view plain_key) override;
  std::uint64_t version() const noexcept override {
    return version_.load(std::memory_order_acquire);
  }

 private:
  struct Statements;  // every statement, prepared once at open()

  SqliteAccountStore(sqlite3* db, const core::Clock& clock);
  AccountStoreError error(std::string_view what) const;  // REQUIRES: mutex_ held
  std::int64_t now_s() const;
  void bump_version() noexcept { version_.fetch_add(1, std::memory_order_acq_rel); }
  // Reads every live key's hash into live_hashes_. REQUIRES: mutex_ held.
  AccountResult<bool> reload_live_hashes();

  std::mutex mutex_;
  sqlite3* db_;                             // guarded by mutex_
  std::unique_ptr<Statements> statements_;  // guarded by mutex_
  const core::Clock& clock_;
  mutable std::shared_mutex live_hashes_mutex_;
  boost::unordered_flat_set<std::string> live_hashes_;  // guarded by live_hashes_mutex_
  std::atomic<std::uint64_t> version_{1};               // starts at 1 so 0 can mean "never read"
};

}  // namespace gw::store

// Accounts (organizations), their plan and overrides, and their API keys.
//
// Keys are stored only as SHA-256 hashes (hex); the plain key exists once, in the answer
// to create_key(). `version()` increases on every change, so caches in front of the store
// can tell that what they hold may be stale without locking readers.
//
// Implementations: SqliteAccountStore (store/sqlite_account_store.h), later Redis.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.h"

namespace gw::store {

enum class KeyEnvironment { live, test };

struct Account {
  std::string id;
  std::string plan;              // a plan name of the configuration
  boost::json::object overrides;  // plan fields and {"groups": {name: limit}}; validated by admin/
};

struct ApiKeyRecord {
  std::string key_id;      // public id, e.g. "key_…"; safe to log
  std::string account_id;
  KeyEnvironment environment = KeyEnvironment::live;
};

struct CreatedKey {
  ApiKeyRecord record;
  std::string key;  // "sk_live_…" or "sk_test_…"; shown once, never stored
};

struct AccountStoreError {
  std::string detail;  // never contains a key
};

template <typename T>
using AccountResult = core::Result<T, AccountStoreError>;

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  virtual AccountResult<std::optional<Account>> get_account(std::string_view id) = 0;
  virtual AccountResult<bool> put_account(const Account& account) = 0;  // true: created
  virtual AccountResult<bool> delete_account(std::string_view id) = 0;  // also revokes its keys
  virtual AccountResult<std::vector<ApiKeyRecord>> list_keys(std::string_view account_id) = 0;

  // REQUIRES: the account exists.
  virtual AccountResult<CreatedKey> create_key(std::string_view account_id,
                                               KeyEnvironment environment) = 0;
  virtual AccountResult<bool> revoke_key(std::string_view key_id) = 0;  // false: unknown id

  // The record of a live (not revoked) key, given the plain key as presented by a caller.
  virtual AccountResult<std::optional<ApiKeyRecord>> find_key(std::string_view plain_key) = 0;

  virtual std::uint64_t version() const noexcept = 0;
};

}  // namespace gw::store

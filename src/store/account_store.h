// Accounts (organizations), their plan and overrides, and their API keys.
//
// Keys are stored only as SHA-256 hashes (hex); the plain key exists once, in the answer
// to create_key(). `version()` increases on every change, so caches in front of the store
// can tell that what they hold may be stale without locking readers.
//
// Implementations: SqliteAccountStore (store/sqlite/), RedisAccountStore (store/redis/).
// Thread-safety: every method may be called from any thread. The synchronous methods may
// block briefly (a local file, or a bounded Redis round trip): the admin API uses them.
// The request path uses lookup_key()/lookup_account(), which never block the caller's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>

#include "core/result.h"
#include "store/post_result.h"

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

// What a presented key resolves to, read in one call for the request path.
struct KeyLookup {
  std::optional<ApiKeyRecord> record;  // nullopt: unknown or revoked
  std::optional<Account> account;      // the record's account; nullopt without a record
};

using KeyLookupHandler = std::function<void(AccountResult<KeyLookup>)>;
using AccountHandler = std::function<void(AccountResult<std::optional<Account>>)>;

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

  // The request path's lookups. `done` runs exactly once, on `executor`, never inline.
  // The defaults run the synchronous calls (fine for a local store); a remote store
  // overrides them with non-blocking I/O.
  virtual void lookup_key(std::string_view plain_key, const boost::asio::any_io_executor& executor,
                          KeyLookupHandler done) {
    AccountResult<KeyLookup> result = KeyLookup{};
    if (auto record = find_key(plain_key); !record) {
      result = core::unexpected(std::move(record.error()));
    } else if (*record) {
      auto account = get_account((*record)->account_id);
      if (!account) {
        result = core::unexpected(std::move(account.error()));
      } else if (*account) {
        result = KeyLookup{std::move(*record), std::move(*account)};
      }
    }
    post_result(executor, std::move(done), std::move(result));
  }

  virtual void lookup_account(std::string_view id, const boost::asio::any_io_executor& executor,
                              AccountHandler done) {
    post_result(executor, std::move(done), get_account(id));
  }
};

}  // namespace gw::store

// The AccountStore contract (store/account_store.h) as one GoogleTest suite that every
// backend runs: a type-parameterized suite, instantiated in each backend's test target with
// an AccountStoreBackend that makes a fresh store (SqliteAccountStore on a temporary file
// with the test's FakeClock; RedisAccountStore on a fresh redis-server).
//
// What the contract holds beyond the interface's text, because both backends do it alike:
// keys look alike whatever the backend (store/keys/api_key_material.h); a failed call
// (unknown account, unknown or revoked key) changes nothing; deleting an account revokes
// its keys for good; list_keys() lists keys in the order they were made, when they were
// made at different times of the store's clock (SQLite orders by its clock's second, then
// by key id: two keys made in one second have no defined order there; Redis keeps a
// sequence); no byte the backend stores holds a plain key, and it does hold its hash.
// version() moves on every change; whether it moves otherwise differs (Redis's also moves
// when its change feed delivers a message, its own changes included), so that is held in
// the backends' own tests.
//
// Thread-safety: a fixture is used by its test's thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/any_io_executor.hpp>
#include <cctype>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/fake_clock.h"
#include "store/account_store.h"
#include "store/keys/key_hash.h"
#include "store/testing/contract_support.h"

namespace gw::store::contract {

// A backend under test: a fresh, empty store of its kind, and what the suite needs to look
// at it from outside the interface. Implementations are constructed from the test's
// FakeClock (`explicit Backend(core::FakeClock&)`), which a store that takes a clock reads.
class AccountStoreBackend {
 public:
  virtual ~AccountStoreBackend() = default;
  virtual AccountStore& store() = 0;
  // A running event loop of the backend's, for lookup_key() / lookup_account().
  virtual boost::asio::any_io_executor executor() = 0;
  // Every byte the backend keeps (files, or keys and values), for the plain-key check.
  virtual std::string stored_bytes() = 0;
};

namespace account_contract {

inline Account account(std::string id, std::string plan, boost::json::object overrides = {}) {
  return Account{.id = std::move(id), .plan = std::move(plan), .overrides = std::move(overrides)};
}

inline constexpr std::size_t kKeyPrefixSize = 8;   // "sk_live_" / "sk_test_"
inline constexpr std::size_t kKeySecretSize = 43;  // base62
inline constexpr std::size_t kKeyIdSize = 4 + 24;  // "key_" + hex

}  // namespace account_contract

template <typename Backend>
class AccountStoreContract : public ::testing::Test {
  static_assert(std::is_base_of_v<AccountStoreBackend, Backend>);

 protected:
  AccountStore& store() { return backend_.store(); }

  // Must succeed: the created key (empty, and a test failure, otherwise).
  CreatedKey created(std::string_view account_id, KeyEnvironment environment) {
    auto key = store().create_key(account_id, environment);
    EXPECT_TRUE(key) << (key ? "" : key.error().detail);
    return key ? *key : CreatedKey{};
  }
  void put(const Account& account) {
    auto put = store().put_account(account);
    ASSERT_TRUE(put) << put.error().detail;
  }
  std::optional<ApiKeyRecord> found(std::string_view plain_key) {
    auto found = store().find_key(plain_key);
    EXPECT_TRUE(found) << (found ? "" : found.error().detail);
    return found ? *found : std::nullopt;
  }
  std::vector<ApiKeyRecord> listed(std::string_view account_id) {
    auto keys = store().list_keys(account_id);
    EXPECT_TRUE(keys) << (keys ? "" : keys.error().detail);
    return keys ? *keys : std::vector<ApiKeyRecord>{};
  }

  // lookup_key() / lookup_account(), checked to complete on the backend's loop and not
  // inline (issued while the loop is held busy).
  std::optional<AccountResult<KeyLookup>> lookup_key(std::string_view plain_key) {
    return posted<AccountResult<KeyLookup>>(
        [&](auto done) { store().lookup_key(plain_key, backend_.executor(), done); });
  }
  std::optional<AccountResult<std::optional<Account>>> lookup_account(std::string_view id) {
    return posted<AccountResult<std::optional<Account>>>(
        [&](auto done) { store().lookup_account(id, backend_.executor(), done); });
  }

  core::FakeClock clock_{core::UnixNanos{std::chrono::seconds(1'700'000'000)}};
  Backend backend_{clock_};

 private:
  template <typename T, typename Start>
  std::optional<T> posted(Start start) {
    Captured<T> captured;
    {
      LoopHold hold(backend_.executor());
      start(captured.handler());
      EXPECT_FALSE(captured.arrived()) << "completed inline";
    }
    auto value = captured.get();
    EXPECT_EQ(captured.thread(), loop_thread_id(backend_.executor()));
    return value;
  }
};

TYPED_TEST_SUITE_P(AccountStoreContract);

using namespace account_contract;

TYPED_TEST_P(AccountStoreContract, PutCreatesThenUpdates) {
  const auto v0 = this->store().version();
  const boost::json::object overrides{{"api_requests_per_minute", 900},
                                      {"groups", boost::json::object{{"analysis", 5}}}};
  auto created = this->store().put_account(account("acct_1", "pro", overrides));
  ASSERT_TRUE(created) << created.error().detail;
  EXPECT_TRUE(*created);
  EXPECT_GT(this->store().version(), v0);

  auto got = this->store().get_account("acct_1");
  ASSERT_TRUE(got) << got.error().detail;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, "acct_1");
  EXPECT_EQ((*got)->plan, "pro");
  EXPECT_EQ((*got)->overrides, overrides);

  const auto v1 = this->store().version();
  auto updated = this->store().put_account(account("acct_1", "starter"));
  ASSERT_TRUE(updated);
  EXPECT_FALSE(*updated);
  EXPECT_GT(this->store().version(), v1);
  got = this->store().get_account("acct_1");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->plan, "starter");
  EXPECT_TRUE((*got)->overrides.empty());  // replaced, not merged
}

TYPED_TEST_P(AccountStoreContract, AnUnknownAccountIsEmptyNotAnError) {
  auto got = this->store().get_account("nobody");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_FALSE(got->has_value());
  auto deleted = this->store().delete_account("nobody");
  ASSERT_TRUE(deleted) << deleted.error().detail;
  EXPECT_FALSE(*deleted);
  auto keys = this->store().list_keys("nobody");
  ASSERT_TRUE(keys) << keys.error().detail;
  EXPECT_TRUE(keys->empty());
}

TYPED_TEST_P(AccountStoreContract, KeyLifecycle) {
  this->put(account("acct_1", "pro"));
  const auto v0 = this->store().version();
  const CreatedKey key = this->created("acct_1", KeyEnvironment::live);
  EXPECT_GT(this->store().version(), v0);
  EXPECT_TRUE(key.key.starts_with("sk_live_"));
  EXPECT_EQ(key.key.size(), kKeyPrefixSize + kKeySecretSize);
  for (char c : key.key.substr(kKeyPrefixSize)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << key.key;
  }
  EXPECT_TRUE(key.record.key_id.starts_with("key_"));
  EXPECT_EQ(key.record.key_id.size(), kKeyIdSize);
  EXPECT_EQ(key.record.account_id, "acct_1");
  EXPECT_EQ(key.record.environment, KeyEnvironment::live);

  const auto found = this->found(key.key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key_id, key.record.key_id);
  EXPECT_EQ(found->account_id, "acct_1");
  EXPECT_EQ(found->environment, KeyEnvironment::live);

  const auto keys = this->listed("acct_1");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].key_id, key.record.key_id);
  EXPECT_EQ(keys[0].account_id, "acct_1");
  EXPECT_EQ(keys[0].environment, KeyEnvironment::live);

  const auto v1 = this->store().version();
  auto revoked = this->store().revoke_key(key.record.key_id);
  ASSERT_TRUE(revoked) << revoked.error().detail;
  EXPECT_TRUE(*revoked);
  EXPECT_GT(this->store().version(), v1);
  EXPECT_FALSE(this->found(key.key));
  EXPECT_TRUE(this->listed("acct_1").empty());

  // Revoking twice, or an unknown id, reports "not found".
  revoked = this->store().revoke_key(key.record.key_id);
  ASSERT_TRUE(revoked);
  EXPECT_FALSE(*revoked);
  revoked = this->store().revoke_key("key_unknown");
  ASSERT_TRUE(revoked);
  EXPECT_FALSE(*revoked);
  EXPECT_TRUE(this->store().get_account("acct_1")->has_value());  // the account stays
}

TYPED_TEST_P(AccountStoreContract, TestAndLiveKeysAreDistinct) {
  this->put(account("acct_1", "pro"));
  const CreatedKey live = this->created("acct_1", KeyEnvironment::live);
  const CreatedKey test = this->created("acct_1", KeyEnvironment::test);
  EXPECT_TRUE(test.key.starts_with("sk_test_"));
  EXPECT_EQ(test.record.environment, KeyEnvironment::test);
  EXPECT_NE(live.key, test.key);
  EXPECT_NE(live.record.key_id, test.record.key_id);
  ASSERT_TRUE(this->found(test.key));
  EXPECT_EQ(this->found(test.key)->environment, KeyEnvironment::test);
  ASSERT_TRUE(this->found(live.key));
  EXPECT_EQ(this->found(live.key)->environment, KeyEnvironment::live);

  // A live secret presented with the test prefix is another key altogether.
  EXPECT_FALSE(this->found("sk_test_" + live.key.substr(kKeyPrefixSize)));
  EXPECT_EQ(this->listed("acct_1").size(), 2u);
}

TYPED_TEST_P(AccountStoreContract, KeysAreUnique) {
  this->put(account("acct_1", "free"));
  std::set<std::string> keys;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const CreatedKey key = this->created("acct_1", KeyEnvironment::live);
    keys.insert(key.key);
    ids.insert(key.record.key_id);
  }
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(this->listed("acct_1").size(), 50u);
}

TYPED_TEST_P(AccountStoreContract, GarbageKeysAreNotFound) {
  this->put(account("acct_1", "free"));
  const CreatedKey real = this->created("acct_1", KeyEnvironment::live);
  for (const std::string& key :
       {std::string(), std::string("sk_live_"), std::string("sk_live_nope"),
        std::string("sk_live_unknown"), std::string("Bearer x"), std::string("sk_prod_abc"),
        std::string("not-a-key"), real.key + "x", real.key.substr(0, real.key.size() - 1),
        "sk_prod_" + real.key.substr(kKeyPrefixSize), std::string(real.key.size(), 'a')}) {
    auto found = this->store().find_key(key);
    ASSERT_TRUE(found) << found.error().detail;
    EXPECT_FALSE(found->has_value()) << key;
  }
}

TYPED_TEST_P(AccountStoreContract, CreatingAKeyForAnUnknownAccountFails) {
  const auto v0 = this->store().version();
  auto created = this->store().create_key("nobody", KeyEnvironment::live);
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().detail.find("unknown account"), std::string::npos)
      << created.error().detail;
  // Nothing was changed, and no change has been made before (so a change feed is quiet).
  EXPECT_EQ(this->store().version(), v0);
  EXPECT_TRUE(this->listed("nobody").empty());
  EXPECT_FALSE(this->store().get_account("nobody")->has_value());
}

TYPED_TEST_P(AccountStoreContract, DeletingAnAccountRevokesItsKeys) {
  this->put(account("acct_1", "pro"));
  this->put(account("acct_2", "pro"));
  const CreatedKey key1 = this->created("acct_1", KeyEnvironment::live);
  const CreatedKey test1 = this->created("acct_1", KeyEnvironment::test);
  const CreatedKey key2 = this->created("acct_2", KeyEnvironment::live);

  const auto v0 = this->store().version();
  auto deleted = this->store().delete_account("acct_1");
  ASSERT_TRUE(deleted) << deleted.error().detail;
  EXPECT_TRUE(*deleted);
  EXPECT_GT(this->store().version(), v0);
  EXPECT_FALSE(this->store().get_account("acct_1")->has_value());
  EXPECT_FALSE(this->found(key1.key));
  EXPECT_FALSE(this->found(test1.key));
  EXPECT_TRUE(this->found(key2.key));  // another account's keys stay
  deleted = this->store().delete_account("acct_1");
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(*deleted);  // deleting twice deletes once

  // Re-creating the account does not bring its old keys back.
  this->put(account("acct_1", "pro"));
  EXPECT_FALSE(this->found(key1.key));
  EXPECT_TRUE(this->listed("acct_1").empty());
  auto revoked = this->store().revoke_key(key1.record.key_id);
  ASSERT_TRUE(revoked);
  EXPECT_FALSE(*revoked);
}

// Made at different times of the store's clock (the FakeClock moves; a store with a
// sequence of its own needs no clock): listed in that order, whatever their ids.
TYPED_TEST_P(AccountStoreContract, KeysAreListedInTheOrderTheyWereMade) {
  this->put(account("acct_1", "pro"));
  std::vector<std::string> made;
  for (const KeyEnvironment environment :
       {KeyEnvironment::test, KeyEnvironment::live, KeyEnvironment::live, KeyEnvironment::test,
        KeyEnvironment::live}) {
    made.push_back(this->created("acct_1", environment).record.key_id);
    this->clock_.advance(std::chrono::seconds(1));
  }
  ASSERT_TRUE(*this->store().revoke_key(made[2]));
  made.erase(made.begin() + 2);
  std::vector<std::string> listed;
  for (const ApiKeyRecord& record : this->listed("acct_1")) listed.push_back(record.key_id);
  EXPECT_EQ(listed, made);
}

// SPEC §6: keys are stored only as SHA-256 hashes; the plain key exists once, in the
// answer to create_key().
TYPED_TEST_P(AccountStoreContract, OnlyHashesOfKeysAreStored) {
  this->put(account("acct_1", "pro", {{"concurrent_sessions", nullptr}}));
  const CreatedKey live = this->created("acct_1", KeyEnvironment::live);
  const CreatedKey test = this->created("acct_1", KeyEnvironment::test);
  ASSERT_TRUE(this->found(live.key));  // looked up once, too
  const std::string bytes = this->backend_.stored_bytes();
  ASSERT_FALSE(bytes.empty());
  for (const CreatedKey* key : {&live, &test}) {
    EXPECT_EQ(bytes.find(key->key), std::string::npos);
    EXPECT_EQ(bytes.find(key->key.substr(kKeyPrefixSize)), std::string::npos);
    EXPECT_NE(bytes.find(sha256_hex(key->key)), std::string::npos);
  }
}

// The request path's lookup: the key's record and its account in one call, on the
// executor, never inline.
TYPED_TEST_P(AccountStoreContract, LookupKeyResolvesTheKeyAndItsAccount) {
  const boost::json::object overrides{{"api_requests_per_minute", 5000}};
  this->put(account("acme", "pro", overrides));
  const CreatedKey key = this->created("acme", KeyEnvironment::test);

  auto found = this->lookup_key(key.key);
  ASSERT_TRUE(found && *found);
  ASSERT_TRUE((*found)->record && (*found)->account);
  EXPECT_EQ((*found)->record->key_id, key.record.key_id);
  EXPECT_EQ((*found)->record->account_id, "acme");
  EXPECT_EQ((*found)->record->environment, KeyEnvironment::test);
  EXPECT_EQ((*found)->account->id, "acme");
  EXPECT_EQ((*found)->account->plan, "pro");
  EXPECT_EQ((*found)->account->overrides, overrides);

  for (const std::string& unknown : {std::string("sk_live_nope"), std::string(),
                                     "sk_live_" + std::string(kKeySecretSize, 'z')}) {
    auto missing = this->lookup_key(unknown);
    ASSERT_TRUE(missing && *missing);
    EXPECT_FALSE((*missing)->record) << unknown;
    EXPECT_FALSE((*missing)->account) << unknown;
  }

  // Revoked, then its account deleted: nothing either way.
  const CreatedKey other = this->created("acme", KeyEnvironment::live);
  ASSERT_TRUE(*this->store().revoke_key(key.record.key_id));
  auto revoked = this->lookup_key(key.key);
  ASSERT_TRUE(revoked && *revoked);
  EXPECT_FALSE((*revoked)->record);
  ASSERT_TRUE(*this->store().delete_account("acme"));
  auto orphan = this->lookup_key(other.key);
  ASSERT_TRUE(orphan && *orphan);
  EXPECT_FALSE((*orphan)->record);
  EXPECT_FALSE((*orphan)->account);
}

TYPED_TEST_P(AccountStoreContract, LookupAccountAnswersOnTheExecutor) {
  this->put(account("acme", "starter", {{"concurrent_sessions", 3}}));
  auto known = this->lookup_account("acme");
  ASSERT_TRUE(known && *known);
  ASSERT_TRUE(known->value());
  EXPECT_EQ((*known)->value().id, "acme");
  EXPECT_EQ((*known)->value().plan, "starter");
  EXPECT_EQ((*known)->value().overrides.at("concurrent_sessions").as_int64(), 3);
  auto unknown = this->lookup_account("nobody");
  ASSERT_TRUE(unknown && *unknown);
  EXPECT_FALSE(unknown->value());
}

REGISTER_TYPED_TEST_SUITE_P(AccountStoreContract, PutCreatesThenUpdates,
                            AnUnknownAccountIsEmptyNotAnError, KeyLifecycle,
                            TestAndLiveKeysAreDistinct, KeysAreUnique, GarbageKeysAreNotFound,
                            CreatingAKeyForAnUnknownAccountFails, DeletingAnAccountRevokesItsKeys,
                            KeysAreListedInTheOrderTheyWereMade, OnlyHashesOfKeysAreStored,
                            LookupKeyResolvesTheKeyAndItsAccount,
                            LookupAccountAnswersOnTheExecutor);

}  // namespace gw::store::contract

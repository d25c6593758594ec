#include "store/sqlite/sqlite_account_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "core/fake_clock.h"
#include "store/keys/key_hash.h"

namespace gw::store {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<SqliteAccountStore> open_or_die(std::string_view path, const core::Clock& clock) {
  auto store = SqliteAccountStore::open(path, clock);
  EXPECT_TRUE(store.has_value()) << (store ? "" : store.error().detail);
  return store ? std::move(store.value()) : nullptr;
}

Account account(std::string id, std::string plan, boost::json::object overrides = {}) {
  return Account{.id = std::move(id), .plan = std::move(plan), .overrides = std::move(overrides)};
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gw_sqlite_test_XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SqliteAccountStoreTest : public ::testing::Test {
 protected:
  core::FakeClock clock_{core::UnixNanos{1'700'000'000s}};
  std::unique_ptr<SqliteAccountStore> store_ = open_or_die(":memory:", clock_);
};

TEST(KeyHash, IsLowercaseHexSha256) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(SqliteAccountStoreTest, PutCreatesThenUpdates) {
  const auto v0 = store_->version();
  auto created = store_->put_account(account("acct_1", "pro", {{"api_requests_per_minute", 900}}));
  ASSERT_TRUE(created);
  EXPECT_TRUE(*created);
  EXPECT_GT(store_->version(), v0);

  auto got = store_->get_account("acct_1");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, "acct_1");
  EXPECT_EQ((*got)->plan, "pro");
  EXPECT_EQ((*got)->overrides.at("api_requests_per_minute").as_int64(), 900);

  const auto v1 = store_->version();
  auto updated = store_->put_account(account("acct_1", "starter"));
  ASSERT_TRUE(updated);
  EXPECT_FALSE(*updated);
  EXPECT_GT(store_->version(), v1);
  got = store_->get_account("acct_1");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->plan, "starter");
  EXPECT_TRUE((*got)->overrides.empty());
}

TEST_F(SqliteAccountStoreTest, UnknownAccountIsEmptyNotAnError) {
  auto got = store_->get_account("nobody");
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->has_value());
  auto deleted = store_->delete_account("nobody");
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(*deleted);
}

TEST_F(SqliteAccountStoreTest, KeyLifecycle) {
  ASSERT_TRUE(store_->put_account(account("acct_1", "pro")));
  auto created = store_->create_key("acct_1", KeyEnvironment::live);
  ASSERT_TRUE(created) << created.error().detail;
  EXPECT_TRUE(created->key.starts_with("sk_live_"));
  EXPECT_EQ(created->key.size(), 8u + 43u);
  EXPECT_TRUE(created->record.key_id.starts_with("key_"));
  EXPECT_EQ(created->record.account_id, "acct_1");

  auto found = store_->find_key(created->key);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->key_id, created->record.key_id);
  EXPECT_EQ((*found)->account_id, "acct_1");
  EXPECT_EQ((*found)->environment, KeyEnvironment::live);

  auto keys = store_->list_keys("acct_1");
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].key_id, created->record.key_id);

  const auto v = store_->version();
  auto revoked = store_->revoke_key(created->record.key_id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  EXPECT_GT(store_->version(), v);
  found = store_->find_key(created->key);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  EXPECT_TRUE(store_->list_keys("acct_1")->empty());

  // Revoking twice, or an unknown id, reports "not found" and changes nothing.
  const auto v2 = store_->version();
  EXPECT_FALSE(*store_->revoke_key(created->record.key_id));
  EXPECT_FALSE(*store_->revoke_key("key_unknown"));
  EXPECT_EQ(store_->version(), v2);
}

TEST_F(SqliteAccountStoreTest, TestAndLiveKeysAreDistinct) {
  ASSERT_TRUE(store_->put_account(account("acct_1", "pro")));
  auto live = store_->create_key("acct_1", KeyEnvironment::live);
  auto test = store_->create_key("acct_1", KeyEnvironment::test);
  ASSERT_TRUE(live && test);
  EXPECT_TRUE(test->key.starts_with("sk_test_"));
  EXPECT_NE(live->key, test->key);
  EXPECT_NE(live->record.key_id, test->record.key_id);
  EXPECT_EQ((*store_->find_key(test->key))->environment, KeyEnvironment::test);
  EXPECT_EQ((*store_->find_key(live->key))->environment, KeyEnvironment::live);

  // A live secret presented with the test prefix is another key altogether.
  std::string swapped = "sk_test_" + live->key.substr(8);
  EXPECT_FALSE(store_->find_key(swapped)->has_value());
  EXPECT_EQ(store_->list_keys("acct_1")->size(), 2u);
}

TEST_F(SqliteAccountStoreTest, KeysAreUnique) {
  ASSERT_TRUE(store_->put_account(account("acct_1", "free")));
  std::set<std::string> keys, ids;
  for (int i = 0; i < 50; ++i) {
    auto created = store_->create_key("acct_1", KeyEnvironment::live);
    ASSERT_TRUE(created);
    keys.insert(created->key);
    ids.insert(created->record.key_id);
    for (char c : created->key.substr(8)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  }
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(SqliteAccountStoreTest, GarbageKeysAreNotFound) {
  for (std::string_view key : {"", "sk_live_", "sk_live_nope", "Bearer x", "sk_prod_abc"}) {
    auto found = store_->find_key(key);
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->has_value()) << key;
  }
}

TEST_F(SqliteAccountStoreTest, CreateKeyForUnknownAccountFails) {
  auto created = store_->create_key("nobody", KeyEnvironment::live);
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().detail.find("unknown account"), std::string::npos);
}

TEST_F(SqliteAccountStoreTest, DeleteAccountRevokesItsKeys) {
  ASSERT_TRUE(store_->put_account(account("acct_1", "pro")));
  ASSERT_TRUE(store_->put_account(account("acct_2", "pro")));
  auto key1 = store_->create_key("acct_1", KeyEnvironment::live);
  auto key2 = store_->create_key("acct_2", KeyEnvironment::live);
  ASSERT_TRUE(key1 && key2);

  auto deleted = store_->delete_account("acct_1");
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(store_->get_account("acct_1")->has_value());
  EXPECT_FALSE(store_->find_key(key1->key)->has_value());
  EXPECT_TRUE(store_->find_key(key2->key)->has_value());

  // Re-creating the account does not bring its old keys back.
  ASSERT_TRUE(store_->put_account(account("acct_1", "pro")));
  EXPECT_FALSE(store_->find_key(key1->key)->has_value());
  EXPECT_TRUE(store_->list_keys("acct_1")->empty());
}

TEST(SqliteAccountStoreFile, PersistsAcrossReopenAndStoresNoPlainKey) {
  TempDir dir;
  const auto path = dir.path() / "nested" / "accounts.db";  // parent does not exist yet
  core::FakeClock clock{core::UnixNanos{1'700'000'000s}};
  std::string key;
  std::string key_id;
  {
    auto store = open_or_die(path.string(), clock);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_account(account("acct_1", "pro", {{"concurrent_sessions", nullptr}})));
    auto created = store->create_key("acct_1", KeyEnvironment::test);
    ASSERT_TRUE(created);
    key = created->key;
    key_id = created->record.key_id;
  }
  ASSERT_TRUE(std::filesystem::exists(path));

  {
    auto store = open_or_die(path.string(), clock);
    ASSERT_TRUE(store);
    auto got = store->get_account("acct_1");
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->plan, "pro");
    EXPECT_TRUE((*got)->overrides.at("concurrent_sessions").is_null());
    auto found = store->find_key(key);
    ASSERT_TRUE(found && found->has_value());
    EXPECT_EQ((*found)->key_id, key_id);
    EXPECT_EQ((*found)->environment, KeyEnvironment::test);
  }

  // Every file SQLite left behind (db, and -wal/-shm if any) holds the hash, never the key.
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(path.parent_path())) {
    bytes += read_all(entry.path());
  }
  EXPECT_EQ(bytes.find(key), std::string::npos);
  EXPECT_EQ(bytes.find(key.substr(8)), std::string::npos);
  EXPECT_NE(bytes.find(sha256_hex(key)), std::string::npos);
}

TEST(SqliteAccountStoreFile, TheFileIsReadableByItsOwnerOnly) {
  TempDir dir;
  const auto path = dir.path() / "accounts.db";
  core::FakeClock clock{core::UnixNanos{1'700'000'000s}};
  auto store = open_or_die(path.string(), clock);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_account(account("acct_1", "free")));
  using std::filesystem::perms;
  const perms mode = std::filesystem::status(path).permissions() & perms::all;
  EXPECT_EQ(mode, perms::owner_read | perms::owner_write);
}

TEST(SqliteAccountStoreFile, UnopenablePathIsAnError) {
  TempDir dir;
  const auto blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  core::FakeClock clock;
  auto store = SqliteAccountStore::open((blocker / "accounts.db").string(), clock);
  EXPECT_FALSE(store);
}

}  // namespace
}  // namespace gw::store

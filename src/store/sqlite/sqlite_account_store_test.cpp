// What only SqliteAccountStore does: the file (persistence across a reopen, its mode, an
// unusable path) and a version() that moves on changes alone. The AccountStore contract it
// shares with the Redis store is sqlite_account_store_contract_test.cpp
// (store/testing/account_store_contract.h). KeyHash is tested here for want of a keys/
// test target.
#include "store/sqlite/sqlite_account_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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

// version() moves on changes and on nothing else (no change feed here, unlike Redis's).
TEST_F(SqliteAccountStoreTest, VersionMovesOnlyOnChanges) {
  std::uint64_t v = store_->version();
  const auto moved = [&] {
    const bool moved = store_->version() != v;
    v = store_->version();
    return moved;
  };
  ASSERT_TRUE(store_->put_account(account("acct_1", "pro")));
  EXPECT_TRUE(moved());
  auto key = store_->create_key("acct_1", KeyEnvironment::live);
  ASSERT_TRUE(key);
  EXPECT_TRUE(moved());
  ASSERT_TRUE(*store_->revoke_key(key->record.key_id));
  EXPECT_TRUE(moved());

  // Revoking twice, or an unknown id, reports "not found" and changes nothing.
  EXPECT_FALSE(*store_->revoke_key(key->record.key_id));
  EXPECT_FALSE(*store_->revoke_key("key_unknown"));
  EXPECT_FALSE(store_->create_key("nobody", KeyEnvironment::live));
  EXPECT_FALSE(*store_->delete_account("nobody"));
  ASSERT_TRUE(store_->get_account("acct_1"));
  ASSERT_TRUE(store_->find_key(key->key));
  ASSERT_TRUE(store_->list_keys("acct_1"));
  EXPECT_FALSE(moved());
  ASSERT_TRUE(*store_->delete_account("acct_1"));
  EXPECT_TRUE(moved());
}

// The file at rest: what was written is there after a reopen, and the checkpointed files
// (the contract checks them while the store is open) hold the key's hash, never the key.
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

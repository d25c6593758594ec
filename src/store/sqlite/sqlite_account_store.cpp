#include "store/sqlite/sqlite_account_store.h"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <climits>
#include <filesystem>
#include <utility>

#include "store/keys/api_key_material.h"
#include "store/keys/key_hash.h"
#include "store/sqlite_statement.h"
#include "store/subject.h"

namespace gw::store {
namespace {

using sql::Statement;
using sql::Use;

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;  // another process (a backup tool) holding the lock

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  id             TEXT PRIMARY KEY NOT NULL,
  plan           TEXT NOT NULL,
  overrides_json TEXT NOT NULL DEFAULT '{}',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  key_id      TEXT PRIMARY KEY NOT NULL,
  account_id  TEXT NOT NULL,
  environment TEXT NOT NULL CHECK (environment IN ('live', 'test')),
  key_hash    TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id);
PRAGMA user_version = 1;
)sql";

}  // namespace

struct SqliteAccountStore::Statements {
  Statement begin, commit, rollback;
  Statement get_account, insert_account, update_account, delete_account;
  Statement revoke_account_keys, list_keys, insert_key, revoke_key, find_key, live_hashes;

  // Returns the first failing SQL text, or nullptr.
  const char* prepare(sqlite3* db) {
    const std::pair<Statement*, const char*> all[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&get_account, "SELECT plan, overrides_json FROM accounts WHERE id = ?1"},
        {&insert_account,
         "INSERT INTO accounts (id, plan, overrides_json, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?4)"},
        {&update_account,
         "UPDATE accounts SET plan = ?2, overrides_json = ?3, updated_at = ?4 WHERE id = ?1"},
        {&delete_account, "DELETE FROM accounts WHERE id = ?1"},
        {&revoke_account_keys,
         "UPDATE api_keys SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL"},
        {&list_keys,
         "SELECT key_id, environment FROM api_keys WHERE account_id = ?1 AND revoked_at IS NULL "
         "ORDER BY created_at, key_id"},
        {&insert_key,
         "INSERT INTO api_keys (key_id, account_id, environment, key_hash, created_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5)"},
        {&revoke_key,
         "UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL"},
        {&find_key,
         "SELECT k.key_id, k.account_id, k.environment FROM api_keys AS k "
         "JOIN accounts AS a ON a.id = k.account_id "
         "WHERE k.key_hash = ?1 AND k.revoked_at IS NULL"},
        {&live_hashes,
         "SELECT k.key_hash FROM api_keys AS k JOIN accounts AS a ON a.id = k.account_id "
         "WHERE k.revoked_at IS NULL"},
    };
    for (const auto& [statement, sql] : all) {
      if (statement->prepare(db, sql) != SQLITE_OK) return sql;
    }
    return nullptr;
  }
};

namespace {

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. Immediate: take the write lock
// up front, so a read-then-write (put_account's existence check) cannot be interleaved
// with another writer of the file.
class Transaction {
 public:
  explicit Transaction(const Statement& rollback) : rollback_(rollback) {}
  ~Transaction() {
    if (open_) Use(rollback_).step();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  bool begin(const Statement& begin) { return open_ = Use(begin).step() == SQLITE_DONE; }
  bool commit(const Statement& commit) {
    if (Use(commit).step() != SQLITE_DONE) return false;
    open_ = false;
    return true;
  }

 private:
  const Statement& rollback_;
  bool open_ = false;
};

AccountStoreError open_error(sqlite3* db, std::string_view what) {
  return {sql::error_text(db, what)};
}

}  // namespace

AccountResult<std::unique_ptr<SqliteAccountStore>> SqliteAccountStore::open(
    std::string_view path, const core::Clock& clock) {
  const std::string file(path);
  const bool in_memory = file == ":memory:" || file.empty();
  auto opened = sql::open_database(path, kBusyTimeoutMs);
  if (!opened) return core::unexpected(AccountStoreError{std::move(opened.error())});
  sqlite3* db = *opened;
  // From here on the store owns `db` and closes it on every path.
  std::unique_ptr<SqliteAccountStore> store(new SqliteAccountStore(db, clock));
  if (!in_memory && !file.starts_with("file:")) {
    // Key hashes and account data: owner only (SQLite gives its -wal and -shm files the
    // database file's mode). Best effort: a file someone else owns keeps its mode.
    std::error_code ignored;
    std::filesystem::permissions(
        file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace, ignored);
  }

  int user_version = 0;
  {
    Statement read_version;
    if (read_version.prepare(db, "PRAGMA user_version") != SQLITE_OK) {
      return core::unexpected(open_error(db, "cannot read schema version of " + file));
    }
    Use use(read_version);
    if (use.step() == SQLITE_ROW) user_version = sqlite3_column_int(read_version.get(), 0);
  }
  if (user_version > kSchemaVersion) {
    return core::unexpected(AccountStoreError{
        "sqlite: " + file + " has schema version " + std::to_string(user_version) +
        ", newer than this gateway supports (" + std::to_string(kSchemaVersion) + ")"});
  }

  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return core::unexpected(open_error(db, "cannot create schema in " + file));
  }
  if (const char* failed = store->statements_->prepare(db)) {
    return core::unexpected(open_error(db, std::string("cannot prepare ") + failed));
  }
  {
    std::lock_guard lock(store->mutex_);
    if (auto loaded = store->reload_live_hashes(); !loaded) {
      return core::unexpected(std::move(loaded.error()));
    }
  }
  return store;
}

SqliteAccountStore::SqliteAccountStore(sqlite3* db, const core::Clock& clock)
    : db_(db), statements_(std::make_unique<Statements>()), clock_(clock) {}

SqliteAccountStore::~SqliteAccountStore() {
  statements_.reset();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

AccountStoreError SqliteAccountStore::error(std::string_view what) const {
  return open_error(db_, what);
}

AccountResult<bool> SqliteAccountStore::reload_live_hashes() {
  boost::unordered_flat_set<std::string> hashes;
  Use use(statements_->live_hashes);
  for (;;) {
    const int rc = use.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return core::unexpected(error("live key hashes"));
    hashes.insert(use.text(0));
  }
  std::unique_lock write(live_hashes_mutex_);
  live_hashes_.swap(hashes);
  return true;
}

std::int64_t SqliteAccountStore::now_s() const { return core::to_unix_seconds(clock_.now()); }

AccountResult<std::optional<Account>> SqliteAccountStore::get_account(std::string_view id) {
  std::lock_guard lock(mutex_);
  Use use(statements_->get_account);
  if (!use.bind(1, id)) return core::unexpected(error("get_account: bind"));
  const int rc = use.step();
  if (rc == SQLITE_DONE) return std::optional<Account>();
  if (rc != SQLITE_ROW) return core::unexpected(error("get_account"));

  Account account;
  account.id = std::string(id);
  account.plan = use.text(0);
  boost::system::error_code ec;
  auto overrides = boost::json::parse(use.text(1), ec);
  if (ec || !overrides.is_object()) {
    return core::unexpected(
        AccountStoreError{"sqlite: overrides_json of account " + account.id + " is not an object"});
  }
  account.overrides = std::move(overrides.as_object());
  return std::optional<Account>(std::move(account));
}

AccountResult<bool> SqliteAccountStore::put_account(const Account& account) {
  const std::string overrides = boost::json::serialize(account.overrides);
  const std::int64_t now = now_s();

  std::lock_guard lock(mutex_);
  Transaction tx(statements_->rollback);
  if (!tx.begin(statements_->begin)) return core::unexpected(error("put_account: begin"));

  bool exists = false;
  {
    Use use(statements_->get_account);
    if (!use.bind(1, account.id)) return core::unexpected(error("put_account: bind"));
    const int rc = use.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return core::unexpected(error("put_account"));
    exists = rc == SQLITE_ROW;
  }
  {
    Use use(exists ? statements_->update_account : statements_->insert_account);
    if (!use.bind(1, account.id) || !use.bind(2, account.plan) || !use.bind(3, overrides) ||
        !use.bind(4, now)) {
      return core::unexpected(error("put_account: bind"));
    }
    if (use.step() != SQLITE_DONE) return core::unexpected(error("put_account"));
  }
  if (!tx.commit(statements_->commit)) return core::unexpected(error("put_account: commit"));
  bump_version();
  return !exists;
}

AccountResult<bool> SqliteAccountStore::delete_account(std::string_view id) {
  const std::int64_t now = now_s();

  std::lock_guard lock(mutex_);
  Transaction tx(statements_->rollback);
  if (!tx.begin(statements_->begin)) return core::unexpected(error("delete_account: begin"));
  {
    Use use(statements_->revoke_account_keys);
    if (!use.bind(1, id) || !use.bind(2, now)) {
      return core::unexpected(error("delete_account: bind"));
    }
    if (use.step() != SQLITE_DONE) return core::unexpected(error("delete_account: revoke keys"));
  }
  {
    Use use(statements_->delete_account);
    if (!use.bind(1, id)) return core::unexpected(error("delete_account: bind"));
    if (use.step() != SQLITE_DONE) return core::unexpected(error("delete_account"));
  }
  const bool deleted = sqlite3_changes(db_) > 0;
  if (!tx.commit(statements_->commit)) return core::unexpected(error("delete_account: commit"));
  if (auto reloaded = reload_live_hashes(); !reloaded) return core::unexpected(reloaded.error());
  // Keys of an unknown account are revoked too (none can be found anyway), but only a
  // deleted account is a change worth announcing.
  if (deleted) bump_version();
  return deleted;
}

AccountResult<std::vector<ApiKeyRecord>> SqliteAccountStore::list_keys(
    std::string_view account_id) {
  std::lock_guard lock(mutex_);
  Use use(statements_->list_keys);
  if (!use.bind(1, account_id)) return core::unexpected(error("list_keys: bind"));
  std::vector<ApiKeyRecord> keys;
  for (;;) {
    const int rc = use.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return core::unexpected(error("list_keys"));
    keys.push_back({.key_id = use.text(0),
                    .account_id = std::string(account_id),
                    .environment = environment_named(use.text(1))});
  }
  return keys;
}

AccountResult<CreatedKey> SqliteAccountStore::create_key(std::string_view account_id,
                                                         KeyEnvironment environment) {
  // Secrets are made outside the lock: RAND_bytes and SHA-256 need no shared state.
  CreatedKey created;
  created.record.account_id = std::string(account_id);
  created.record.environment = environment;
  auto material = generate_key_material(environment);
  if (!material) {
    return core::unexpected(AccountStoreError{"create_key: the random generator failed"});
  }
  created.key = std::move(material->key);
  created.record.key_id = std::move(material->key_id);
  const std::string hash = sha256_hex(created.key);
  const std::int64_t now = now_s();

  std::lock_guard lock(mutex_);
  Transaction tx(statements_->rollback);
  if (!tx.begin(statements_->begin)) return core::unexpected(error("create_key: begin"));
  {
    Use use(statements_->get_account);
    if (!use.bind(1, account_id)) return core::unexpected(error("create_key: bind"));
    const int rc = use.step();
    if (rc == SQLITE_DONE) {
      return core::unexpected(
          AccountStoreError{"create_key: unknown account " + created.record.account_id});
    }
    if (rc != SQLITE_ROW) return core::unexpected(error("create_key"));
  }
  {
    Use use(statements_->insert_key);
    if (!use.bind(1, created.record.key_id) || !use.bind(2, account_id) ||
        !use.bind(3, environment_name(environment)) || !use.bind(4, hash) || !use.bind(5, now)) {
      return core::unexpected(error("create_key: bind"));
    }
    // A collision of 96-bit ids or 256-bit secrets is not a case worth a retry loop: it
    // fails the request (the constraint message names columns, never values).
    if (use.step() != SQLITE_DONE) return core::unexpected(error("create_key"));
  }
  if (!tx.commit(statements_->commit)) return core::unexpected(error("create_key: commit"));
  {
    std::unique_lock write(live_hashes_mutex_);
    live_hashes_.insert(hash);
  }
  bump_version();
  return created;
}

AccountResult<bool> SqliteAccountStore::revoke_key(std::string_view key_id) {
  const std::int64_t now = now_s();
  std::lock_guard lock(mutex_);
  Use use(statements_->revoke_key);
  if (!use.bind(1, key_id) || !use.bind(2, now)) {
    return core::unexpected(error("revoke_key: bind"));
  }
  if (use.step() != SQLITE_DONE) return core::unexpected(error("revoke_key"));
  const bool revoked = sqlite3_changes(db_) > 0;
  if (revoked) {
    if (auto reloaded = reload_live_hashes(); !reloaded) return core::unexpected(reloaded.error());
    bump_version();
  }
  return revoked;
}

AccountResult<std::optional<ApiKeyRecord>> SqliteAccountStore::find_key(
    std::string_view plain_key) {
  // Anything without a key prefix cannot be one of ours: no hash, no lock.
  if (!looks_like_api_key(plain_key)) {
    return std::optional<ApiKeyRecord>();
  }
  const std::string hash = sha256_hex(plain_key);
  {
    std::shared_lock read(live_hashes_mutex_);
    if (!live_hashes_.contains(hash)) return std::optional<ApiKeyRecord>();
  }

  std::lock_guard lock(mutex_);
  Use use(statements_->find_key);
  if (!use.bind(1, hash)) return core::unexpected(error("find_key: bind"));
  const int rc = use.step();
  if (rc == SQLITE_DONE) return std::optional<ApiKeyRecord>();
  if (rc != SQLITE_ROW) return core::unexpected(error("find_key"));
  return std::optional<ApiKeyRecord>(ApiKeyRecord{.key_id = use.text(0),
                                                  .account_id = use.text(1),
                                                  .environment = environment_named(use.text(2))});
}

}  // namespace gw::store

// What only MemorySessionStore does: persistence to the SQLite file (restart, coarse
// renewals, the shared accounts file, failed writes), sweeping, sharding, a session id bound
// in two subjects, decisions made at the call. The SessionStore contract it shares with
// the Redis store is memory_session_store_contract_test.cpp
// (store/testing/session_store_contract.h).
#include "store/memory/memory_session_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <optional>
#include <string>

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using core::UnixNanos;

constexpr UnixNanos kT0 = 1'700'000'000s;
constexpr std::chrono::seconds kLease = 100s;
constexpr std::string_view kLive = "acct_1:live";
constexpr std::string_view kTest = "acct_1:test";

std::unique_ptr<MemorySessionStore> open_memory(std::size_t shards = 64) {
  auto store = MemorySessionStore::open(":memory:", kT0, shards);
  EXPECT_TRUE(store.has_value()) << (store ? "" : store.error());
  return std::move(store).value();
}

// A fresh database file in the temp directory, removed (with its WAL files) at the end.
class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("gw_sessions_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)) /
             "accounts.db")
                .string();
  }
  ~TempDb() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path(), ec);
  }
  const std::string& path() const { return path_; }

  // Runs `sql` on a connection of its own; returns the first column of the last row.
  std::string exec(const std::string& sql) const {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::string last;
    char* err = nullptr;
    const int rc = sqlite3_exec(
        db, sql.c_str(),
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &last, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    return last;
  }

 private:
  std::string path_;
};

SlotGrant acquire(MemorySessionStore& store, std::string_view subject,
                  std::optional<std::int64_t> limit, UnixNanos now = kT0,
                  std::chrono::seconds lease = kLease) {
  auto grant = store.acquire_now(subject, "acct_1", limit, now, lease);
  EXPECT_TRUE(grant.has_value());
  return grant ? *grant : SlotGrant{};
}

bool ok_true(const SessionOutcome<bool>& outcome) { return outcome.has_value() && *outcome; }
bool ok_false(const SessionOutcome<bool>& outcome) { return outcome.has_value() && !*outcome; }

std::int64_t active(MemorySessionStore& store, std::string_view subject, UnixNanos now = kT0) {
  auto listing = store.list_now(subject, now);
  EXPECT_TRUE(listing.has_value());
  return listing ? listing->active : -1;
}

// Reserves and binds one session; the slot is held afterwards.
void create_session(MemorySessionStore& store, std::string_view subject,
                    std::string_view session_id, UnixNanos now = kT0,
                    std::optional<std::int64_t> limit = std::nullopt) {
  const SlotGrant grant = acquire(store, subject, limit, now);
  ASSERT_TRUE(grant.acquired);
  ASSERT_TRUE(ok_true(store.bind_now(subject, grant.reservation, session_id, now, kLease)));
}

TEST(MemorySessionStore, DuplicateSessionIdOfAnotherSubjectStaysWithTheFirst) {
  // One shard as well as many: the two subjects may share a lock or not.
  for (std::size_t shards : {1u, 64u}) {
    auto store = open_memory(shards);
    create_session(*store, kLive, "sess_1");
    const SlotGrant other = acquire(*store, "acct_2:live", 5);
    ASSERT_TRUE(other.acquired);
    EXPECT_TRUE(ok_false(store->bind_now("acct_2:live", other.reservation, "sess_1", kT0, kLease)));
    EXPECT_EQ(active(*store, "acct_2:live"), 0);  // the reservation was given back
    EXPECT_EQ((*store->find_now("sess_1", kT0))->subject, kLive);
    EXPECT_EQ(store->slot_count(), 1u);
  }
}

TEST(MemorySessionStore, SweepFreesExpiredSlotsOfEverySubject) {
  TempDb file;
  {
    auto store = MemorySessionStore::open(file.path(), kT0).value();
    for (int i = 0; i < 10; ++i) {
      create_session(*store, "acct_" + std::to_string(i) + ":live", "old_" + std::to_string(i),
                     kT0);
      create_session(*store, "acct_" + std::to_string(i) + ":live", "new_" + std::to_string(i),
                     kT0 + 50s);
    }
    ASSERT_TRUE(acquire(*store, kLive, std::nullopt, kT0).acquired);  // a reservation expires too
    EXPECT_EQ(store->sweep(kT0 + kLease - 1ns), 0u);
    EXPECT_EQ(store->sweep(kT0 + kLease), 11u);
    EXPECT_EQ(store->slot_count(), 10u);
    EXPECT_EQ(store->sweep(kT0 + kLease), 0u);
    EXPECT_EQ(file.exec("SELECT count(*) FROM session_slots"), "10");
    EXPECT_EQ(store->sweep(kT0 + 50s + kLease), 10u);
    EXPECT_EQ(store->slot_count(), 0u);
  }
  EXPECT_EQ(file.exec("SELECT count(*) FROM session_slots"), "0");
}

TEST(MemorySessionStore, BoundSlotsSurviveARestart) {
  TempDb file;
  {
    auto store = MemorySessionStore::open(file.path(), kT0);
    ASSERT_TRUE(store.has_value()) << store.error();
    create_session(**store, kLive, "sess_1", kT0);
    create_session(**store, kLive, "sess_2", kT0 + 60s);
    create_session(**store, kTest, "sess_3", kT0 + 60s);
    create_session(**store, kLive, "sess_gone", kT0);
    ASSERT_TRUE(ok_true((*store)->release_now(kLive, "sess_gone")));
    ASSERT_TRUE(acquire(**store, kLive, std::nullopt, kT0 + 60s).acquired);  // in flight
  }
  {
    // sess_1's lease ended at kT0 + 100 s: dropped at open; the reservation died with
    // the process that could bind it.
    auto store = MemorySessionStore::open(file.path(), kT0 + kLease).value();
    EXPECT_EQ(store->slot_count(), 2u);
    EXPECT_FALSE(store->find_now("sess_1", kT0 + kLease)->has_value());
    EXPECT_FALSE(store->find_now("sess_gone", kT0 + kLease)->has_value());
    auto found = store->find_now("sess_2", kT0 + kLease);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->subject, kLive);
    EXPECT_EQ((*found)->account_id, "acct_1");
    EXPECT_EQ((*found)->created, kT0 + 60s);
    EXPECT_EQ((*found)->lease_expires, kT0 + 160s);
    EXPECT_EQ(active(*store, kLive, kT0 + kLease), 1);
    EXPECT_EQ(active(*store, kTest, kT0 + kLease), 1);
    EXPECT_FALSE(acquire(*store, kLive, 1, kT0 + kLease).acquired);
    // And they are fully usable: ended, they stay ended.
    EXPECT_TRUE(ok_true(store->release_now(kLive, "sess_2")));
  }
  auto store = MemorySessionStore::open(file.path(), kT0 + kLease).value();
  EXPECT_EQ(store->slot_count(), 1u);
  EXPECT_TRUE(store->find_now("sess_3", kT0 + kLease)->has_value());
  EXPECT_EQ(file.exec("SELECT count(*) FROM session_slots"), "1");
}

TEST(MemorySessionStore, RenewalsArePersistedCoarsely) {
  TempDb file;
  {
    auto store = MemorySessionStore::open(file.path(), kT0).value();
    create_session(*store, kLive, "sess_1", kT0);  // lease to kT0 + 100 s
    // Moves of up to min(60 s, lease / 4) = 25 s stay in memory...
    ASSERT_TRUE(ok_true(store->renew_now("sess_1", kT0 + 25s, kLease)));
    EXPECT_EQ(file.exec("SELECT lease_expires_ns FROM session_slots"),
              std::to_string((kT0 + kLease).count()));
    // ...larger ones are written.
    ASSERT_TRUE(ok_true(store->renew_now("sess_1", kT0 + 26s, kLease)));
    EXPECT_EQ(file.exec("SELECT lease_expires_ns FROM session_slots"),
              std::to_string((kT0 + 126s).count()));
    EXPECT_EQ((*store->find_now("sess_1", kT0 + 26s))->lease_expires, kT0 + 126s);
  }
  auto store = MemorySessionStore::open(file.path(), kT0 + 125s).value();
  EXPECT_EQ((*store->find_now("sess_1", kT0 + 125s))->lease_expires, kT0 + 126s);
}

TEST(MemorySessionStore, SharesTheAccountsFileWithoutTouchingItsSchemaVersion) {
  TempDb file;
  std::filesystem::create_directories(std::filesystem::path(file.path()).parent_path());
  file.exec("CREATE TABLE accounts (id TEXT PRIMARY KEY); PRAGMA user_version = 1;");
  {
    auto store = MemorySessionStore::open(file.path(), kT0);
    ASSERT_TRUE(store.has_value()) << store.error();
    create_session(**store, kLive, "sess_1");
  }
  EXPECT_EQ(file.exec("PRAGMA user_version"), "1");
  EXPECT_EQ(file.exec("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(file.exec("SELECT count(*) FROM accounts"), "0");
  EXPECT_EQ(file.exec("SELECT session_id FROM session_slots"), "sess_1");
}

TEST(MemorySessionStore, OpenReportsAnUnusablePath) {
  TempDb file;
  std::filesystem::create_directories(file.path());  // a directory where the file should be
  auto store = MemorySessionStore::open(file.path(), kT0);
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().find("sqlite"), std::string::npos);
}

TEST(MemorySessionStore, AFailedWriteChangesNothing) {
  TempDb file;
  auto store = MemorySessionStore::open(file.path(), kT0).value();
  create_session(*store, kLive, "sess_1");
  const SlotGrant grant = acquire(*store, kLive, 5);
  ASSERT_TRUE(grant.acquired);

  file.exec("DROP TABLE session_slots");  // every write from now on fails
  auto bound = store->bind_now(kLive, grant.reservation, "sess_2", kT0, kLease);
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, StoreErrc::unavailable);
  EXPECT_FALSE(bound.error().transient);
  EXPECT_NE(bound.error().detail.find("session_slots"), std::string::npos);
  EXPECT_FALSE(store->find_now("sess_2", kT0)->has_value());
  EXPECT_FALSE(store->release_now(kLive, "sess_1").has_value());
  EXPECT_TRUE(store->find_now("sess_1", kT0)->has_value());
  EXPECT_FALSE(store->list_now(kLive, kT0 + kLease).has_value());  // expired ones can't go
  EXPECT_EQ(store->sweep(kT0 + kLease), 0u);
  EXPECT_EQ(store->slot_count(), 2u);

  // Memory matches the table again once it is back: the reservation can still be bound.
  file.exec(
      "CREATE TABLE session_slots (session_id TEXT PRIMARY KEY NOT NULL, subject TEXT NOT NULL,"
      " account_id TEXT NOT NULL, created_ns INTEGER NOT NULL, lease_expires_ns INTEGER NOT NULL)"
      " WITHOUT ROWID");
  EXPECT_TRUE(ok_true(store->bind_now(kLive, grant.reservation, "sess_2", kT0, kLease)));
  EXPECT_EQ(active(*store, kLive), 2);
  EXPECT_EQ(file.exec("SELECT session_id FROM session_slots"), "sess_2");
}

// The SessionStore methods decide when they are called (their completions only carry the
// answer): the slot is taken before the loop has run anything, and calls are decided in
// call order.
TEST(MemorySessionStore, DecidesAtTheCallInCallOrder) {
  auto store = open_memory();
  boost::asio::io_context ioc;
  auto ex = ioc.get_executor();
  std::optional<SessionOutcome<SlotGrant>> grant;
  std::optional<SessionOutcome<SlotGrant>> refused;
  store->acquire(kLive, "acct_1", 1, kT0, kLease, ex,
                 [&](SessionOutcome<SlotGrant> o) { grant = std::move(o); });
  store->acquire(kLive, "acct_1", 1, kT0, kLease, ex,
                 [&](SessionOutcome<SlotGrant> o) { refused = std::move(o); });
  EXPECT_EQ(store->slot_count(), 1u);
  EXPECT_FALSE(grant || refused);
  EXPECT_EQ(ioc.run(), 2u);
  ASSERT_TRUE(grant && grant->has_value() && refused && refused->has_value());
  EXPECT_TRUE((*grant)->acquired);
  EXPECT_FALSE((*refused)->acquired);

  // bind then renew, issued back to back: the renewal sees the bound session.
  std::optional<SessionOutcome<bool>> bound;
  std::optional<SessionOutcome<bool>> renewed;
  store->bind(kLive, (*grant)->reservation, "sess_1", kT0, kLease, ex,
              [&](SessionOutcome<bool> o) { bound = o; });
  store->renew("sess_1", kT0 + 50s, kLease, ex, [&](SessionOutcome<bool> o) { renewed = o; });
  EXPECT_EQ((*store->find_now("sess_1", kT0 + 50s))->lease_expires, kT0 + 150s);
  ioc.restart();
  EXPECT_EQ(ioc.run(), 2u);
  EXPECT_TRUE(bound && ok_true(*bound) && renewed && ok_true(*renewed));
}

}  // namespace
}  // namespace gw::store

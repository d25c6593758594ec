#include "store/memory/memory_session_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

TEST(MemorySessionStore, LimitsEachSubjectApart) {
  auto store = open_memory();
  SlotGrant first = acquire(*store, kLive, 2);
  EXPECT_TRUE(first.acquired);
  EXPECT_EQ(first.active, 1);
  EXPECT_EQ(first.limit, 2);
  EXPECT_FALSE(first.reservation.empty());
  SlotGrant second = acquire(*store, kLive, 2);
  EXPECT_TRUE(second.acquired);
  EXPECT_EQ(second.active, 2);
  EXPECT_NE(first.reservation, second.reservation);

  SlotGrant refused = acquire(*store, kLive, 2);
  EXPECT_FALSE(refused.acquired);
  EXPECT_TRUE(refused.reservation.empty());
  EXPECT_EQ(refused.active, 2);
  EXPECT_EQ(refused.limit, 2);

  // The test environment of the same account, and another account, count apart.
  EXPECT_TRUE(acquire(*store, kTest, 2).acquired);
  EXPECT_TRUE(acquire(*store, "acct_2:live", 1).acquired);
  EXPECT_FALSE(acquire(*store, "acct_2:live", 1).acquired);
  EXPECT_EQ(store->slot_count(), 4u);

  // A raised limit admits again at once.
  EXPECT_TRUE(acquire(*store, kLive, 3).acquired);
}

TEST(MemorySessionStore, UnlimitedIsStillCounted) {
  auto store = open_memory();
  for (std::int64_t i = 1; i <= 100; ++i) {
    const SlotGrant grant = acquire(*store, kLive, std::nullopt);
    ASSERT_TRUE(grant.acquired);
    EXPECT_EQ(grant.active, i);
    EXPECT_FALSE(grant.limit.has_value());
  }
  EXPECT_EQ(active(*store, kLive), 100);
  // Back under a limit, the slots already held count.
  EXPECT_FALSE(acquire(*store, kLive, 50).acquired);
}

TEST(MemorySessionStore, ZeroMeansNoSessions) {
  auto store = open_memory();
  for (std::int64_t limit : {0, -1}) {
    const SlotGrant grant = acquire(*store, kLive, limit);
    EXPECT_FALSE(grant.acquired);
    EXPECT_EQ(grant.active, 0);
  }
  EXPECT_EQ(store->slot_count(), 0u);
}

TEST(MemorySessionStore, ReserveBindRelease) {
  auto store = open_memory();
  const SlotGrant grant = acquire(*store, kLive, 1);
  ASSERT_TRUE(grant.acquired);

  // A reservation is held but not listed as a session.
  auto listing = store->list_now(kLive, kT0);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 1);
  EXPECT_TRUE(listing->sessions.empty());
  EXPECT_FALSE(store->find_now("sess_1", kT0)->has_value());

  ASSERT_TRUE(ok_true(store->bind_now(kLive, grant.reservation, "sess_1", kT0 + 5s, kLease)));
  auto found = store->find_now("sess_1", kT0 + 6s);
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->session_id, "sess_1");
  EXPECT_EQ((*found)->subject, kLive);
  EXPECT_EQ((*found)->account_id, "acct_1");
  EXPECT_EQ((*found)->created, kT0);  // when the slot was taken
  EXPECT_EQ((*found)->lease_expires, kT0 + 5s + kLease);
  EXPECT_EQ(active(*store, kLive), 1);
  EXPECT_FALSE(acquire(*store, kLive, 1).acquired);

  // The reservation is consumed by bind.
  EXPECT_TRUE(ok_false(store->bind_now(kLive, grant.reservation, "sess_2", kT0, kLease)));
  EXPECT_TRUE(ok_false(store->cancel_now(kLive, grant.reservation)));
  EXPECT_EQ(active(*store, kLive), 1);

  EXPECT_TRUE(ok_true(store->release_now(kLive, "sess_1")));
  EXPECT_EQ(active(*store, kLive), 0);
  EXPECT_FALSE(store->find_now("sess_1", kT0)->has_value());
  EXPECT_TRUE(acquire(*store, kLive, 1).acquired);
}

TEST(MemorySessionStore, CancelGivesTheReservationBack) {
  auto store = open_memory();
  const SlotGrant grant = acquire(*store, kLive, 1);
  ASSERT_TRUE(grant.acquired);
  EXPECT_TRUE(ok_false(store->cancel_now(kTest, grant.reservation)));  // another subject's
  EXPECT_TRUE(ok_true(store->cancel_now(kLive, grant.reservation)));
  EXPECT_TRUE(ok_false(store->cancel_now(kLive, grant.reservation)));  // idempotent
  EXPECT_EQ(store->slot_count(), 0u);
  EXPECT_TRUE(ok_false(store->bind_now(kLive, grant.reservation, "sess_1", kT0, kLease)));
  EXPECT_TRUE(acquire(*store, kLive, 1).acquired);
}

TEST(MemorySessionStore, BindRefusesUnknownReservations) {
  auto store = open_memory();
  const SlotGrant grant = acquire(*store, kLive, 5);
  for (std::string_view bad : {"", "rsv_", "rsv_x", "rsv_99999", "99", "rsv_1 "}) {
    EXPECT_TRUE(ok_false(store->bind_now(kLive, bad, "sess_1", kT0, kLease))) << bad;
    EXPECT_TRUE(ok_false(store->cancel_now(kLive, bad))) << bad;
  }
  EXPECT_TRUE(ok_false(store->bind_now(kTest, grant.reservation, "sess_1", kT0, kLease)));
  // An empty session id binds nothing and keeps the reservation for a cancel().
  EXPECT_TRUE(ok_false(store->bind_now(kLive, grant.reservation, "", kT0, kLease)));
  EXPECT_EQ(active(*store, kLive), 1);
  EXPECT_TRUE(ok_true(store->cancel_now(kLive, grant.reservation)));
}

TEST(MemorySessionStore, ReleaseIsIdempotentAndPerSubject) {
  auto store = open_memory();
  create_session(*store, kLive, "sess_1");
  create_session(*store, kLive, "sess_2");
  EXPECT_TRUE(ok_false(store->release_now(kTest, "sess_1")));  // another subject's: kept
  EXPECT_TRUE(ok_false(store->release_now("acct_2:live", "sess_1")));
  EXPECT_TRUE(ok_false(store->release_now(kLive, "sess_unknown")));
  EXPECT_EQ(active(*store, kLive), 2);

  EXPECT_TRUE(ok_true(store->release_now(kLive, "sess_1")));
  EXPECT_TRUE(ok_false(store->release_now(kLive, "sess_1")));  // ending twice frees one
  EXPECT_EQ(active(*store, kLive), 1);
  EXPECT_TRUE(store->find_now("sess_2", kT0)->has_value());
}

TEST(MemorySessionStore, DuplicateSessionIdInTheSameSubjectKeepsOneSlot) {
  auto store = open_memory();
  create_session(*store, kLive, "sess_1");
  const SlotGrant again = acquire(*store, kLive, 5, kT0 + 10s);
  ASSERT_TRUE(again.acquired);
  EXPECT_EQ(again.active, 2);
  EXPECT_TRUE(ok_true(store->bind_now(kLive, again.reservation, "sess_1", kT0 + 10s, kLease)));
  EXPECT_EQ(active(*store, kLive), 1);
  auto found = store->find_now("sess_1", kT0 + 10s);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->created, kT0);                       // the slot that stayed
  EXPECT_EQ((*found)->lease_expires, kT0 + 10s + kLease);  // with a fresh lease
  EXPECT_TRUE(ok_true(store->release_now(kLive, "sess_1")));
  EXPECT_EQ(store->slot_count(), 0u);
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

TEST(MemorySessionStore, LeaseRunsOutExactlyAtItsEnd) {
  auto store = open_memory();
  create_session(*store, kLive, "sess_1", kT0);
  const SlotGrant reserved = acquire(*store, kLive, 2, kT0);
  ASSERT_TRUE(reserved.acquired);
  const UnixNanos end = kT0 + kLease;

  // One nanosecond before the end both slots are held.
  EXPECT_TRUE(store->find_now("sess_1", end - 1ns)->has_value());
  EXPECT_FALSE(acquire(*store, kLive, 2, end - 1ns).acquired);
  EXPECT_EQ(active(*store, kLive, end - 1ns), 2);

  // At the end they are free: lease_expires <= now.
  EXPECT_FALSE(store->find_now("sess_1", end)->has_value());
  EXPECT_TRUE(ok_false(store->renew_now("sess_1", end, kLease)));
  const SlotGrant after = acquire(*store, kLive, 2, end);
  EXPECT_TRUE(after.acquired);
  EXPECT_EQ(after.active, 1);  // both old slots freed, the new one held
  EXPECT_TRUE(ok_false(store->bind_now(kLive, reserved.reservation, "sess_2", end, kLease)));
  EXPECT_TRUE(ok_false(store->release_now(kLive, "sess_1")));
  EXPECT_EQ(store->slot_count(), 1u);
}

TEST(MemorySessionStore, ReservationThatExpiredCannotBeBound) {
  auto store = open_memory();
  const SlotGrant grant = acquire(*store, kLive, 1, kT0, 10s);
  ASSERT_TRUE(grant.acquired);
  EXPECT_TRUE(ok_false(store->bind_now(kLive, grant.reservation, "sess_1", kT0 + 10s, kLease)));
  EXPECT_EQ(store->slot_count(), 0u);
  EXPECT_FALSE(store->find_now("sess_1", kT0 + 10s)->has_value());
}

TEST(MemorySessionStore, RenewExtendsTheLease) {
  auto store = open_memory();
  create_session(*store, kLive, "sess_1", kT0);
  EXPECT_TRUE(ok_true(store->renew_now("sess_1", kT0 + 90s, kLease)));
  EXPECT_EQ((*store->find_now("sess_1", kT0 + 90s))->lease_expires, kT0 + 190s);
  // Held past the original end, free at the new one.
  EXPECT_EQ(active(*store, kLive, kT0 + 189s), 1);
  EXPECT_FALSE(acquire(*store, kLive, 1, kT0 + 189s).acquired);
  EXPECT_TRUE(acquire(*store, kLive, 1, kT0 + 190s).acquired);
  EXPECT_TRUE(ok_false(store->renew_now("sess_unknown", kT0, kLease)));
}

TEST(MemorySessionStore, ListShowsBoundSessionsOldestFirst) {
  auto store = open_memory();
  create_session(*store, kLive, "sess_b", kT0 + 2s);
  create_session(*store, kLive, "sess_c", kT0 + 1s);
  create_session(*store, kLive, "sess_a", kT0 + 2s);
  create_session(*store, kTest, "sess_t", kT0);
  ASSERT_TRUE(acquire(*store, kLive, std::nullopt, kT0 + 3s).acquired);  // reserved only

  auto listing = store->list_now(kLive, kT0 + 3s);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 4);
  std::vector<std::string> ids;
  for (const auto& s : listing->sessions) {
    ids.push_back(s.session_id);
    EXPECT_EQ(s.subject, kLive);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"sess_c", "sess_a", "sess_b"}));
  EXPECT_EQ(store->list_now("nobody:live", kT0)->active, 0);
  EXPECT_TRUE(store->list_now("nobody:live", kT0)->sessions.empty());
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

TEST(MemorySessionStore, ExactAdmissionUnderConcurrency) {
  auto store = open_memory();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  constexpr std::int64_t kLimit = 37;
  std::atomic<int> acquired{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        auto grant = store->acquire_now(kLive, "acct_1", kLimit, kT0, kLease);
        if (grant && grant->acquired) acquired.fetch_add(1);
        // Other subjects on other shards go on meanwhile.
        (void)store->acquire_now("acct_2:live", "acct_2", std::nullopt, kT0, kLease);
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(acquired.load(), kLimit);
  EXPECT_EQ(active(*store, kLive), kLimit);
  EXPECT_EQ(active(*store, "acct_2:live"), kThreads * kPerThread);
}

TEST(MemorySessionStore, ChurnUnderConcurrencyNeverExceedsTheLimit) {
  TempDb file;
  auto store = MemorySessionStore::open(file.path(), kT0, 4).value();
  constexpr int kThreads = 8;
  constexpr std::int64_t kLimit = 3;
  std::atomic<std::int64_t> max_seen{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        auto grant = store->acquire_now(kLive, "acct_1", kLimit, kT0, kLease);
        if (!grant) {
          ++failures;
          continue;
        }
        if (!grant->acquired) continue;
        std::int64_t seen = max_seen.load();
        while (grant->active > seen && !max_seen.compare_exchange_weak(seen, grant->active)) {
        }
        const std::string id = "s_" + std::to_string(t) + "_" + std::to_string(i);
        if (i % 3 == 0) {
          if (!ok_true(store->cancel_now(kLive, grant->reservation))) ++failures;
          continue;
        }
        if (!ok_true(store->bind_now(kLive, grant->reservation, id, kT0, kLease))) ++failures;
        auto found = store->find_now(id, kT0);
        if (!found || !found->has_value()) ++failures;
        if (!ok_true(store->renew_now(id, kT0 + 30s, kLease))) ++failures;
        if (!ok_true(store->release_now(kLive, id))) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_seen.load(), kLimit);
  EXPECT_EQ(store->slot_count(), 0u);
  EXPECT_EQ(file.exec("SELECT count(*) FROM session_slots"), "0");
}

TEST(MemorySessionStore, CompletionsArePostedNeverInline) {
  auto store = open_memory();
  boost::asio::io_context ioc;
  auto ex = ioc.get_executor();
  std::optional<SessionOutcome<SlotGrant>> grant;
  std::optional<SessionOutcome<SlotGrant>> refused;
  bool ran_in_ioc = false;
  store->acquire(kLive, "acct_1", 1, kT0, kLease, ex, [&](SessionOutcome<SlotGrant> o) {
    ran_in_ioc = ioc.get_executor().running_in_this_thread();
    grant = std::move(o);
  });
  store->acquire(kLive, "acct_1", 1, kT0, kLease, ex,
                 [&](SessionOutcome<SlotGrant> o) { refused = std::move(o); });
  EXPECT_FALSE(grant.has_value());  // not inline, although the slot is already taken
  EXPECT_FALSE(refused.has_value());
  EXPECT_EQ(store->slot_count(), 1u);
  EXPECT_EQ(ioc.run(), 2u);
  ASSERT_TRUE(grant && grant->has_value() && refused && refused->has_value());
  EXPECT_TRUE(ran_in_ioc);
  EXPECT_TRUE((*grant)->acquired);
  EXPECT_FALSE((*refused)->acquired);

  int calls = 0;
  std::optional<SessionOutcome<std::optional<SessionRecord>>> found;
  std::optional<SessionOutcome<SessionStore::Listing>> listing;
  auto count = [&](SessionOutcome<bool> o) {
    EXPECT_TRUE(o.has_value() && *o);
    ++calls;
  };
  store->bind(kLive, (*grant)->reservation, "sess_1", kT0, kLease, ex, count);
  store->renew("sess_1", kT0 + 50s, kLease, ex, count);
  store->find("sess_1", kT0 + 50s, ex,
              [&](SessionOutcome<std::optional<SessionRecord>> o) { found = std::move(o); });
  store->list(kLive, kT0 + 50s, ex,
              [&](SessionOutcome<SessionStore::Listing> o) { listing = std::move(o); });
  store->release(kLive, "sess_1", ex, count);
  const SlotGrant second = acquire(*store, kLive, 1);
  store->cancel(kLive, second.reservation, ex, count);
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(found.has_value());
  EXPECT_FALSE(listing.has_value());
  ioc.restart();
  EXPECT_EQ(ioc.run(), 6u);
  EXPECT_EQ(calls, 4);
  ASSERT_TRUE(found && found->has_value() && (*found)->has_value());
  EXPECT_EQ((**found)->lease_expires, kT0 + 150s);
  ASSERT_TRUE(listing && listing->has_value());
  EXPECT_EQ((*listing)->sessions.size(), 1u);
}

}  // namespace
}  // namespace gw::store

// The SessionStore contract (store/session_store.h) as one GoogleTest suite that every
// backend runs: a type-parameterized suite, instantiated in each backend's test target with
// a SessionStoreBackend that makes a fresh store (MemorySessionStore on a temporary SQLite
// file; RedisSessionStore on a fresh redis-server, with the caller's time and with Redis's).
//
// What the contract holds beyond the interface's text, because every backend documents
// it alike: a limit <= 0 admits nothing; bind() consumes its reservation, and binding a
// session id already bound in the same subject keeps one slot with a fresh lease; an empty
// session id binds nothing; cancel() frees only an unbound reservation; release() frees
// whatever its lease says; list() is oldest first; a store whose slots were all given back
// holds nothing (no slot, row or key left behind).
// Semantics the backends do not share stay in their own tests (a session id bound in two
// subjects, persistence, sweeping, the Redis keys' TTLs).
//
// Time: the cases pass explicit times (kT0 + ...). A caller-clocked store (Memory,
// RedisSessionStore with Time::caller) decides with them, to its resolution (1 ns; Redis
// keeps milliseconds); a store-clocked one (Time::redis, the default) ignores them and
// uses Redis's clock: there a case shows that the caller's time decides nothing (a lease
// the caller's clock sees ended is still held) and checks reported times against the
// store's clock read around the call.
//
// Thread-safety: a fixture is used by its test's thread (and the threads a case starts).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/fake_clock.h"
#include "store/session_store.h"
#include "store/testing/contract_support.h"

namespace gw::store::contract {

// A backend under test: a fresh, empty store of its kind, and what the suite needs to look
// at it from outside the interface. Implementations are constructed from the test's
// FakeClock (`explicit Backend(core::FakeClock&)`; it reads kT0) and own what the store needs.
class SessionStoreBackend {
 public:
  virtual ~SessionStoreBackend() = default;
  virtual SessionStore& store() = 0;
  // A running event loop of the backend's: completions are posted there.
  virtual boost::asio::any_io_executor executor() = 0;
  virtual Clocking clocking() const = 0;
  // Clocking::store only: the store's clock now (Unix nanoseconds).
  virtual core::UnixNanos store_time() = 0;
  // The finest time the store keeps: a lease held at its end minus this is still held.
  virtual core::UnixNanos resolution() const = 0;
  // No slot, record, row or key is left anywhere.
  virtual bool holds_nothing() = 0;
};

namespace session_contract {

using namespace std::chrono_literals;
using core::UnixNanos;

inline constexpr UnixNanos kT0 = 1'700'000'000s;
inline constexpr std::chrono::seconds kLease = 100s;
inline constexpr std::string_view kLive = "acct_1:live";
inline constexpr std::string_view kTest = "acct_1:test";

inline bool ok_true(const SessionOutcome<bool>& outcome) { return outcome.has_value() && *outcome; }
inline bool ok_false(const SessionOutcome<bool>& outcome) {
  return outcome.has_value() && !*outcome;
}

}  // namespace session_contract

template <typename Backend>
class SessionStoreContract : public ::testing::Test {
  static_assert(std::is_base_of_v<SessionStoreBackend, Backend>);

 protected:
  using UnixNanos = core::UnixNanos;
  static constexpr UnixNanos kT0 = session_contract::kT0;
  static constexpr std::chrono::seconds kLease = session_contract::kLease;

  SessionStore& store() { return backend_.store(); }
  boost::asio::any_io_executor executor() { return backend_.executor(); }

  SessionOutcome<SlotGrant> acquire(std::string_view subject, std::optional<std::int64_t> limit,
                                    UnixNanos now = kT0, std::chrono::seconds lease = kLease) {
    return run<SlotGrant>([&](auto done) {
      store().acquire(subject, "acct_1", limit, now, lease, executor(), std::move(done));
    });
  }
  SessionOutcome<bool> bind(std::string_view subject, std::string_view reservation,
                            std::string_view session_id, UnixNanos now = kT0,
                            std::chrono::seconds lease = kLease) {
    return run<bool>([&](auto done) {
      store().bind(subject, reservation, session_id, now, lease, executor(), std::move(done));
    });
  }
  SessionOutcome<bool> cancel(std::string_view subject, std::string_view reservation) {
    return run<bool>(
        [&](auto done) { store().cancel(subject, reservation, executor(), std::move(done)); });
  }
  SessionOutcome<bool> release(std::string_view subject, std::string_view session_id) {
    return run<bool>(
        [&](auto done) { store().release(subject, session_id, executor(), std::move(done)); });
  }
  SessionOutcome<std::optional<SessionRecord>> find(std::string_view session_id,
                                                    UnixNanos now = kT0) {
    return run<std::optional<SessionRecord>>(
        [&](auto done) { store().find(session_id, now, executor(), std::move(done)); });
  }
  SessionOutcome<bool> renew(std::string_view session_id, UnixNanos now,
                             std::chrono::seconds lease = kLease) {
    return run<bool>(
        [&](auto done) { store().renew(session_id, now, lease, executor(), std::move(done)); });
  }
  SessionOutcome<SessionStore::Listing> list(std::string_view subject, UnixNanos now = kT0) {
    return run<SessionStore::Listing>(
        [&](auto done) { store().list(subject, now, executor(), std::move(done)); });
  }

  // Shorthands for outcomes that must have succeeded.
  SlotGrant granted(std::string_view subject, std::optional<std::int64_t> limit,
                    UnixNanos now = kT0, std::chrono::seconds lease = kLease) {
    auto grant = acquire(subject, limit, now, lease);
    EXPECT_TRUE(grant.has_value()) << (grant ? "" : grant.error().detail);
    return grant ? *grant : SlotGrant{};
  }
  std::int64_t active(std::string_view subject, UnixNanos now = kT0) {
    auto listing = list(subject, now);
    EXPECT_TRUE(listing.has_value()) << (listing ? "" : listing.error().detail);
    return listing ? listing->active : -1;
  }
  std::optional<SessionRecord> found(std::string_view session_id, UnixNanos now = kT0) {
    auto record = find(session_id, now);
    EXPECT_TRUE(record.has_value()) << (record ? "" : record.error().detail);
    return record ? *record : std::nullopt;
  }
  // Reserves and binds one session (no limit); the slot is held afterwards.
  void create_session(std::string_view subject, std::string_view session_id, UnixNanos now = kT0) {
    const SlotGrant grant = granted(subject, std::nullopt, now);
    ASSERT_TRUE(grant.acquired);
    auto bound = bind(subject, grant.reservation, session_id, now);
    ASSERT_TRUE(bound.has_value() && *bound) << (bound ? "false" : bound.error().detail);
  }

  bool caller_clocked() const { return backend_.clocking() == Clocking::caller; }
  // Store-clocked: waits (bounded) until the store's clock has moved one step of its
  // resolution past `t`, so that what is made next is strictly later.
  void wait_for_store_time_past(UnixNanos t) {
    const auto deadline = std::chrono::steady_clock::now() + kCompletionDeadline;
    while (backend_.store_time() < t + backend_.resolution()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the store's clock stands still";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval
    }
  }

  // Issues `start(handler)` while the loop is held and checks the completion was posted to
  // the loop, not run inline; returns it.
  template <typename T, typename Start>
  std::optional<T> posted(Start start) {
    Captured<T> captured;
    {
      LoopHold hold(executor());
      start(captured.handler());
      EXPECT_FALSE(captured.arrived()) << "completed inline";
    }
    auto value = captured.get();
    EXPECT_EQ(captured.thread(), loop_thread_id(executor()));
    return value;
  }

  core::FakeClock clock_{kT0};
  Backend backend_{clock_};

 private:
  template <typename T, typename Start>
  SessionOutcome<T> run(Start start) {
    auto outcome = await<SessionOutcome<T>>(start);
    if (!outcome) return core::unexpected(StoreError{.detail = "no completion"});
    return std::move(*outcome);
  }
};

TYPED_TEST_SUITE_P(SessionStoreContract);

using namespace session_contract;

TYPED_TEST_P(SessionStoreContract, LimitsEachSubjectApart) {
  const SlotGrant first = this->granted(kLive, 2);
  EXPECT_TRUE(first.acquired);
  EXPECT_EQ(first.active, 1);
  EXPECT_EQ(first.limit, 2);
  EXPECT_FALSE(first.reservation.empty());
  const SlotGrant second = this->granted(kLive, 2);
  EXPECT_TRUE(second.acquired);
  EXPECT_EQ(second.active, 2);
  EXPECT_NE(first.reservation, second.reservation);

  const SlotGrant refused = this->granted(kLive, 2);
  EXPECT_FALSE(refused.acquired);
  EXPECT_TRUE(refused.reservation.empty());
  EXPECT_EQ(refused.active, 2);
  EXPECT_EQ(refused.limit, 2);

  // The test environment of the same account, and another account, count apart.
  EXPECT_TRUE(this->granted(kTest, 2).acquired);
  EXPECT_TRUE(this->granted("acct_2:live", 1).acquired);
  EXPECT_FALSE(this->granted("acct_2:live", 1).acquired);
  EXPECT_EQ(this->active(kLive), 2);
  EXPECT_EQ(this->active(kTest), 1);
  EXPECT_EQ(this->active("acct_2:live"), 1);

  // A raised limit admits again at once.
  EXPECT_TRUE(this->granted(kLive, 3).acquired);
}

TYPED_TEST_P(SessionStoreContract, UnlimitedIsStillCounted) {
  for (std::int64_t i = 1; i <= 100; ++i) {
    const SlotGrant grant = this->granted(kLive, std::nullopt);
    ASSERT_TRUE(grant.acquired);
    EXPECT_EQ(grant.active, i);
    EXPECT_FALSE(grant.limit.has_value());
  }
  EXPECT_EQ(this->active(kLive), 100);
  // Back under a limit, the slots already held count.
  EXPECT_FALSE(this->granted(kLive, 50).acquired);
  EXPECT_EQ(this->active(kTest), 0);  // the test environment counts apart
}

TYPED_TEST_P(SessionStoreContract, ALimitOfZeroOrLessAdmitsNothingAndLeavesNothing) {
  for (std::int64_t limit : {0, -1}) {
    const SlotGrant grant = this->granted(kLive, limit);
    EXPECT_FALSE(grant.acquired);
    EXPECT_EQ(grant.active, 0);
    EXPECT_TRUE(grant.reservation.empty());
  }
  EXPECT_EQ(this->active(kLive), 0);
  EXPECT_TRUE(this->backend_.holds_nothing());
}

TYPED_TEST_P(SessionStoreContract, ReserveBindFindRelease) {
  const UnixNanos before = this->caller_clocked() ? kT0 : this->backend_.store_time();
  const SlotGrant grant = this->granted(kLive, 1);
  ASSERT_TRUE(grant.acquired);

  // A reservation is held but not listed as a session, and no stream can find it.
  auto listing = this->list(kLive);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 1);
  EXPECT_TRUE(listing->sessions.empty());
  EXPECT_FALSE(this->found("sess_1"));

  ASSERT_TRUE(ok_true(this->bind(kLive, grant.reservation, "sess_1", kT0 + 5s)));
  const UnixNanos after = this->caller_clocked() ? kT0 + 5s : this->backend_.store_time();
  const auto record = this->found("sess_1", kT0 + 6s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->session_id, "sess_1");
  EXPECT_EQ(record->subject, kLive);
  EXPECT_EQ(record->account_id, "acct_1");
  if (this->caller_clocked()) {
    EXPECT_EQ(record->created, kT0);                      // when the slot was taken
    EXPECT_EQ(record->lease_expires, kT0 + 5s + kLease);  // the lease runs from the bind
  } else {
    // The store's clock, not the `now` passed: reserved, then bound a moment later.
    EXPECT_GE(record->created, before - this->backend_.resolution());
    EXPECT_LE(record->created, after);
    EXPECT_GE(record->lease_expires - record->created, kLease);
    EXPECT_LE(record->lease_expires, after + kLease);
  }
  listing = this->list(kLive);
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->sessions.size(), 1u);
  EXPECT_EQ(listing->sessions[0].session_id, "sess_1");
  EXPECT_EQ(listing->sessions[0].created, record->created);
  EXPECT_EQ(listing->sessions[0].lease_expires, record->lease_expires);
  EXPECT_EQ(this->active(kLive), 1);
  EXPECT_FALSE(this->granted(kLive, 1).acquired);

  // The reservation is consumed by bind.
  EXPECT_TRUE(ok_false(this->bind(kLive, grant.reservation, "sess_2")));
  EXPECT_TRUE(ok_false(this->cancel(kLive, grant.reservation)));
  EXPECT_EQ(this->active(kLive), 1);

  EXPECT_TRUE(ok_true(this->release(kLive, "sess_1")));
  EXPECT_TRUE(ok_false(this->release(kLive, "sess_1")));  // ending twice frees one
  EXPECT_EQ(this->active(kLive), 0);
  EXPECT_FALSE(this->found("sess_1"));
  EXPECT_TRUE(this->backend_.holds_nothing());
  EXPECT_TRUE(this->granted(kLive, 1).acquired);
}

TYPED_TEST_P(SessionStoreContract, CancelGivesTheReservationBack) {
  const SlotGrant grant = this->granted(kLive, 1);
  ASSERT_TRUE(grant.acquired);
  EXPECT_TRUE(ok_false(this->cancel(kTest, grant.reservation)));  // another subject's
  EXPECT_TRUE(ok_true(this->cancel(kLive, grant.reservation)));
  EXPECT_TRUE(ok_false(this->cancel(kLive, grant.reservation)));  // idempotent
  EXPECT_TRUE(this->backend_.holds_nothing());
  EXPECT_TRUE(ok_false(this->bind(kLive, grant.reservation, "sess_1")));
  EXPECT_TRUE(this->granted(kLive, 1).acquired);
}

TYPED_TEST_P(SessionStoreContract, BindAndCancelRefuseUnknownReservationsAndEmptyIds) {
  const SlotGrant grant = this->granted(kLive, 5);
  ASSERT_TRUE(grant.acquired);
  const std::string& real = grant.reservation;
  // Near misses of the real one, and of each backend's format.
  for (const std::string& bad :
       {std::string(), real.substr(0, real.size() - 1), real + "0", real + " ", " " + real,
        std::string("rsv_"), std::string("rsv_x"), std::string("rsv_99999"), std::string("99"),
        std::string("rsv_1 "), std::string("0123456789abcdef")}) {
    EXPECT_TRUE(ok_false(this->bind(kLive, bad, "sess_1"))) << '"' << bad << '"';
    EXPECT_TRUE(ok_false(this->cancel(kLive, bad))) << '"' << bad << '"';
  }
  EXPECT_TRUE(ok_false(this->bind(kTest, real, "sess_1")));  // another subject's
  // An empty session id binds nothing and keeps the reservation for a cancel().
  EXPECT_TRUE(ok_false(this->bind(kLive, real, "")));
  EXPECT_EQ(this->active(kLive), 1);
  EXPECT_FALSE(this->found("sess_1"));
  EXPECT_TRUE(ok_true(this->cancel(kLive, real)));
  EXPECT_TRUE(this->backend_.holds_nothing());
}

TYPED_TEST_P(SessionStoreContract, ReleaseIsIdempotentAndPerSubject) {
  this->create_session(kLive, "sess_1");
  this->create_session(kLive, "sess_2");
  EXPECT_TRUE(ok_false(this->release(kTest, "sess_1")));  // another subject's: kept
  EXPECT_TRUE(ok_false(this->release("acct_2:live", "sess_1")));
  EXPECT_TRUE(ok_false(this->release(kLive, "sess_unknown")));
  EXPECT_EQ(this->active(kLive), 2);
  const auto record = this->found("sess_1");
  ASSERT_TRUE(record);  // still found by its streams
  EXPECT_EQ(record->subject, kLive);

  EXPECT_TRUE(ok_true(this->release(kLive, "sess_1")));
  EXPECT_TRUE(ok_false(this->release(kLive, "sess_1")));  // ending twice frees one
  EXPECT_EQ(this->active(kLive), 1);
  EXPECT_FALSE(this->found("sess_1"));
  EXPECT_TRUE(this->found("sess_2"));
}

// The upstream answered with a session id it gave before: the subject keeps one slot, the
// one first bound, with a fresh lease.
TYPED_TEST_P(SessionStoreContract, ABoundIdBoundAgainInTheSameSubjectKeepsOneSlot) {
  this->create_session(kLive, "sess_1", kT0);
  const auto first = this->found("sess_1", kT0);
  ASSERT_TRUE(first);
  const SlotGrant again = this->granted(kLive, 5, kT0 + 10s);
  ASSERT_TRUE(again.acquired);
  EXPECT_EQ(again.active, 2);
  EXPECT_TRUE(ok_true(this->bind(kLive, again.reservation, "sess_1", kT0 + 10s)));
  EXPECT_EQ(this->active(kLive, kT0 + 10s), 1);
  const auto record = this->found("sess_1", kT0 + 10s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->created, first->created);  // the slot that stayed
  if (this->caller_clocked()) {
    EXPECT_EQ(record->lease_expires, kT0 + 10s + kLease);  // with a fresh lease
  } else {
    EXPECT_GE(record->lease_expires, first->lease_expires);
  }
  EXPECT_TRUE(ok_true(this->release(kLive, "sess_1")));
  EXPECT_TRUE(this->backend_.holds_nothing());
}

TYPED_TEST_P(SessionStoreContract, TheLeaseRunsOutExactlyAtItsEnd) {
  this->create_session(kLive, "sess_1", kT0);
  const SlotGrant reserved = this->granted(kLive, 2, kT0);
  ASSERT_TRUE(reserved.acquired);
  const UnixNanos end = kT0 + kLease;
  const UnixNanos just_before = end - this->backend_.resolution();

  // Just before the end both slots are held.
  EXPECT_TRUE(this->found("sess_1", just_before));
  EXPECT_FALSE(this->granted(kLive, 2, just_before).acquired);
  EXPECT_EQ(this->active(kLive, just_before), 2);

  if (!this->caller_clocked()) {
    // The caller's clock decides nothing: long past the end as it sees it, the store's own
    // clock is still within the lease.
    EXPECT_TRUE(this->found("sess_1", end + 1h));
    EXPECT_FALSE(this->granted(kLive, 2, end + 1h).acquired);
    EXPECT_EQ(this->active(kLive, end + 1h), 2);
    return;
  }
  // At the end they are free: lease_expires <= now.
  EXPECT_FALSE(this->found("sess_1", end));
  EXPECT_TRUE(ok_false(this->renew("sess_1", end)));
  const SlotGrant after = this->granted(kLive, 2, end);
  EXPECT_TRUE(after.acquired);
  EXPECT_EQ(after.active, 1);  // both old slots freed, the new one held
  EXPECT_TRUE(ok_false(this->bind(kLive, reserved.reservation, "sess_2", end)));
  EXPECT_TRUE(ok_false(this->release(kLive, "sess_1")));
  EXPECT_EQ(this->active(kLive, end), 1);
}

TYPED_TEST_P(SessionStoreContract, AReservationThatExpiredCannotBeBound) {
  const SlotGrant grant = this->granted(kLive, 1, kT0, 10s);
  ASSERT_TRUE(grant.acquired);
  if (!this->caller_clocked()) {
    // Ten seconds later as the caller sees it is a moment later for the store.
    EXPECT_TRUE(ok_true(this->bind(kLive, grant.reservation, "sess_1", kT0 + 10s)));
    EXPECT_TRUE(this->found("sess_1", kT0 + 10s));
    return;
  }
  EXPECT_TRUE(ok_false(this->bind(kLive, grant.reservation, "sess_1", kT0 + 10s)));
  EXPECT_FALSE(this->found("sess_1", kT0 + 10s));
  EXPECT_EQ(this->active(kLive, kT0 + 10s), 0);
  EXPECT_TRUE(this->backend_.holds_nothing());
}

TYPED_TEST_P(SessionStoreContract, RenewExtendsTheLease) {
  this->create_session(kLive, "sess_1", kT0);
  const auto first = this->found("sess_1", kT0);
  ASSERT_TRUE(first);
  EXPECT_TRUE(ok_true(this->renew("sess_1", kT0 + 90s)));
  const auto record = this->found("sess_1", kT0 + 90s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->created, first->created);
  if (this->caller_clocked()) {
    EXPECT_EQ(record->lease_expires, kT0 + 190s);
    // Held past the original end, free at the new one.
    EXPECT_EQ(this->active(kLive, kT0 + 189s), 1);
    EXPECT_FALSE(this->granted(kLive, 1, kT0 + 189s).acquired);
    EXPECT_TRUE(this->granted(kLive, 1, kT0 + 190s).acquired);
  } else {
    EXPECT_GE(record->lease_expires, first->lease_expires);
  }
  EXPECT_TRUE(ok_false(this->renew("sess_unknown", kT0)));

  // A released session is not renewed back to life.
  this->create_session(kLive, "sess_2", kT0 + 190s);
  ASSERT_TRUE(ok_true(this->release(kLive, "sess_2")));
  EXPECT_TRUE(ok_false(this->renew("sess_2", kT0 + 191s)));
  EXPECT_FALSE(this->found("sess_2", kT0 + 191s));
}

TYPED_TEST_P(SessionStoreContract, ListShowsBoundSessionsOldestFirst) {
  std::vector<std::string> expected;
  if (this->caller_clocked()) {
    // Made out of the order of their times; a tie goes by session id.
    this->create_session(kLive, "sess_b", kT0 + 2s);
    this->create_session(kLive, "sess_c", kT0 + 1s);
    this->create_session(kLive, "sess_a", kT0 + 2s);
    expected = {"sess_c", "sess_a", "sess_b"};
  } else {
    // The store's clock orders them: each made after the last one's time has passed.
    for (const char* id : {"sess_b", "sess_c", "sess_a"}) {
      this->create_session(kLive, id);
      const auto made = this->found(id);
      ASSERT_TRUE(made);
      this->wait_for_store_time_past(made->created);
      expected.push_back(id);
    }
  }
  this->create_session(kTest, "sess_t", kT0);
  ASSERT_TRUE(this->granted(kLive, std::nullopt, kT0 + 3s).acquired);  // reserved only

  auto listing = this->list(kLive, kT0 + 3s);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->active, 4);
  std::vector<std::string> ids;
  for (const auto& s : listing->sessions) {
    ids.push_back(s.session_id);
    EXPECT_EQ(s.subject, kLive);
    EXPECT_EQ(s.account_id, "acct_1");
    if (this->caller_clocked()) {
      EXPECT_EQ(s.lease_expires, s.created + kLease);  // reserved and bound at one `now`
    } else {
      EXPECT_GE(s.lease_expires, s.created + kLease);
    }
  }
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(this->active("nobody:live"), 0);
  EXPECT_TRUE(this->list("nobody:live")->sessions.empty());
}

// acquire() never lets more than `limit` slots be held, whatever the concurrency: calls
// issued from many threads at once, none waiting for another's answer.
TYPED_TEST_P(SessionStoreContract, ExactAdmissionUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  constexpr std::int64_t kLimit = 37;
  std::atomic<int> acquired{0};
  std::atomic<int> failures{0};
  std::atomic<int> pending{2 * kThreads * kPerThread};
  Captured<bool> all_done;
  auto done = all_done.handler();
  // Completions run on the loop, after the threads may have ended: they refer to this
  // scope only, which outlives them (all_done).
  const auto count = [&](SessionOutcome<SlotGrant> grant, bool limited) {
    if (!grant) {
      ++failures;
    } else if (limited && grant->acquired) {
      ++acquired;
    }
    if (pending.fetch_sub(1) == 1) done(true);
  };
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        this->store().acquire(kLive, "acct_1", kLimit, kT0, kLease, this->executor(),
                              [&](SessionOutcome<SlotGrant> g) { count(std::move(g), true); });
        // Another subject goes on meanwhile.
        this->store().acquire("acct_2:live", "acct_2", std::nullopt, kT0, kLease, this->executor(),
                              [&](SessionOutcome<SlotGrant> g) { count(std::move(g), false); });
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(all_done.get());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(acquired.load(), kLimit);
  EXPECT_EQ(this->active(kLive), kLimit);
  EXPECT_EQ(this->active("acct_2:live"), kThreads * kPerThread);
}

// Sessions made, used and ended from many threads: never more than the limit held, every
// step answered, nothing left once all are ended.
TYPED_TEST_P(SessionStoreContract, ChurnUnderConcurrencyNeverExceedsTheLimit) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 25;
  constexpr std::int64_t kLimit = 3;
  std::atomic<std::int64_t> max_seen{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto grant = this->acquire(kLive, kLimit, kT0);
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
          if (!ok_true(this->cancel(kLive, grant->reservation))) ++failures;
          continue;
        }
        if (!ok_true(this->bind(kLive, grant->reservation, id, kT0))) ++failures;
        auto found = this->find(id, kT0);
        if (!found || !found->has_value()) ++failures;
        if (!ok_true(this->renew(id, kT0 + 30s))) ++failures;
        if (!ok_true(this->release(kLive, id))) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_seen.load(), kLimit);
  EXPECT_GE(max_seen.load(), 1);
  EXPECT_EQ(this->active(kLive, kT0 + 30s), 0);
  EXPECT_TRUE(this->backend_.holds_nothing());
}

// Every operation's `done` runs on the executor, never inline: issued while the loop is
// held busy, nothing may have completed before it is released.
TYPED_TEST_P(SessionStoreContract, CompletionsArePostedNeverInline) {
  using Grant = SessionOutcome<SlotGrant>;
  Captured<Grant> first;
  Captured<Grant> second;
  {
    LoopHold hold(this->executor());
    this->store().acquire(kLive, "acct_1", 1, kT0, kLease, this->executor(), first.handler());
    this->store().acquire(kLive, "acct_1", 1, kT0, kLease, this->executor(), second.handler());
    EXPECT_FALSE(first.arrived() || second.arrived()) << "completed inline";
  }
  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a && a->has_value() && b && b->has_value());
  const std::thread::id loop = loop_thread_id(this->executor());
  EXPECT_EQ(first.thread(), loop);
  EXPECT_EQ(second.thread(), loop);
  EXPECT_EQ(int((*a)->acquired) + int((*b)->acquired), 1);  // a limit of one
  const std::string reservation = (*a)->acquired ? (*a)->reservation : (*b)->reservation;

  auto& store = this->store();
  auto ex = this->executor();
  using Bool = SessionOutcome<bool>;
  // Without a session id, bind() answers without asking anyone, still not inline.
  auto empty = this->template posted<Bool>(
      [&](auto done) { store.bind(kLive, reservation, "", kT0, kLease, ex, done); });
  EXPECT_TRUE(empty && ok_false(*empty));
  auto bound = this->template posted<Bool>(
      [&](auto done) { store.bind(kLive, reservation, "sess_1", kT0, kLease, ex, done); });
  EXPECT_TRUE(bound && ok_true(*bound));
  auto renewed = this->template posted<Bool>(
      [&](auto done) { store.renew("sess_1", kT0 + 50s, kLease, ex, done); });
  EXPECT_TRUE(renewed && ok_true(*renewed));
  auto found = this->template posted<SessionOutcome<std::optional<SessionRecord>>>(
      [&](auto done) { store.find("sess_1", kT0 + 50s, ex, done); });
  ASSERT_TRUE(found && found->has_value() && (*found)->has_value());
  if (this->caller_clocked()) {
    EXPECT_EQ((**found)->lease_expires, kT0 + 150s);
  }
  auto listing = this->template posted<SessionOutcome<SessionStore::Listing>>(
      [&](auto done) { store.list(kLive, kT0 + 50s, ex, done); });
  ASSERT_TRUE(listing && listing->has_value());
  EXPECT_EQ((*listing)->sessions.size(), 1u);
  auto released =
      this->template posted<Bool>([&](auto done) { store.release(kLive, "sess_1", ex, done); });
  EXPECT_TRUE(released && ok_true(*released));
  const SlotGrant again = this->granted(kLive, 1);
  ASSERT_TRUE(again.acquired);
  auto cancelled = this->template posted<Bool>(
      [&](auto done) { store.cancel(kLive, again.reservation, ex, done); });
  EXPECT_TRUE(cancelled && ok_true(*cancelled));
}

REGISTER_TYPED_TEST_SUITE_P(
    SessionStoreContract, LimitsEachSubjectApart, UnlimitedIsStillCounted,
    ALimitOfZeroOrLessAdmitsNothingAndLeavesNothing, ReserveBindFindRelease,
    CancelGivesTheReservationBack, BindAndCancelRefuseUnknownReservationsAndEmptyIds,
    ReleaseIsIdempotentAndPerSubject, ABoundIdBoundAgainInTheSameSubjectKeepsOneSlot,
    TheLeaseRunsOutExactlyAtItsEnd, AReservationThatExpiredCannotBeBound, RenewExtendsTheLease,
    ListShowsBoundSessionsOldestFirst, ExactAdmissionUnderConcurrency,
    ChurnUnderConcurrencyNeverExceedsTheLimit, CompletionsArePostedNeverInline);

}  // namespace gw::store::contract

// MemorySessionStore: concurrent-session slots in this process's memory, written through to
// SQLite so bound sessions survive a restart (store.backend: memory; SPEC §4, §7).
//
// Sharded like MemoryCounterStore: the subject's hash picks a shard (a mutex and the slots
// of its subjects), so acquire() counts and reserves under one lock and is exact whatever
// the concurrency. A session id -> subject index (its own mutex) serves find()/renew(),
// which know only the session id, and keeps a session id bound to at most one slot.
// Lock order: one shard mutex, then briefly the index mutex or the database's (never both
// at once, never two shards); find()/renew() read the index alone before taking the shard.
//
// Persistence: memory is the authority; the table (SessionSlotsDb) is written inside each
// operation, *before* memory changes, so a failed write (StoreError, transient=false)
// leaves both as they were. Only bound slots are persisted: reservations are in flight for
// one upstream round trip and die with the process that could bind them. open() loads the
// bound slots whose lease has not run out. renew() writes the table only when the lease
// moved by more than min(60 s, lease / 4), so frequent stream activity does not turn into
// a write per frame; after a restart a lease may therefore be up to that much shorter.
//
// Semantics beyond SessionStore's contract:
// - limit <= 0 admits nothing; a refused acquire() leaves no state behind.
// - bind() consumes the reservation: a second bind of it is false. If the session id is
//   already bound in the same subject (the upstream answered with an id it gave before),
//   the subject keeps one slot: the reservation is freed, the bound slot's lease renewed,
//   and bind() is true. If it is bound in another subject, that subject keeps it: the
//   reservation is freed and bind() is false. An empty session id is false (nothing freed).
// - cancel() frees only an unbound reservation (false once bound, cancelled or expired).
// - release() frees the slot whatever its lease says (it takes no `now`).
// - find()/renew() answer nothing for a slot whose lease has run out; only operations that
//   count a subject (acquire, bind, list) and sweep() free expired slots.
// - created = when the slot was reserved; times are the caller's `now` (Unix nanoseconds).
// Thread-safety: every method may be called concurrently from any thread. Completions of
// the SessionStore methods are posted to their executor, never run inline; the `*_now`
// variants answer synchronously (tests, tools).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "store/session_store.h"

namespace gw::store {

class SessionSlotsDb;

class MemorySessionStore final : public SessionStore {
 public:
  static constexpr std::size_t kDefaultShardCount = 64;
  // renew() persists a lease only once it moved by more than min(this, lease / 4).
  static constexpr std::chrono::seconds kMaxUnpersistedRenewal{60};

  // Opens (or creates) the session_slots table in the SQLite file at `sqlite_path` (the
  // accounts file; ":memory:" for a private in-memory database) and loads the bound slots
  // whose lease runs past `now`, deleting the others. `shard_count` is rounded up to a
  // power of two (at least 1). Error: a readable reason (never secrets).
  static core::Result<std::unique_ptr<MemorySessionStore>, std::string> open(
      std::string_view sqlite_path, core::UnixNanos now,
      std::size_t shard_count = kDefaultShardCount);

  ~MemorySessionStore() override;
  MemorySessionStore(const MemorySessionStore&) = delete;
  MemorySessionStore& operator=(const MemorySessionStore&) = delete;

  // Synchronous cores of the SessionStore methods below.
  SessionOutcome<SlotGrant> acquire_now(std::string_view subject, std::string_view account_id,
                                        std::optional<std::int64_t> limit, core::UnixNanos now,
                                        std::chrono::seconds lease);
  SessionOutcome<bool> bind_now(std::string_view subject, std::string_view reservation,
                                std::string_view session_id, core::UnixNanos now,
                                std::chrono::seconds lease);
  SessionOutcome<bool> cancel_now(std::string_view subject, std::string_view reservation);
  SessionOutcome<bool> release_now(std::string_view subject, std::string_view session_id);
  SessionOutcome<std::optional<SessionRecord>> find_now(std::string_view session_id,
                                                        core::UnixNanos now) const;
  SessionOutcome<bool> renew_now(std::string_view session_id, core::UnixNanos now,
                                 std::chrono::seconds lease);
  SessionOutcome<Listing> list_now(std::string_view subject, core::UnixNanos now);

  // SessionStore: computed synchronously at the call; `done` is posted to `executor`.
  void acquire(std::string_view subject, std::string_view account_id,
               std::optional<std::int64_t> limit, core::UnixNanos now, std::chrono::seconds lease,
               boost::asio::any_io_executor executor, SessionHandler<SlotGrant> done) override;
  void bind(std::string_view subject, std::string_view reservation, std::string_view session_id,
            core::UnixNanos now, std::chrono::seconds lease, boost::asio::any_io_executor executor,
            SessionHandler<bool> done) override;
  void cancel(std::string_view subject, std::string_view reservation,
              boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void release(std::string_view subject, std::string_view session_id,
               boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void find(std::string_view session_id, core::UnixNanos now, boost::asio::any_io_executor executor,
            SessionHandler<std::optional<SessionRecord>> done) override;
  void renew(std::string_view session_id, core::UnixNanos now, std::chrono::seconds lease,
             boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void list(std::string_view subject, core::UnixNanos now, boost::asio::any_io_executor executor,
            SessionHandler<Listing> done) override;

  // Frees every slot whose lease has run out (lease_expires <= now), in memory and in the
  // table; returns how many. Locks one shard at a time. A shard whose table write fails
  // keeps its slots until the next sweep.
  std::size_t sweep(core::UnixNanos now);

  // Slots held (reserved + bound, expired ones not yet freed included). Tests and metrics.
  std::size_t slot_count() const;

 private:
  struct Shard;
  struct SubjectSlots;

  MemorySessionStore(std::unique_ptr<SessionSlotsDb> db, std::size_t shard_count);

  Shard& shard_for(std::string_view subject) const noexcept;
  // REQUIRES: the subject's shard mutex held. Frees the subject's expired slots (table
  // first); the error leaves everything as it was.
  SessionOutcome<std::size_t> free_expired(SubjectSlots& slots, core::UnixNanos now);
  // REQUIRES: the subject's shard mutex held. Forgets expired slots in memory only.
  std::size_t drop_expired(SubjectSlots& slots, core::UnixNanos now);
  std::optional<std::string> index_subject(std::string_view session_id) const;
  void index_erase(std::string_view session_id);

  std::unique_ptr<SessionSlotsDb> db_;
  std::size_t shard_mask_;
  std::unique_ptr<Shard[]> shards_;

  struct Index;
  std::unique_ptr<Index> index_;  // session id -> subject; its own mutex

  std::atomic<std::uint64_t> next_reservation_{1};
};

}  // namespace gw::store

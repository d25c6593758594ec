// Concurrent-session slots (SPEC §4 "Concurrent sessions") and the session -> caller map
// that WebSocket streams use (SPEC §5).
//
// A slot belongs to a *subject* (the counters' subject: "<account>:live", "<account>:test"),
// so test keys' sessions count apart from live ones. Creating a session first reserves a
// slot (before the request is forwarded), then binds the reservation to the session id the
// upstream answered with, or cancels it. A slot — reserved or bound — whose lease has run
// out (no stream activity for `lease`) is free again: leases are checked lazily, on every
// operation that counts the subject's slots, against the `now` the caller passes.
//
// Implementations: MemorySessionStore (store/memory/, persisted to SQLite so slots survive
// a restart) and RedisSessionStore (store/redis/: a sorted set per subject scored by lease expiry).
// Thread-safety: every method may be called from any thread. Completion: `done` runs
// exactly once, on `executor`, never inline. All-or-nothing: acquire() never lets more
// than `limit` slots of one subject be held, whatever the concurrency.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "store/counter_store.h"

namespace gw::store {

struct SlotGrant {
  bool acquired = false;
  std::string reservation;  // names the reserved slot until bind()/cancel(); empty if refused
  std::int64_t active = 0;  // slots held by the subject after this call (reserved + bound)
  std::optional<std::int64_t> limit;  // as passed: nullopt = unlimited
};

// What a bound session is for: who created it, so its streams get the same limits.
struct SessionRecord {
  std::string session_id;
  std::string subject;     // "<account>:live" / "<account>:test"
  std::string account_id;
  core::UnixNanos created{};
  core::UnixNanos lease_expires{};
};

template <typename T>
using SessionOutcome = core::Result<T, StoreError>;
template <typename T>
using SessionHandler = std::function<void(SessionOutcome<T>)>;

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Reserves a slot of `subject` if fewer than `limit` are held (nullopt: no limit, but
  // still counted; 0: never). Expired slots of the subject are freed first.
  virtual void acquire(std::string_view subject, std::string_view account_id,
                       std::optional<std::int64_t> limit, core::UnixNanos now,
                       std::chrono::seconds lease, boost::asio::any_io_executor executor,
                       SessionHandler<SlotGrant> done) = 0;

  // Binds a reservation to the upstream's session id. false: the reservation is unknown
  // (expired meanwhile, or freed by an operator).
  virtual void bind(std::string_view subject, std::string_view reservation,
                    std::string_view session_id, core::UnixNanos now,
                    std::chrono::seconds lease, boost::asio::any_io_executor executor,
                    SessionHandler<bool> done) = 0;

  // Gives a reservation back (the upstream refused or failed). Idempotent.
  virtual void cancel(std::string_view subject, std::string_view reservation,
                      boost::asio::any_io_executor executor, SessionHandler<bool> done) = 0;

  // Frees the slot bound to `session_id` (end answered 2xx, or an operator). Idempotent:
  // false when no slot is bound to it (already freed, never seen, or another subject's).
  virtual void release(std::string_view subject, std::string_view session_id,
                       boost::asio::any_io_executor executor, SessionHandler<bool> done) = 0;

  // The session a stream connects to, if the gateway saw it created and it is still held.
  virtual void find(std::string_view session_id, core::UnixNanos now,
                    boost::asio::any_io_executor executor,
                    SessionHandler<std::optional<SessionRecord>> done) = 0;

  // Pushes the session's lease to now + lease (stream activity). false: not held.
  virtual void renew(std::string_view session_id, core::UnixNanos now,
                     std::chrono::seconds lease, boost::asio::any_io_executor executor,
                     SessionHandler<bool> done) = 0;

  // The bound sessions a subject holds (expired ones freed first), and how many slots it
  // holds in all (bound + reserved).
  struct Listing {
    std::vector<SessionRecord> sessions;
    std::int64_t active = 0;
  };
  virtual void list(std::string_view subject, core::UnixNanos now,
                    boost::asio::any_io_executor executor, SessionHandler<Listing> done) = 0;
};

}  // namespace gw::store

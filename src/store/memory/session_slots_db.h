// SessionSlotsDb: the SQLite table behind MemorySessionStore, so bound session slots
// survive a restart (SPEC §7: accounts, keys and session slots in a local SQLite file).
//
// Schema, in the accounts database file (SqliteAccountStore holds its own connection to
// the same file; WAL lets both work side by side, and a busy timeout absorbs the short
// write locks of the other):
//   session_slots(session_id PK, subject, account_id, created_ns, lease_expires_ns)
// Times are Unix nanoseconds. Only *bound* slots are stored: a reservation lives for one
// upstream round trip and only the request that made it can bind or cancel it, so after a
// restart it could only leak until its lease ran out. The table is created if missing; the
// file's user_version belongs to SqliteAccountStore and is left alone.
//
// Memory is the authority (MemorySessionStore); this table is its write-through copy and
// is read back only by load() at startup.
// Thread-safety: every method may be called from any thread; one connection, serialized by
// an internal mutex that is never held while calling out (a leaf lock for callers).
// Errors: returned as text (for logs; never holds anything secret), never thrown.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/session_store.h"

namespace gw::store {

// One change to the table. Views must stay valid for the apply() call only.
struct SlotWrite {
  enum class Kind { put, set_lease, erase };

  Kind kind = Kind::put;
  std::string_view session_id;
  std::string_view subject;         // put
  std::string_view account_id;      // put
  core::UnixNanos created{};        // put
  core::UnixNanos lease_expires{};  // put, set_lease
};

class SessionSlotsDb {
 public:
  // Opens (or creates) the database at `path`, creating its parent directory, switches a
  // file database to WAL with synchronous=NORMAL, and creates the table if missing.
  // ":memory:" (or "") gives a private in-memory database.
  static core::Result<std::unique_ptr<SessionSlotsDb>, std::string> open(std::string_view path);

  ~SessionSlotsDb();
  SessionSlotsDb(const SessionSlotsDb&) = delete;
  SessionSlotsDb& operator=(const SessionSlotsDb&) = delete;

  // Deletes the rows whose lease has run out (lease_expires <= now) and returns the others.
  core::Result<std::vector<SessionRecord>, std::string> load(core::UnixNanos now);

  // Applies every write, in order, in one transaction: all or none. A put replaces any row
  // of the same session id. Returns the number of rows changed.
  core::Result<std::size_t, std::string> apply(std::span<const SlotWrite> writes);

 private:
  struct Statements;

  explicit SessionSlotsDb(sqlite3* db);
  std::string error(std::string_view what) const;  // REQUIRES: mutex_ held
  core::Result<std::size_t, std::string> apply_one(const SlotWrite& write);  // REQUIRES: mutex_

  std::mutex mutex_;
  sqlite3* db_;                             // guarded by mutex_
  std::unique_ptr<Statements> statements_;  // guarded by mutex_
};

}  // namespace gw::store

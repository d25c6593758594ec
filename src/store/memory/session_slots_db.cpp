// Small on purpose: store/memory must not depend on store/sqlite, so the few SQLite helpers
// this table needs are repeated here rather than shared.
#include "store/memory/session_slots_db.h"

#include <climits>
#include <cstdint>
#include <filesystem>
#include <utility>

#include "store/sqlite_statement.h"

namespace gw::store {
namespace {

using sql::Statement;
using sql::Use;

constexpr int kBusyTimeoutMs = 5000;  // the account store's connection, or a backup tool

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS session_slots (
  session_id       TEXT PRIMARY KEY NOT NULL,
  subject          TEXT NOT NULL,
  account_id       TEXT NOT NULL,
  created_ns       INTEGER NOT NULL,
  lease_expires_ns INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

std::string sqlite_error(sqlite3* db, std::string_view what) {
  return sql::error_text(db, "session_slots: " + std::string(what));
}

}  // namespace

struct SessionSlotsDb::Statements {
  Statement begin, commit, rollback;
  Statement select_all, delete_expired, put, set_lease, erase;

  const char* prepare(sqlite3* db) {
    const std::pair<Statement*, const char*> all[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&select_all,
         "SELECT session_id, subject, account_id, created_ns, lease_expires_ns "
         "FROM session_slots"},
        {&delete_expired, "DELETE FROM session_slots WHERE lease_expires_ns <= ?1"},
        {&put,
         "INSERT OR REPLACE INTO session_slots "
         "(session_id, subject, account_id, created_ns, lease_expires_ns) "
         "VALUES (?1, ?2, ?3, ?4, ?5)"},
        {&set_lease, "UPDATE session_slots SET lease_expires_ns = ?2 WHERE session_id = ?1"},
        {&erase, "DELETE FROM session_slots WHERE session_id = ?1"},
    };
    for (const auto& [statement, sql] : all) {
      if (statement->prepare(db, sql) != SQLITE_OK) return sql;
    }
    return nullptr;
  }
};

core::Result<std::unique_ptr<SessionSlotsDb>, std::string> SessionSlotsDb::open(
    std::string_view path) {
  const std::string file(path);
  auto opened = sql::open_database(path, kBusyTimeoutMs);
  if (!opened) return core::unexpected(std::move(opened.error()));
  sqlite3* db = *opened;
  // From here on the object owns `db` and closes it on every path.
  std::unique_ptr<SessionSlotsDb> slots(new SessionSlotsDb(db));

  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return core::unexpected(sqlite_error(db, "cannot create the table in " + file));
  }
  if (const char* failed = slots->statements_->prepare(db)) {
    return core::unexpected(sqlite_error(db, std::string("cannot prepare ") + failed));
  }
  return slots;
}

SessionSlotsDb::SessionSlotsDb(sqlite3* db)
    : db_(db), statements_(std::make_unique<Statements>()) {}

SessionSlotsDb::~SessionSlotsDb() {
  statements_.reset();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

std::string SessionSlotsDb::error(std::string_view what) const { return sqlite_error(db_, what); }

core::Result<std::vector<SessionRecord>, std::string> SessionSlotsDb::load(core::UnixNanos now) {
  std::lock_guard lock(mutex_);
  {
    Use use(statements_->delete_expired);
    if (!use.bind(1, now)) return core::unexpected(error("load: bind"));
    if (use.step() != SQLITE_DONE) return core::unexpected(error("load: delete expired"));
  }
  std::vector<SessionRecord> records;
  Use use(statements_->select_all);
  for (;;) {
    const int rc = use.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return core::unexpected(error("load"));
    records.push_back(SessionRecord{.session_id = use.text(0),
                                    .subject = use.text(1),
                                    .account_id = use.text(2),
                                    .created = use.nanos(3),
                                    .lease_expires = use.nanos(4)});
  }
  return records;
}

core::Result<std::size_t, std::string> SessionSlotsDb::apply_one(const SlotWrite& write) {
  switch (write.kind) {
    case SlotWrite::Kind::put: {
      Use use(statements_->put);
      if (!use.bind(1, write.session_id) || !use.bind(2, write.subject) ||
          !use.bind(3, write.account_id) || !use.bind(4, write.created) ||
          !use.bind(5, write.lease_expires)) {
        return core::unexpected(error("put: bind"));
      }
      if (use.step() != SQLITE_DONE) return core::unexpected(error("put"));
      break;
    }
    case SlotWrite::Kind::set_lease: {
      Use use(statements_->set_lease);
      if (!use.bind(1, write.session_id) || !use.bind(2, write.lease_expires)) {
        return core::unexpected(error("set lease: bind"));
      }
      if (use.step() != SQLITE_DONE) return core::unexpected(error("set lease"));
      break;
    }
    case SlotWrite::Kind::erase: {
      Use use(statements_->erase);
      if (!use.bind(1, write.session_id)) return core::unexpected(error("erase: bind"));
      if (use.step() != SQLITE_DONE) return core::unexpected(error("erase"));
      break;
    }
  }
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

core::Result<std::size_t, std::string> SessionSlotsDb::apply(std::span<const SlotWrite> writes) {
  if (writes.empty()) return std::size_t{0};
  std::lock_guard lock(mutex_);
  // One statement is atomic by itself; only batches pay for BEGIN/COMMIT.
  if (writes.size() == 1) return apply_one(writes.front());

  if (Use(statements_->begin).step() != SQLITE_DONE) return core::unexpected(error("begin"));
  std::size_t changed = 0;
  for (const SlotWrite& write : writes) {
    auto rows = apply_one(write);
    if (!rows) {
      Use(statements_->rollback).step();
      return rows;
    }
    changed += *rows;
  }
  if (Use(statements_->commit).step() != SQLITE_DONE) {
    std::string err = error("commit");
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it either way.
    if (!sqlite3_get_autocommit(db_)) Use(statements_->rollback).step();
    return core::unexpected(std::move(err));
  }
  return changed;
}

}  // namespace gw::store

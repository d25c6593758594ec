// Opening the accounts file and its prepared statements, shared by the stores that keep
// state in it (store/sqlite: accounts and keys; store/memory: session slots). Header-only;
// its users link SQLite themselves. Not thread-safe: callers serialize use of a connection.
#pragma once

#include <sqlite3.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace gw::store::sql {

// "sqlite: <what>: <SQLite's message>" (messages name tables and columns, never values).
inline std::string error_text(sqlite3* db, std::string_view what) {
  std::string detail = "sqlite: ";
  detail += what;
  if (db) {
    detail += ": ";
    detail += sqlite3_errmsg(db);
  }
  return detail;
}

// Opens (creating it and its directory) the database at `path` (":memory:" or "" for a
// private in-memory one) for use under the caller's own lock: no SQLite mutex, a busy
// timeout for the other connections to the same file, extended result codes, and for a
// file WAL with NORMAL sync (readers never block the writer; a process crash loses
// nothing committed, a power loss may drop the last commits). The caller closes it.
inline core::Result<sqlite3*, std::string> open_database(std::string_view path,
                                                         int busy_timeout_ms) {
  const std::string file(path);
  const bool in_memory = file == ":memory:" || file.empty();
  if (!in_memory && !file.starts_with("file:")) {
    const auto parent = std::filesystem::path(file).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return core::unexpected("sqlite: cannot create directory " + parent.string() + ": " +
                              ec.message());
    }
  }
  sqlite3* db = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  if (sqlite3_open_v2(in_memory ? ":memory:" : file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string error = error_text(db, "cannot open " + file);
    sqlite3_close(db);
    return core::unexpected(std::move(error));
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  if (!in_memory && sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string error = error_text(db, "cannot configure " + file);
    sqlite3_close(db);
    return core::unexpected(std::move(error));
  }
  return db;
}

// Owns one prepared statement.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  int prepare(sqlite3* db, const char* sql) {
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One use of a prepared statement: binds, steps, and resets it on scope exit so the next
// use starts clean (and the bound views are not kept past the call).
class Use {
 public:
  explicit Use(const Statement& statement) : stmt_(statement.get()) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  bool bind(int index, std::string_view text) {
    if (text.size() > INT_MAX) return false;
    // SQLITE_STATIC: `text` outlives this Use, which resets the statement before returning.
    return sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                             SQLITE_STATIC) == SQLITE_OK;
  }
  bool bind(int index, std::int64_t value) {
    return sqlite3_bind_int64(stmt_, index, value) == SQLITE_OK;
  }
  bool bind(int index, core::UnixNanos t) { return bind(index, t.count()); }

  int step() { return sqlite3_step(stmt_); }

  std::string text(int index) const {
    const auto* text = sqlite3_column_text(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size))
                : std::string();
  }
  core::UnixNanos nanos(int index) const {
    return core::UnixNanos{sqlite3_column_int64(stmt_, index)};
  }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace gw::store::sql

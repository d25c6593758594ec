// Prepared SQLite statements, shared by the stores that keep state in the accounts file
// (store/sqlite: accounts and keys; store/memory: session slots). Header-only; its users
// link SQLite themselves. Not thread-safe: callers serialize use of a connection.
#pragma once

#include <sqlite3.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace gw::store::sql {

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

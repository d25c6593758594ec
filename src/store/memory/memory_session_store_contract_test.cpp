// The SessionStore contract on MemorySessionStore over a temporary SQLite file:
// caller-clocked to the nanosecond; "holds nothing" means no slot in memory and no row in
// the session_slots table.
#include <sqlite3.h>

#include <memory>
#include <string>

#include "store/memory/memory_session_store.h"
#include "store/testing/session_store_contract.h"
#include "store/testing/temp_dir.h"
#include "testing/loop_thread.h"

namespace gw::store::contract {
namespace {

// The rows of session_slots, read on a connection of its own; -1 if it cannot be read.
long long session_rows(const std::string& path) {
  sqlite3* db = nullptr;
  long long rows = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM session_slots", -1, &statement, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      rows = sqlite3_column_int64(statement, 0);
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return rows;
}

class MemorySessionBackend final : public SessionStoreBackend {
 public:
  explicit MemorySessionBackend(core::FakeClock& clock) {
    auto opened = MemorySessionStore::open(path_, clock.now());
    if (!opened) ADD_FAILURE() << opened.error();
    if (opened) store_ = std::move(*opened);
  }
  ~MemorySessionBackend() override { loop_.stop(); }

  SessionStore& store() override { return *store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override { return Clocking::caller; }
  core::UnixNanos store_time() override { return {}; }
  core::UnixNanos resolution() const override { return core::UnixNanos(1); }
  bool holds_nothing() override { return store_->slot_count() == 0 && session_rows(path_) == 0; }

 private:
  TempDir dir_;
  std::string path_ = (dir_.path() / "accounts.db").string();
  gw::testing::LoopThread loop_;
  std::unique_ptr<MemorySessionStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemorySessionStoreContract, SessionStoreContract,
                               MemorySessionBackend);

}  // namespace
}  // namespace gw::store::contract

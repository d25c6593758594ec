// The AccountStore contract on SqliteAccountStore over a temporary file (WAL), with the
// test's FakeClock; its stored bytes are every file SQLite keeps there (db, -wal, -shm).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_account_store.h"
#include "store/testing/account_store_contract.h"
#include "store/testing/temp_dir.h"
#include "testing/loop_thread.h"

namespace gw::store::contract {
namespace {

class SqliteAccountBackend final : public AccountStoreBackend {
 public:
  explicit SqliteAccountBackend(core::FakeClock& clock) {
    auto opened = SqliteAccountStore::open((dir_.path() / "accounts.db").string(), clock);
    if (!opened) ADD_FAILURE() << opened.error().detail;
    if (opened) store_ = std::move(*opened);
  }
  ~SqliteAccountBackend() override { loop_.stop(); }

  AccountStore& store() override { return *store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  std::string stored_bytes() override {
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      std::ifstream in(entry.path(), std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return bytes;
  }

 private:
  TempDir dir_;
  gw::testing::LoopThread loop_;
  std::unique_ptr<SqliteAccountStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(SqliteAccountStoreContract, AccountStoreContract,
                               SqliteAccountBackend);

}  // namespace
}  // namespace gw::store::contract

// The AccountStore contract on RedisAccountStore on a fresh redis-server: the shared
// client serves lookups on the backend's loop, the store's own connections its admin
// calls; a case starts once the change subscription is established (its feed is quiet).
// Its stored bytes are every key and value in the database.
#include <chrono>
#include <memory>
#include <thread>

#include "store/redis/redis_account_store.h"
#include "store/testing/account_store_contract.h"
#include "store/testing/redis_inspection.h"
#include "testing/loop_thread.h"
#include "testing/redis_server.h"

namespace gw::store::contract {
namespace {

using namespace std::chrono_literals;

redis::ClientOptions options_for(const gw::testing::RedisServer& server) {
  redis::ClientOptions options;
  options.seeds.push_back(*redis::parse_redis_url(server.url()));
  options.timeout = 2s;  // generous: a slow CI machine must not turn into failures
  return options;
}

class RedisAccountBackend final : public AccountStoreBackend {
 public:
  explicit RedisAccountBackend(core::FakeClock&) {
    const auto deadline = std::chrono::steady_clock::now() + kCompletionDeadline;
    while (!store_.subscribed() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);  // poll interval
    }
    if (!store_.subscribed()) ADD_FAILURE() << "the change subscription never came up";
  }
  ~RedisAccountBackend() override { loop_.stop(); }  // first: the client outlives its loop's work

  AccountStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  std::string stored_bytes() override { return redis_all_bytes(server_); }

 private:
  gw::testing::RedisServer server_;
  gw::testing::LoopThread loop_;
  redis::RedisClient client_{options_for(server_)};
  redis::RedisAccountStore store_{client_, options_for(server_)};
};

INSTANTIATE_TYPED_TEST_SUITE_P(RedisAccountStoreContract, AccountStoreContract,
                               RedisAccountBackend);

}  // namespace
}  // namespace gw::store::contract

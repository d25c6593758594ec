// The SessionStore contract on RedisSessionStore, each on a fresh redis-server, in both of
// its time modes: RedisCallerTime (Time::caller: the `now` passed decides, to Redis's
// millisecond) and RedisServerTime (Time::redis, the default: Redis's clock decides).
// "Holds nothing" means the database has no key left.
#include <memory>

#include "store/redis/redis_session_store.h"
#include "store/testing/redis_inspection.h"
#include "store/testing/session_store_contract.h"
#include "testing/loop_thread.h"
#include "testing/redis_server.h"

namespace gw::store::contract {
namespace {

using namespace std::chrono_literals;

template <RedisSessionStore::Time kTime>
class RedisSessionBackend final : public SessionStoreBackend {
 public:
  explicit RedisSessionBackend(core::FakeClock&) {}
  ~RedisSessionBackend() override { loop_.stop(); }  // first: the client outlives its loop's work

  SessionStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override {
    return kTime == RedisSessionStore::Time::caller ? Clocking::caller : Clocking::store;
  }
  core::UnixNanos store_time() override { return redis_time(server_); }
  core::UnixNanos resolution() const override { return 1ms; }
  bool holds_nothing() override { return redis_key_count(server_) == 0; }

 private:
  static std::unique_ptr<redis::RedisClient> make_client(const std::string& url) {
    redis::ClientOptions options;
    options.seeds.push_back(*redis::parse_redis_url(url));
    options.timeout = 2s;  // generous: a slow CI machine must not turn into failures
    options.scripts = RedisSessionStore::scripts();
    return std::make_unique<redis::RedisClient>(std::move(options));
  }

  gw::testing::RedisServer server_;
  gw::testing::LoopThread loop_;
  std::unique_ptr<redis::RedisClient> client_ = make_client(server_.url());
  RedisSessionStore store_{*client_, kTime};
};

using RedisCallerTimeBackend = RedisSessionBackend<RedisSessionStore::Time::caller>;
using RedisServerTimeBackend = RedisSessionBackend<RedisSessionStore::Time::redis>;

INSTANTIATE_TYPED_TEST_SUITE_P(RedisCallerTimeSessionStoreContract, SessionStoreContract,
                               RedisCallerTimeBackend);
INSTANTIATE_TYPED_TEST_SUITE_P(RedisServerTimeSessionStoreContract, SessionStoreContract,
                               RedisServerTimeBackend);

}  // namespace
}  // namespace gw::store::contract

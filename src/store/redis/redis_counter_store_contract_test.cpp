// The CounterStore contract on the Redis backends, each on a fresh redis-server:
// - Redis: RedisCounterStore, store-clocked (the script reads Redis's TIME);
// - LocalFallbackWhileRedisAnswers: on_failure: local with Redis up, so Redis decides and
//   the local store is never touched (stored_subjects() counts both);
// - LocalFallbackWhileRedisIsAway: the same with connections to Redis refused, so every
//   check is decided by the local memory store, caller-clocked (stored_subjects() counts
//   the local store's alone: a case that expects a stored subject sees the fallback's).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "store/memory/memory_counter_store.h"
#include "store/redis/check_script.h"
#include "store/redis/local_fallback_counter_store.h"
#include "store/redis/redis_counter_store.h"
#include "store/testing/counter_store_contract.h"
#include "store/testing/redis_inspection.h"
#include "testing/loop_thread.h"
#include "testing/redis_server.h"

namespace gw::store::contract {
namespace {

using namespace std::chrono_literals;

static_assert(counter_contract::kWindow <= redis::kMaxScriptWindow);

std::unique_ptr<redis::RedisClient> make_client(const std::string& url) {
  redis::ClientOptions options;
  options.seeds.push_back(*redis::parse_redis_url(url));
  options.timeout = 2s;  // generous: a loaded 2-core CI machine must not time out
  options.scripts = {&redis::check_script()};
  return std::make_unique<redis::RedisClient>(std::move(options));
}

class RedisCounterBackend final : public CounterStoreBackend {
 public:
  explicit RedisCounterBackend(core::FakeClock&) {}
  ~RedisCounterBackend() override { loop_.stop(); }  // first: the client outlives its loop's work

  CounterStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override { return Clocking::store; }
  core::UnixNanos store_time() override { return redis_time(server_); }
  std::size_t stored_subjects() override { return redis_key_count(server_); }

 private:
  gw::testing::RedisServer server_;
  gw::testing::LoopThread loop_;
  std::unique_ptr<redis::RedisClient> client_ = make_client(server_.url());
  RedisCounterStore store_{*client_};
};

class LocalFallbackUpBackend final : public CounterStoreBackend {
 public:
  explicit LocalFallbackUpBackend(core::FakeClock&) {}
  ~LocalFallbackUpBackend() override { loop_.stop(); }

  CounterStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override { return Clocking::store; }
  core::UnixNanos store_time() override { return redis_time(server_); }
  std::size_t stored_subjects() override { return redis_key_count(server_) + local_.size(); }

 private:
  gw::testing::RedisServer server_;
  gw::testing::LoopThread loop_;
  std::unique_ptr<redis::RedisClient> client_ = make_client(server_.url());
  RedisCounterStore remote_{*client_};
  MemoryCounterStore local_;
  LocalFallbackCounterStore store_{remote_, local_, nullptr};
};

// A loopback port bound but not listening, held for the object's life: connecting to it
// is refused, and no server started meanwhile (another test's) can take it.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "RefusingPort: cannot bind a loopback port";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

class LocalFallbackAwayBackend final : public CounterStoreBackend {
 public:
  explicit LocalFallbackAwayBackend(core::FakeClock&) {}
  ~LocalFallbackAwayBackend() override { loop_.stop(); }

  CounterStore& store() override { return store_; }
  boost::asio::any_io_executor executor() override { return loop_.executor(); }
  Clocking clocking() const override { return Clocking::caller; }
  core::UnixNanos store_time() override { return {}; }
  std::size_t stored_subjects() override { return local_.size(); }

 private:
  RefusingPort nobody_;
  gw::testing::LoopThread loop_;
  std::unique_ptr<redis::RedisClient> client_ = make_client(nobody_.url());
  RedisCounterStore remote_{*client_};
  MemoryCounterStore local_;
  LocalFallbackCounterStore store_{remote_, local_, nullptr};
};

INSTANTIATE_TYPED_TEST_SUITE_P(RedisCounterStoreContract, CounterStoreContract,
                               RedisCounterBackend);
INSTANTIATE_TYPED_TEST_SUITE_P(LocalFallbackWhileRedisAnswersCounterStoreContract,
                               CounterStoreContract, LocalFallbackUpBackend);
INSTANTIATE_TYPED_TEST_SUITE_P(LocalFallbackWhileRedisIsAwayCounterStoreContract,
                               CounterStoreContract, LocalFallbackAwayBackend);

}  // namespace
}  // namespace gw::store::contract

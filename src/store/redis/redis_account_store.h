// AccountStore in Redis (SPEC §7, backend `redis`): every gateway instance reads and
// writes the same accounts and keys, and hears of every change through pub/sub.
//
// Layout: see redis_keys.h (account_key ... key_id_key). Only SHA-256 hashes of keys are
// stored. Revoking a key deletes its records; deleting an
// account deletes it and its keys. A change publishes the account id on `kg:accounts`.
//
// version() moves on every change made here, on every message on `kg:accounts` (changes
// made by other instances), and whenever the subscription is (re)established, so caches
// in front of the store drop what may be stale within one round trip of the change.
//
// The synchronous methods (the admin API) run their commands on the store's own event
// loop and wait at most a bounded time; lookup_key()/lookup_account() (the request path)
// run on the caller's loop through the shared client, without blocking.
//
// Outages (SPEC §7): a key verified in the last `verified_for` keeps working while Redis
// does not answer: lookup_key() then answers from the last good lookup of that key, kept
// process-wide (a new connection may land on a worker that never saw the key), and
// forgotten on any account change.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "store/account_store.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_subscriber.h"
#include "store/redis/resp.h"

namespace gw::store::redis {

class RedisAccountStore final : public AccountStore {
 public:
  // `shared` serves the request path (the workers' loops) and must outlive the store;
  // `options` configures the store's own connections (admin calls, the subscription).
  // `clock` gives the steady time that ages verified keys (see verified_for).
  RedisAccountStore(RedisClient& shared, const ClientOptions& options,
                    std::chrono::seconds verified_for = std::chrono::seconds(60),
                    const core::Clock& clock = core::real_clock());
  ~RedisAccountStore() override;
  RedisAccountStore(const RedisAccountStore&) = delete;
  RedisAccountStore& operator=(const RedisAccountStore&) = delete;

  AccountResult<std::optional<Account>> get_account(std::string_view id) override;
  AccountResult<bool> put_account(const Account& account) override;
  AccountResult<bool> delete_account(std::string_view id) override;
  AccountResult<std::vector<ApiKeyRecord>> list_keys(std::string_view account_id) override;
  AccountResult<CreatedKey> create_key(std::string_view account_id,
                                       KeyEnvironment environment) override;
  AccountResult<bool> revoke_key(std::string_view key_id) override;
  AccountResult<std::optional<ApiKeyRecord>> find_key(std::string_view plain_key) override;
  std::uint64_t version() const noexcept override {
    return version_.load(std::memory_order_acquire);
  }

  void lookup_key(std::string_view plain_key, const boost::asio::any_io_executor& executor,
                  KeyLookupHandler done) override;
  void lookup_account(std::string_view id, const boost::asio::any_io_executor& executor,
                      AccountHandler done) override;

  // True while the change subscription is established (for /readyz).
  bool subscribed() const noexcept { return subscribed_.load(std::memory_order_relaxed); }

 private:
  // One command on the store's own loop, waited for (bounded by the client's timeout).
  AccountResult<ReplyValue> call(std::string_view key, std::vector<std::string_view> args);
  AccountResult<ReplyValue> eval(const Script& script, std::vector<std::string_view> keys,
                                 std::vector<std::string_view> args);
  void changed(std::string_view account_id);  // bumps version() and publishes
  void bump() noexcept { version_.fetch_add(1, std::memory_order_acq_rel); }
  void remember_verified(const std::string& key_hash, const KeyLookup& lookup);
  std::optional<KeyLookup> recently_verified(const std::string& key_hash);
  // Any change (here or, through the subscription, elsewhere) may revoke what was verified.
  void forget_verified();

  struct Verified {
    KeyLookup lookup;
    core::SteadyTime at;
  };
  static constexpr std::size_t kMaxVerified = 100'000;

  RedisClient& shared_;
  const std::chrono::seconds verified_for_;
  const core::Clock& clock_;
  std::mutex verified_mutex_;
  std::unordered_map<std::string, Verified> verified_;  // by key hash; guarded
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<RedisClient> own_;  // connections on io_ only
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::atomic<std::uint64_t> version_{1};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;
};

}  // namespace gw::store::redis

// Awaitable caller resolution for coroutines on a worker's loop: the worker's CallerCache first,
// then, on a miss, a non-blocking account-store lookup whose answer is cached.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "decision/caller_cache.h"
#include "store/account_store.h"
#include "store/store_await.h"

namespace gw::decision {

using CallerResult = core::Result<std::shared_ptr<const Caller>, std::string>;

// The caller of a presented key, looked up in the account store after a cache miss;
// nullptr for an unknown or revoked key. `key` must outlive the call (it points into the
// request); the rest is taken by value, as coroutine frames must own what they read.
inline boost::asio::awaitable<CallerResult> lookup_caller(
    CallerCache& cache, store::AccountStore& accounts, std::string_view key,
    std::shared_ptr<const policy::Policy> policy) {
  const std::uint64_t started_at = cache.store_version();
  auto lookup = co_await store::async_store_call<store::AccountResult<store::KeyLookup>>(
      [&](auto executor, auto done) { accounts.lookup_key(key, executor, std::move(done)); });
  co_return cache.remember_key(key, std::move(lookup), *policy, started_at);
}

// The caller an account acts as in one environment; nullptr when it no longer exists.
inline boost::asio::awaitable<CallerResult> resolve_account(
    CallerCache& cache, store::AccountStore& accounts, std::string account_id,
    store::KeyEnvironment environment, std::shared_ptr<const policy::Policy> policy,
    std::uint64_t policy_version) {
  if (auto hit = cache.cached_account(account_id, environment, policy_version)) {
    co_return std::move(*hit);
  }
  const std::uint64_t started_at = cache.store_version();
  auto account =
      co_await store::async_store_call<store::AccountResult<std::optional<store::Account>>>(
          [&](auto executor, auto done) {
            accounts.lookup_account(account_id, executor, std::move(done));
          });
  co_return cache.remember_account(account_id, environment, std::move(account), *policy,
                                   started_at);
}

}  // namespace gw::decision

// Awaitable caller resolution for the proxy's coroutines: the worker's CallerCache first,
// then, on a miss, a non-blocking account-store lookup whose answer is cached.
#pragma once

#include <memory>
#include <string>

#include "proxy/beast.h"
#include "proxy/caller_cache.h"
#include "store/account_store.h"

namespace gw::proxy {

using CallerResult = core::Result<std::shared_ptr<const Caller>, std::string>;

namespace detail {

// Runs one AccountStore lookup and resumes the coroutine with its result.
template <typename T, typename Start>
net::awaitable<store::AccountResult<T>> async_lookup(Start start) {
  auto executor = co_await net::this_coro::executor;
  co_return co_await net::async_initiate<decltype(net::use_awaitable),
                                         void(store::AccountResult<T>)>(
      [&](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(executor, [shared](store::AccountResult<T> result) {
          std::move (*shared)(std::move(result));
        });
      },
      net::use_awaitable);
}

}  // namespace detail

// The caller of a presented key, looked up in the account store after a cache miss;
// nullptr for an unknown or revoked key. `key` must outlive the call (it points into the
// request); the rest is taken by value, as coroutine frames must own what they read.
inline net::awaitable<CallerResult> lookup_caller(CallerCache& cache, store::AccountStore& accounts,
                                                  std::string_view key,
                                                  std::shared_ptr<const policy::Policy> policy) {
  const std::uint64_t started_at = cache.store_version();
  auto lookup = co_await detail::async_lookup<store::KeyLookup>([&](auto executor, auto done) {
    accounts.lookup_key(key, executor, std::move(done));
  });
  co_return cache.remember_key(key, std::move(lookup), *policy, started_at);
}

// The caller an account acts as in one environment; nullptr when it no longer exists.
inline net::awaitable<CallerResult> resolve_account(CallerCache& cache,
                                                    store::AccountStore& accounts,
                                                    std::string account_id,
                                                    store::KeyEnvironment environment,
                                                    std::shared_ptr<const policy::Policy> policy,
                                                    std::uint64_t policy_version) {
  if (auto hit = cache.cached_account(account_id, environment, policy_version)) {
    co_return std::move(*hit);
  }
  const std::uint64_t started_at = cache.store_version();
  auto account =
      co_await detail::async_lookup<std::optional<store::Account>>([&](auto executor, auto done) {
        accounts.lookup_account(account_id, executor, std::move(done));
      });
  co_return cache.remember_account(account_id, environment, std::move(account), *policy,
                                   started_at);
}

}  // namespace gw::proxy

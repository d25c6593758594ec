// Awaitable wrappers over the callback-based CounterStore, for the proxy's coroutines.
#pragma once

#include <memory>

#include "proxy/beast.h"
#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::proxy {

// Runs store.check() (or peek()) and resumes the calling coroutine with its outcome, on
// the coroutine's executor. (Callers try store.check_immediately() first, without a
// coroutine.)
inline net::awaitable<store::CheckOutcome> async_check(
    store::CounterStore& store,
    store::CheckRequest request,  // by value: see respond_error()
    core::UnixNanos now, bool peek = false) {
  auto executor = co_await net::this_coro::executor;
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(store::CheckOutcome)>(
      [&](auto handler) {
        // CheckHandler is a copyable std::function; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto done = [shared](store::CheckOutcome outcome) {
          std::move (*shared)(std::move(outcome));
        };
        if (peek) {
          store.peek(request, now, executor, std::move(done));
        } else {
          store.check(request, now, executor, std::move(done));
        }
      },
      net::use_awaitable);
}

}  // namespace gw::proxy

namespace gw::proxy {

// Runs one callback-style store call and resumes the calling coroutine with its outcome.
// `start(executor, done)` issues the call; the store runs `done(outcome)` once, on the
// executor. (The stores take copyable std::functions; the coroutine's handler is
// move-only, hence the shared_ptr.)
template <typename Outcome, typename Start>
net::awaitable<Outcome> async_store_call(Start start) {
  auto executor = co_await net::this_coro::executor;
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(Outcome)>(
      [&](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(executor, [shared](Outcome outcome) { std::move (*shared)(std::move(outcome)); });
      },
      net::use_awaitable);
}

// One SessionStore call.
template <typename T, typename Start>
net::awaitable<store::SessionOutcome<T>> async_session(Start start) {
  return async_store_call<store::SessionOutcome<T>>(std::move(start));
}

}  // namespace gw::proxy

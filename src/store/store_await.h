// Awaitable wrappers over the callback-based stores, for coroutines on an Asio executor
// (the proxy's and the decision's). Each resumes its caller on the caller's executor,
// never inline.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "store/counter_store.h"
#include "store/session_store.h"

namespace gw::store {

namespace net = boost::asio;

// Runs store.check() (or peek()) and resumes the calling coroutine with its outcome, on
// the coroutine's executor. (Callers try store.check_immediately() first, without a
// coroutine.)
inline net::awaitable<CheckOutcome> async_check(
    CounterStore& store,
    CheckRequest request,  // by value: see respond_error()
    core::UnixNanos now, bool peek = false) {
  auto executor = co_await net::this_coro::executor;
  co_return co_await net::async_initiate<decltype(net::use_awaitable), void(CheckOutcome)>(
      [&](auto handler) {
        // CheckHandler is a copyable std::function; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto done = [shared](CheckOutcome outcome) { std::move (*shared)(std::move(outcome)); };
        if (peek) {
          store.peek(request, now, executor, std::move(done));
        } else {
          store.check(request, now, executor, std::move(done));
        }
      },
      net::use_awaitable);
}

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
net::awaitable<SessionOutcome<T>> async_session(Start start) {
  return async_store_call<SessionOutcome<T>>(std::move(start));
}

}  // namespace gw::store

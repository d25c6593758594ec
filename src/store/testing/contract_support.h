// What the store contract suites (counter_store_contract.h, session_store_contract.h,
// account_store_contract.h) share: how a backend keeps time, waiting for a completion with
// a deadline, and holding an event loop so that a test can tell a posted completion from
// one that ran inline. Test-only; every helper may be called from any thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

namespace gw::store::contract {

// Which clock decides: the contracts' cases run the same body on both, and say where the
// answer differs.
enum class Clocking {
  caller,  // the `now` each call passes (the test's FakeClock): exact boundaries
  store,   // the store's own clock (Redis's TIME); the `now` passed decides nothing
};

// Bounds every wait of the suites: a completion that has not come by then never will
// (the Redis clients time out in 2 s).
inline constexpr std::chrono::seconds kCompletionDeadline{10};

// Calls `start(done)` and waits for `done(T)`. nullopt (and a test failure) when it does
// not come within kCompletionDeadline. A second call of `done` throws (future_error): a
// store must complete exactly once.
template <typename T, typename Start>
std::optional<T> await(Start&& start) {
  auto answer = std::make_shared<std::promise<T>>();
  auto future = answer->get_future();
  start([answer](T value) { answer->set_value(std::move(value)); });
  if (future.wait_for(kCompletionDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "no completion within " << kCompletionDeadline.count() << " s";
    return std::nullopt;
  }
  return future.get();
}

// The id of the thread that runs `loop` (which must be running).
inline std::thread::id loop_thread_id(const boost::asio::any_io_executor& loop) {
  auto id = await<std::thread::id>(
      [&](auto done) { boost::asio::post(loop, [done] { done(std::this_thread::get_id()); }); });
  return id.value_or(std::thread::id());
}

// Keeps `loop` busy from construction until release() (or destruction): whatever is
// posted to it meanwhile waits, so a completion seen before release() ran inline.
class LoopHold {
 public:
  explicit LoopHold(const boost::asio::any_io_executor& loop) {
    auto entered = std::make_shared<std::promise<void>>();
    auto entered_future = entered->get_future();
    boost::asio::post(loop, [entered, released = released_->get_future().share()] {
      entered->set_value();
      released.wait();
    });
    if (entered_future.wait_for(kCompletionDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "the loop never ran the hold";
    }
  }
  ~LoopHold() { release(); }
  LoopHold(const LoopHold&) = delete;
  LoopHold& operator=(const LoopHold&) = delete;

  void release() {
    if (!released_flag_) {
      released_flag_ = true;
      released_->set_value();
    }
  }

 private:
  std::shared_ptr<std::promise<void>> released_ = std::make_shared<std::promise<void>>();
  bool released_flag_ = false;
};

// A completion captured by a test that issues calls while the loop is held: the value, and
// the thread it ran on. Thread-safe (the completion runs on the loop, the test reads it).
template <typename T>
class Captured {
 public:
  // The handler to pass to the store.
  auto handler() {
    return [state = state_](T value) {
      state->thread = std::this_thread::get_id();
      state->answer.set_value(std::move(value));
    };
  }
  bool arrived() const {
    return state_->future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  // Waits (bounded) for the completion; nullopt and a test failure if it never comes.
  std::optional<T> get() {
    if (state_->future.wait_for(kCompletionDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "no completion within " << kCompletionDeadline.count() << " s";
      return std::nullopt;
    }
    return state_->future.get();
  }
  std::thread::id thread() const { return state_->thread; }  // valid once arrived()

 private:
  struct State {
    std::promise<T> answer;
    std::future<T> future = answer.get_future();
    std::thread::id thread;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace gw::store::contract

// Completing a store call: the store interfaces promise that `done` runs on the caller's
// executor and never inline from the call (a caller may be mid-loop or hold a lock), so an
// answer known at once is posted. Thread-safe as boost::asio::post is.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace gw::store {

// Runs `done(std::move(result))` on `executor`, later.
template <typename Handler, typename Result>
void post_result(const boost::asio::any_io_executor& executor, Handler done, Result result) {
  boost::asio::post(executor, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

}  // namespace gw::store

// GET /admin/v1/accounts/{id}/usage: the state of every counter of one account, without
// charging anything (SPEC §6).
//
// An account's live traffic counts under the subject "<account_id>:live"; its sk_test_
// keys count under "<account_id>:test" with the free plan (SPEC §4). One peek is made per
// endpoint group the plan limits ([api, group]; just [api] when it limits none), one at a
// time, so completions never overlap and the query needs no lock whatever executor it is
// given. Peeks use cost 0: they report the window as it stands, not as it would be after
// one more request. Then the session slots held by each subject are counted (live, then
// test), the same way one after the other; counting frees expired slots first.
//
// Lifetime: owned by its pending store completion; `deps` must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>

#include "admin/admin_deps.h"
#include "admin/admin_http.h"

namespace gw::admin {

// The answer to a failed session store call: 503 rate_limiter_unavailable if retrying may
// help (error.transient), else 500 internal_error; the detail goes to the log only.
Response session_store_failure(std::string_view what, const store::StoreError& error,
                               std::string_view request_id);

class UsageQuery : public std::enable_shared_from_this<UsageQuery> {
 public:
  using Done = std::function<void(Response)>;

  // Starts the peeks; `done` runs exactly once, on `executor`, never inline.
  static void start(const AdminDeps& deps, std::shared_ptr<const policy::Policy> policy,
                    store::Account account, const policy::PlanLimits& effective,
                    std::string request_id, boost::asio::any_io_executor executor, Done done);

 private:
  struct Peek {
    std::string subject;
    std::array<store::LimitRef, store::kMaxLimitsPerCheck> limits{};  // names point into policy_
    std::size_t count = 0;
    bool test = false;
  };

  UsageQuery(const AdminDeps& deps, std::shared_ptr<const policy::Policy> policy,
             store::Account account, std::string request_id, boost::asio::any_io_executor executor,
             Done done);

  void add_peeks(const policy::PlanLimits& limits, bool test);
  void do_peek();
  void on_peek(store::CheckOutcome outcome);
  void do_count_sessions();
  void on_sessions(store::SessionOutcome<store::SessionStore::Listing> outcome);
  void finish();

  const AdminDeps& deps_;
  std::shared_ptr<const policy::Policy> policy_;  // keeps the LimitRef names alive
  store::Account account_;
  std::string request_id_;
  boost::asio::any_io_executor executor_;
  Done done_;
  core::UnixNanos now_;  // one instant for every peek of the query
  std::vector<Peek> peeks_;
  std::size_t next_ = 0;
  boost::json::object limits_;
  boost::json::object test_limits_;
  bool has_test_plan_ = false;
  std::optional<std::int64_t> sessions_limit_;       // the account's; nullopt = unlimited
  std::optional<std::int64_t> test_sessions_limit_;  // the test plan's
  std::size_t sessions_counted_ = 0;                 // 0: live next, 1: test next, 2: done
  std::array<std::int64_t, 2> active_sessions_{};    // live, test
};

}  // namespace gw::admin

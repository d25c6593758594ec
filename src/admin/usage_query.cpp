#include "admin/usage_query.h"

#include <optional>
#include <span>
#include <utility>

#include <spdlog/spdlog.h>

#include "admin/account_json.h"
#include "store/subject.h"

namespace gw::admin {
namespace {

constexpr std::string_view kTestPlan = "free";  // every sk_test_ key (SPEC §1)

boost::json::value optional_json(const std::optional<std::int64_t>& n) {
  return n ? boost::json::value(*n) : boost::json::value(nullptr);
}

}  // namespace

Response session_store_failure(std::string_view what, const store::StoreError& error,
                               std::string_view request_id) {
  spdlog::error("admin: {}: session store: {} (request {})", what, error.detail, request_id);
  if (error.transient) {
    return error_response(http::status::service_unavailable, kApiError, "rate_limiter_unavailable",
                          "The session store is unavailable.", request_id);
  }
  return error_response(http::status::internal_server_error, kApiError, "internal_error",
                        "The session store failed; see the gateway log.", request_id);
}

void UsageQuery::start(const AdminDeps& deps, std::shared_ptr<const policy::Policy> policy,
                       store::Account account, const policy::PlanLimits& effective,
                       std::string request_id, boost::asio::any_io_executor executor, Done done) {
  std::shared_ptr<UsageQuery> query(new UsageQuery(deps, std::move(policy), std::move(account),
                                                   std::move(request_id), std::move(executor),
                                                   std::move(done)));
  query->add_peeks(effective, false);
  query->sessions_limit_ = effective.concurrent_sessions;
  if (const policy::PlanLimits* free = query->policy_->plan(kTestPlan)) {
    query->has_test_plan_ = true;
    query->test_sessions_limit_ = free->concurrent_sessions;
    query->add_peeks(*free, true);
  }
  query->do_peek();
}

UsageQuery::UsageQuery(const AdminDeps& deps, std::shared_ptr<const policy::Policy> policy,
                       store::Account account, std::string request_id,
                       boost::asio::any_io_executor executor, Done done)
    : deps_(deps),
      policy_(std::move(policy)),
      account_(std::move(account)),
      request_id_(std::move(request_id)),
      executor_(std::move(executor)),
      done_(std::move(done)),
      now_(deps.clock.now()) {}

void UsageQuery::add_peeks(const policy::PlanLimits& limits, bool test) {
  const std::string subject = store::subject_of(
      account_.id, test ? store::KeyEnvironment::test : store::KeyEnvironment::live);
  const auto& groups = policy_->config().groups;
  const std::size_t before = peeks_.size();
  auto add = [&](std::optional<std::size_t> group) {
    Peek peek{.subject = subject, .test = test};
    peek.count = policy_->limits_for(limits, group, std::span(peek.limits));
    peeks_.push_back(std::move(peek));
  };
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (limits.groups.contains(groups[i].name)) add(i);
  }
  if (peeks_.size() == before) add(std::nullopt);  // the plan limits no group: [api] alone
}

void UsageQuery::do_peek() {
  if (next_ == peeks_.size()) return do_count_sessions();
  const Peek& peek = peeks_[next_];
  const store::CheckRequest request{
      .subject = peek.subject,
      .limits = std::span<const store::LimitRef>(peek.limits.data(), peek.count),
      .cost = 0};
  deps_.counters.peek(request, now_, executor_,
                      [self = shared_from_this()](store::CheckOutcome outcome) {
                        self->on_peek(std::move(outcome));
                      });
}

void UsageQuery::on_peek(store::CheckOutcome outcome) {
  if (!outcome) {
    spdlog::warn("admin: usage of account {}: counter store: {} (request {})", account_.id,
                 outcome.error().detail, request_id_);
    return done_(error_response(http::status::service_unavailable, kApiError,
                                "rate_limiter_unavailable",
                                "The rate limiter's counter store is unavailable.", request_id_));
  }
  const Peek& peek = peeks_[next_++];
  boost::json::object& into = peek.test ? test_limits_ : limits_;
  const std::size_t count = std::min(peek.count, outcome->count);
  for (std::size_t i = 0; i < count; ++i) {
    into[peek.limits[i].name] = counter_json(outcome->decisions[i], peek.limits[i].spec);
  }
  do_peek();
}

void UsageQuery::do_count_sessions() {
  if (sessions_counted_ == active_sessions_.size()) return finish();
  const std::string subject =
      store::subject_of(account_.id, sessions_counted_ == 0 ? store::KeyEnvironment::live
                                                            : store::KeyEnvironment::test);
  deps_.sessions.list(
      subject, now_, executor_,
      [self = shared_from_this()](store::SessionOutcome<store::SessionStore::Listing> outcome) {
        self->on_sessions(std::move(outcome));
      });
}

void UsageQuery::on_sessions(store::SessionOutcome<store::SessionStore::Listing> outcome) {
  if (!outcome) {
    return done_(
        session_store_failure("usage of account " + account_.id, outcome.error(), request_id_));
  }
  active_sessions_[sessions_counted_++] = outcome->active;
  do_count_sessions();
}

void UsageQuery::finish() {
  const metrics::UsageCounts recent = deps_.usage.last_60_minutes(account_.id, now_);
  boost::json::object body;
  body["account_id"] = account_.id;
  body["plan"] = account_.plan;
  body["limits"] = std::move(limits_);
  body["test_limits"] =
      has_test_plan_ ? boost::json::value(std::move(test_limits_)) : boost::json::value(nullptr);
  body["active_sessions"] = active_sessions_[0];
  body["test_active_sessions"] = active_sessions_[1];
  body["concurrent_sessions_limit"] = optional_json(sessions_limit_);
  body["test_concurrent_sessions_limit"] =
      has_test_plan_ ? optional_json(test_sessions_limit_) : boost::json::value(nullptr);
  body["last_60_minutes"] = {{"allowed", recent.allowed}, {"denied", recent.denied}};
  done_(json_response(http::status::ok, body, request_id_));
}

}  // namespace gw::admin

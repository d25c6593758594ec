#include "decision/decider.h"

#include <fmt/format.h>

#include <chrono>

#include "decision/caller_lookup.h"
#include "decision/rate_limit_fields.h"
#include "decision/store_failure_log.h"
#include "limiter/check.h"
#include "store/store_await.h"

namespace gw::decision {
namespace {

std::string window_phrase(const limiter::LimitSpec& spec) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(spec.window).count();
  if (seconds == 60) return "per minute";
  if (seconds == 1) return "per second";
  return fmt::format("per {} seconds", seconds);
}

double seconds_between(core::SteadyTime started, core::SteadyTime now) {
  return std::chrono::duration<double>(now - started).count();
}

Refusal too_many_requests(const LimitSet& limits, const store::CheckResult& result) {
  const auto view = result.view();
  const std::size_t shown = limiter::most_constraining(view, /*admitted=*/false);
  const limiter::Decision& d = view[shown];
  const std::int64_t retry = retry_after_seconds(d);
  const store::LimitRef& limit = limits.storage[shown];
  return Refusal{.status = 429,
                 .type = "rate_limit_error",
                 .code = "rate_limit_exceeded",
                 .message = fmt::format(
                     "Rate limit exceeded for {} ({} {}). Retry after {} second{}.", limit.name,
                     d.limit, window_phrase(limit.spec), retry, retry == 1 ? "" : "s"),
                 .retry_after_s = retry};
}

}  // namespace

Refusal rate_limiter_unavailable() {
  return Refusal{.status = 503,
                 .type = "api_error",
                 .code = "rate_limiter_unavailable",
                 .message = "The rate limiter is unavailable. Retry later."};
}

Decider::Decider(CallerCache& callers, store::AccountStore& accounts, store::CounterStore& counters,
                 metrics::GatewayMetrics& metrics, metrics::UsageHistory& usage,
                 const core::Clock& clock)
    : callers_(callers),
      accounts_(accounts),
      counters_(counters),
      metrics_(metrics),
      usage_(usage),
      clock_(clock) {}

std::optional<Identity> Decider::identify_now(const PresentedCredential& credential,
                                              const core::IpBytes& client,
                                              const DecisionContext& context) {
  if (credential.kind == PresentedCredential::Kind::conflicting) {
    metrics_.unauthenticated();
    return Identity{
        .refusal = Refusal{.status = 400,
                           .type = "invalid_request_error",
                           .code = "multiple_api_keys",
                           .message = "More than one API key was provided. Send exactly one, in "
                                      "'Authorization: Bearer <key>' or 'X-API-Key'."}};
  }
  std::shared_ptr<const Caller> caller;
  if (!credential.key.empty()) {
    callers_.set_ttl(context.settings.caller_cache_ttl);
    auto hit = callers_.cached_key(credential.key, context.policy_version);
    if (!hit) return std::nullopt;
    caller = std::move(*hit);
  }
  return identity_of(credential, std::move(caller), client, context);
}

boost::asio::awaitable<Identity> Decider::identify(PresentedCredential credential,
                                                   core::IpBytes client,
                                                   const DecisionContext& context) {
  if (auto now = identify_now(credential, client, context)) co_return std::move(*now);
  CallerResult found = co_await lookup_caller(callers_, accounts_, credential.key, context.policy);
  metrics_.key_lookup(!found   ? metrics::KeyLookupResult::error
                      : *found ? metrics::KeyLookupResult::known
                               : metrics::KeyLookupResult::unknown);
  if (!found) co_return store_unavailable(found.error());
  co_return identity_of(credential, std::move(*found), client, context);
}

std::optional<Identity> Decider::identify_account_now(std::string_view account_id,
                                                      store::KeyEnvironment environment,
                                                      const DecisionContext& context) {
  callers_.set_ttl(context.settings.caller_cache_ttl);
  auto hit = callers_.cached_account(account_id, environment, context.policy_version);
  if (!hit) return std::nullopt;
  return Identity{.caller = std::move(*hit)};
}

boost::asio::awaitable<Identity> Decider::identify_account(std::string account_id,
                                                           store::KeyEnvironment environment,
                                                           const DecisionContext& context) {
  callers_.set_ttl(context.settings.caller_cache_ttl);
  CallerResult resolved =
      co_await resolve_account(callers_, accounts_, std::move(account_id), environment,
                               context.policy, context.policy_version);
  if (!resolved) co_return store_unavailable(resolved.error());
  co_return Identity{.caller = std::move(*resolved)};
}

Identity Decider::identity_of(const PresentedCredential& credential,
                              std::shared_ptr<const Caller> caller, const core::IpBytes& client,
                              const DecisionContext& context) {
  if (caller) return Identity{.caller = std::move(caller), .key_charged = true};
  if (context.settings.unknown_key == UnknownKey::anonymous) {
    return Identity{.caller = callers_.anonymous(client, *context.policy, context.policy_version)};
  }
  metrics_.unauthenticated();
  return Identity{
      .refusal = Refusal{.status = 401,
                         .type = "authentication_error",
                         .code = "invalid_api_key",
                         .message = credential.kind == PresentedCredential::Kind::none
                                        ? "No API key provided. Use 'Authorization: Bearer <key>' "
                                          "or 'X-API-Key'."
                                        : "Invalid API key provided."}};
}

Identity Decider::store_unavailable(std::string_view detail) {
  log_store_failure("account store unavailable", detail);
  metrics_.store_error();
  return Identity{.refusal = rate_limiter_unavailable()};
}

LimitSet Decider::limits(const Caller& caller, std::string_view method, std::string_view path,
                         const policy::Policy& policy) {
  return limits_in_group(caller, policy.match_group(method, path), policy);
}

LimitSet Decider::limits_in_group(const Caller& caller, std::optional<std::size_t> group,
                                  const policy::Policy& policy) {
  LimitSet set;
  set.group = group;
  if (group) set.group_name = policy.group_name(*group);
  set.count = policy.limits_for(caller.limits, group,
                                std::span<store::LimitRef, store::kMaxLimitsPerCheck>(set.storage));
  return set;
}

std::optional<Verdict> Decider::check_now(const Caller& caller, const LimitSet& limits,
                                          std::int64_t cost, core::UnixNanos now,
                                          const DecisionContext& context) {
  if (limits.count == 0) return verdict_of(caller, limits, std::nullopt, now, context);
  const core::SteadyTime started = clock_.steady_now();
  // The memory store (and a remote one for a key it knows is over) answers at once.
  std::optional<store::CheckOutcome> outcome = counters_.check_immediately(
      store::CheckRequest{caller.subject, limits.view(), cost, caller.subject_hash}, now);
  if (!outcome) return std::nullopt;
  metrics_.decision_latency(seconds_between(started, clock_.steady_now()));
  return verdict_of(caller, limits, std::move(outcome), now, context);
}

boost::asio::awaitable<Verdict> Decider::check(std::shared_ptr<const Caller> caller,
                                               LimitSet limits, std::int64_t cost,
                                               core::UnixNanos now,
                                               const DecisionContext& context) {
  if (limits.count == 0) co_return verdict_of(*caller, limits, std::nullopt, now, context);
  const core::SteadyTime started = clock_.steady_now();
  const store::CheckRequest request{caller->subject, limits.view(), cost, caller->subject_hash};
  std::optional<store::CheckOutcome> outcome = counters_.check_immediately(request, now);
  if (!outcome) outcome = co_await store::async_check(counters_, request, now);
  metrics_.decision_latency(seconds_between(started, clock_.steady_now()));
  co_return verdict_of(*caller, limits, std::move(outcome), now, context);
}

// `outcome` is nullopt when nothing was limited (no check ran).
Verdict Decider::verdict_of(const Caller& caller, const LimitSet& limits,
                            std::optional<store::CheckOutcome> outcome, core::UnixNanos now,
                            const DecisionContext& context) {
  Verdict verdict;
  if (outcome && !*outcome) {
    metrics_.store_error();
    metrics_.decision(caller.plan_name, limits.group_name, metrics::DecisionResult::degraded);
    log_store_failure("counter store error", outcome->error().detail);
    if (context.settings.on_failure == OnStoreFailure::fail_closed) {
      verdict.refusal = rate_limiter_unavailable();
      return verdict;
    }
    // fail_open (and `local`, whose fallback store answers transient failures itself, so
    // only what it cannot answer gets here): admit, counted as degraded.
  } else if (outcome) {
    verdict.result = **outcome;
    verdict.decided = true;
  }
  verdict.admitted = !verdict.decided || verdict.result.admitted;
  for (const auto& d : verdict.result.view()) verdict.shadow_over |= d.over_limit;
  if (verdict.decided) {
    metrics_.decision(caller.plan_name, limits.group_name,
                      !verdict.admitted     ? metrics::DecisionResult::denied
                      : verdict.shadow_over ? metrics::DecisionResult::shadow_denied
                                            : metrics::DecisionResult::allowed);
  }
  // Usage history is per account, for the admin usage view. Anonymous callers have none:
  // nobody could read it, and a client rotating addresses would grow it without bound.
  if (!caller.anonymous) usage_.record(caller.account_id, verdict.admitted, now);
  if (!verdict.admitted) {
    metrics_.rejected_429("rate_limit_exceeded");
    verdict.refusal = too_many_requests(limits, verdict.result);
  }
  return verdict;
}

}  // namespace gw::decision

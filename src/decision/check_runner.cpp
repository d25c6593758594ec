#include "decision/check_runner.h"

#include <fmt/format.h>

#include "core/result.h"
#include "limiter/limit_bounds.h"
#include "policy/request_target.h"

namespace gw::decision {
namespace {

Refusal invalid_query(std::string_view code, std::string message) {
  return Refusal{
      .status = 400, .type = "invalid_request_error", .code = code, .message = std::move(message)};
}

// The group each selector names, or the refusal of a selector the policy cannot read.
// Resolved before the caller is known: a misnamed group is the asking proxy's error
// whoever calls.
struct Selection {
  enum class Names { plan, group, nothing };
  Names names = Names::nothing;
  std::size_t group = 0;
};

core::Result<Selection, Refusal> resolve(const LimitSelector& selector,
                                         const policy::Policy& policy) {
  switch (selector.kind) {
    case LimitSelector::Kind::plan:
      return Selection{.names = Selection::Names::plan};
    case LimitSelector::Kind::group: {
      const auto group = policy.find_group(selector.group);
      if (!group) {
        return core::unexpected(invalid_query(
            "unknown_group", fmt::format("No endpoint group is named '{}'.", selector.group)));
      }
      return Selection{.names = Selection::Names::group, .group = *group};
    }
    case LimitSelector::Kind::route: {
      // The proxy's own reading of a target (policy/request_target.h): the same forms are
      // refused, and the same canonical path is matched.
      const auto target = policy::normalize_target(selector.path);
      if (!target || selector.method.empty()) {
        return core::unexpected(invalid_query("invalid_request_target",
                                              "The method and path do not form a valid request."));
      }
      const std::string_view path = std::string_view(*target).substr(0, target->find('?'));
      const auto group = policy.match_group(selector.method, path);
      if (!group) return Selection{};
      return Selection{.names = Selection::Names::group, .group = *group};
    }
  }
  return Selection{};
}

// Adds `limit` to `set` unless it is there (two selectors may name one limit: it is
// checked, and charged, once). nullopt: the set is full.
std::optional<std::size_t> add_limit(LimitSet& set, const store::LimitRef& limit) {
  for (std::size_t i = 0; i < set.count; ++i) {
    if (set.storage[i].name == limit.name) return i;
  }
  if (set.count == set.storage.size()) return std::nullopt;
  set.storage[set.count] = limit;
  return set.count++;
}

}  // namespace

boost::asio::awaitable<CheckAnswer> run_check(Decider& decider, CheckQuery query,
                                              DecisionContext context, core::UnixNanos now) {
  CheckAnswer answer;
  answer.policy = context.policy;
  answer.now = now;
  answer.fields = context.settings.fields;
  answer.selectors = query.selectors.size();
  const policy::Policy& policy = *context.policy;

  if (query.cost < 1 || query.cost > limiter::kMaxCost) {
    answer.refusal = invalid_query(
        "invalid_cost", fmt::format("The cost must be from 1 to {}.", limiter::kMaxCost));
    co_return answer;
  }
  if (query.selectors.empty()) {
    answer.refusal = invalid_query("no_limits", "The check names no limit.");
    co_return answer;
  }
  if (query.selectors.size() > kMaxSelectors) {
    answer.refusal = invalid_query("too_many_limits",
                                   fmt::format("A check names at most {} limits.", kMaxSelectors));
    co_return answer;
  }
  std::vector<Selection> selections;
  selections.reserve(query.selectors.size());
  for (const auto& selector : query.selectors) {
    auto selection = resolve(selector, policy);
    if (!selection) {
      answer.refusal = std::move(selection.error());
      co_return answer;
    }
    selections.push_back(*selection);
  }

  Identity identity;
  if (query.by == CheckQuery::By::account) {
    identity = co_await decider.identify_account(query.account_id, query.environment, context);
    if (!identity.refusal && !identity.caller) {
      identity.refusal = Refusal{.status = 401,
                                 .type = "authentication_error",
                                 .code = "unknown_account",
                                 .message = "No such account."};
    }
  } else {
    // Without an address there is no anonymous caller to fall back to.
    if (!query.client) context.settings.unknown_key = UnknownKey::reject;
    identity =
        co_await decider.identify(PresentedCredential{.kind = query.key_kind, .key = query.key},
                                  query.client.value_or(core::IpBytes{}), context);
  }
  if (identity.refusal) {
    answer.refusal = std::move(identity.refusal);
    co_return answer;
  }
  answer.caller = std::move(identity.caller);
  const Caller& caller = *answer.caller;

  answer.selected.reserve(selections.size());
  for (const Selection& selection : selections) {
    std::optional<store::LimitRef> limit;
    if (selection.names == Selection::Names::plan) limit = policy.api_limit(caller.limits);
    if (selection.names == Selection::Names::group) {
      limit = policy.group_limit(caller.limits, selection.group);
      if (limit && answer.limits.group_name.empty()) {
        answer.limits.group = selection.group;
        answer.limits.group_name = policy.group_name(selection.group);
      }
    }
    std::optional<std::size_t> index;
    if (limit) {
      index = add_limit(answer.limits, *limit);
      if (!index) {
        answer.refusal = invalid_query(
            "too_many_limits",
            fmt::format("A check names at most {} distinct limits.", store::kMaxLimitsPerCheck));
        co_return answer;
      }
    }
    answer.selected.push_back(index);
  }

  answer.checked = answer.limits.count > 0;
  answer.verdict = co_await decider.check(answer.caller, answer.limits, query.cost, now, context);
  answer.refusal = answer.verdict.refusal;
  co_return answer;
}

}  // namespace gw::decision

#include "decision/check_runner.h"

#include <fmt/format.h>

#include "core/result.h"
#include "limiter/limit_bounds.h"
#include "policy/request_target.h"

namespace gw::decision {
namespace {

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

// The steps of a check that never wait, shared by run_check() and run_check_now().
class CheckSteps {
 public:
  CheckSteps(const CheckQuery& query, DecisionContext& context, core::UnixNanos now)
      : query_(query), policy_(*context.policy) {
    answer_.policy = context.policy;
    answer_.now = now;
    answer_.fields = context.settings.fields;
    answer_.selectors = query.selectors.size();
    // Without an address there is no anonymous caller to fall back to.
    if (query.by == CheckQuery::By::key && !query.client) {
      context.settings.unknown_key = UnknownKey::reject;
    }
  }

  // The query's own refusal (cost, selectors), before anyone is identified. false: refused.
  bool validate() {
    if (query_.cost < 1 || query_.cost > limiter::kMaxCost) {
      return refuse(invalid_query(
          "invalid_cost", fmt::format("The cost must be from 1 to {}.", limiter::kMaxCost)));
    }
    if (query_.selectors.empty())
      return refuse(invalid_query("no_limits", "The check names no limit."));
    if (query_.selectors.size() > kMaxSelectors) {
      return refuse(invalid_query("too_many_limits",
                                  fmt::format("A check names at most {} limits.", kMaxSelectors)));
    }
    selections_.reserve(query_.selectors.size());
    for (const auto& selector : query_.selectors) {
      auto selection = resolve(selector, policy_);
      if (!selection) return refuse(std::move(selection.error()));
      selections_.push_back(*selection);
    }
    return true;
  }

  PresentedCredential credential() const {
    return PresentedCredential{.kind = query_.key_kind, .key = query_.key};
  }
  core::IpBytes client() const { return query_.client.value_or(core::IpBytes{}); }

  // Takes the caller in and names its limits. false: refused (identity, too many limits).
  bool select(Identity identity) {
    if (!identity.refusal && !identity.caller) {  // identify_account(): the account is gone
      identity.refusal = Refusal{.status = 401,
                                 .type = "authentication_error",
                                 .code = "unknown_account",
                                 .message = "No such account."};
    }
    if (identity.refusal) return refuse(std::move(*identity.refusal));
    answer_.caller = std::move(identity.caller);
    const Caller& caller = *answer_.caller;
    answer_.selected.reserve(selections_.size());
    for (const Selection& selection : selections_) {
      std::optional<store::LimitRef> limit;
      if (selection.names == Selection::Names::plan) limit = policy_.api_limit(caller.limits);
      if (selection.names == Selection::Names::group) {
        limit = policy_.group_limit(caller.limits, selection.group);
        if (limit && answer_.limits.group_name.empty()) {
          answer_.limits.group = selection.group;
          answer_.limits.group_name = policy_.group_name(selection.group);
        }
      }
      std::optional<std::size_t> index;
      if (limit) {
        index = add_limit(answer_.limits, *limit);
        if (!index) {
          return refuse(invalid_query(
              "too_many_limits",
              fmt::format("A check names at most {} distinct limits.", store::kMaxLimitsPerCheck)));
        }
      }
      answer_.selected.push_back(index);
    }
    answer_.checked = answer_.limits.count > 0;
    return true;
  }

  CheckAnswer finish(Verdict verdict) {
    answer_.refusal = verdict.refusal;
    answer_.verdict = std::move(verdict);
    return std::move(answer_);
  }
  CheckAnswer refused() { return std::move(answer_); }

  CheckAnswer& answer() { return answer_; }

 private:
  bool refuse(Refusal refusal) {
    answer_.refusal = std::move(refusal);
    return false;
  }

  const CheckQuery& query_;
  const policy::Policy& policy_;
  CheckAnswer answer_;
  std::vector<Selection> selections_;
};

}  // namespace

std::optional<CheckAnswer> run_check_now(Decider& decider, const CheckQuery& query,
                                         DecisionContext context, core::UnixNanos now) {
  CheckSteps steps(query, context, now);
  if (!steps.validate()) return steps.refused();
  std::optional<Identity> identity =
      query.by == CheckQuery::By::account
          ? decider.identify_account_now(query.account_id, query.environment, context)
          : decider.identify_now(steps.credential(), steps.client(), context);
  if (!identity) return std::nullopt;
  if (!steps.select(std::move(*identity))) return steps.refused();
  const CheckAnswer& answer = steps.answer();
  std::optional<Verdict> verdict =
      decider.check_now(*answer.caller, answer.limits, query.cost, now, context);
  if (!verdict) return std::nullopt;
  return steps.finish(std::move(*verdict));
}

boost::asio::awaitable<CheckAnswer> run_check(Decider& decider, CheckQuery query,
                                              DecisionContext context, core::UnixNanos now) {
  CheckSteps steps(query, context, now);
  if (!steps.validate()) co_return steps.refused();
  Identity identity;
  if (query.by == CheckQuery::By::account) {
    identity = co_await decider.identify_account(query.account_id, query.environment, context);
  } else {
    identity = co_await decider.identify(steps.credential(), steps.client(), context);
  }
  if (!steps.select(std::move(identity))) co_return steps.refused();
  CheckAnswer& answer = steps.answer();
  Verdict verdict = co_await decider.check(answer.caller, answer.limits, query.cost, now, context);
  co_return steps.finish(std::move(verdict));
}

}  // namespace gw::decision

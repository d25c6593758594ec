#include "rls/rate_limit_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "core/bearer_token.h"
#include "decision/check_runner.h"
#include "store/subject.h"

namespace gw::rls {
namespace {

using decision::CheckQuery;
using decision::invalid_query;
using decision::LimitSelector;
using decision::PresentedCredential;
using decision::Refusal;

// The caller one descriptor names. Two descriptors name the same caller when these match.
struct NamedCaller {
  CheckQuery::By by = CheckQuery::By::key;
  std::optional<std::string_view> value;  // api_key or account; nullopt: none presented
  std::string_view environment;           // with account
  std::optional<std::string_view> remote_address;

  bool operator==(const NamedCaller&) const = default;
};

// The entries of one descriptor that mean something here; nullopt members are absent.
struct DescriptorEntries {
  std::optional<std::string_view> api_key, account, environment, group, method, path,
      remote_address;
};

core::Result<DescriptorEntries, Refusal> read_entries(
    const envoy::extensions::common::ratelimit::v3::RateLimitDescriptor& descriptor, int index) {
  if (descriptor.entries_size() > kMaxEntriesPerDescriptor) {
    return core::unexpected(invalid_query(
        "invalid_descriptor",
        fmt::format("Descriptor {} has more than {} entries.", index, kMaxEntriesPerDescriptor)));
  }
  DescriptorEntries out;
  for (const auto& entry : descriptor.entries()) {
    std::optional<std::string_view>* slot = nullptr;
    const std::string_view key = entry.key();
    if (key == "api_key")
      slot = &out.api_key;
    else if (key == "account")
      slot = &out.account;
    else if (key == "environment")
      slot = &out.environment;
    else if (key == "group")
      slot = &out.group;
    else if (key == "method")
      slot = &out.method;
    else if (key == "path")
      slot = &out.path;
    else if (key == "remote_address")
      slot = &out.remote_address;
    if (slot == nullptr) continue;  // an entry of some other service's
    if (slot->has_value()) {
      return core::unexpected(
          invalid_query("invalid_descriptor",
                        fmt::format("Descriptor {} has more than one '{}' entry.", index, key)));
    }
    if (entry.value().size() > kMaxEntryBytes) {
      return core::unexpected(invalid_query(
          "invalid_descriptor", fmt::format("Descriptor {}'s '{}' entry is longer than {} bytes.",
                                            index, key, kMaxEntryBytes)));
    }
    *slot = std::string_view(entry.value());
  }
  return out;
}

core::Result<NamedCaller, Refusal> caller_of(const DescriptorEntries& entries, int index) {
  NamedCaller caller;
  caller.remote_address = entries.remote_address;
  if (entries.api_key && entries.account) {
    return core::unexpected(
        invalid_query("invalid_descriptor",
                      fmt::format("Descriptor {} names both an api_key and an account.", index)));
  }
  if (entries.account) {
    if (!store::is_valid_account_id(*entries.account)) {
      return core::unexpected(invalid_query(
          "invalid_descriptor",
          fmt::format("Descriptor {}'s account must be 1 to {} characters of A-Z, a-z, 0-9, "
                      "'_', '-', '.'.",
                      index, store::kMaxAccountIdLength)));
    }
    caller.by = CheckQuery::By::account;
    caller.value = entries.account;
    caller.environment = entries.environment.value_or("live");
    if (caller.environment != "live" && caller.environment != "test") {
      return core::unexpected(invalid_query(
          "invalid_descriptor",
          fmt::format("Descriptor {}'s environment must be 'live' or 'test'.", index)));
    }
  } else {
    caller.value = entries.api_key;
  }
  return caller;
}

core::Result<LimitSelector, Refusal> selector_of(const DescriptorEntries& entries, int index) {
  LimitSelector selector;
  if (entries.group && (entries.method || entries.path)) {
    return core::unexpected(invalid_query(
        "invalid_descriptor",
        fmt::format("Descriptor {} names a group and a route: one descriptor names one limit.",
                    index)));
  }
  if (entries.method.has_value() != entries.path.has_value()) {
    return core::unexpected(invalid_query(
        "invalid_descriptor",
        fmt::format("Descriptor {} has a method without a path or a path without a method.",
                    index)));
  }
  if (entries.group) {
    selector.kind = LimitSelector::Kind::group;
    selector.group = *entries.group;
  } else if (entries.path) {
    selector.kind = LimitSelector::Kind::route;
    selector.method = *entries.method;
    selector.path = *entries.path;
  }
  return selector;
}

// The key an api_key entry presents: a bare key, or the value of an Authorization header
// (Envoy's request_headers action copies the header as sent).
PresentedCredential::Kind read_key(std::string_view value, std::string& key) {
  const std::string_view token = core::bearer_token(value);
  key = token.empty() ? core::trim_ows(value) : token;
  return key.empty() ? PresentedCredential::Kind::malformed : PresentedCredential::Kind::key;
}

}  // namespace

core::Result<CheckQuery, Refusal> read_rate_limit_request(
    const envoy::service::ratelimit::v3::RateLimitRequest& request) {
  if (request.domain() != kDomain) {
    return core::unexpected(invalid_query(
        "unknown_domain", fmt::format("This rate limit service answers the domain '{}' "
                                      "only.",
                                      kDomain)));
  }
  if (request.descriptors_size() == 0) {
    return core::unexpected(invalid_query("no_limits", "The request has no descriptors."));
  }
  if (static_cast<std::size_t>(request.descriptors_size()) > decision::kMaxSelectors) {
    return core::unexpected(invalid_query(
        "too_many_limits",
        fmt::format("A request has at most {} descriptors.", decision::kMaxSelectors)));
  }
  const std::uint64_t request_cost = request.hits_addend() == 0 ? 1 : request.hits_addend();

  CheckQuery query;
  std::optional<NamedCaller> named;
  std::optional<std::uint64_t> cost;
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& descriptor = request.descriptors(i);
    auto entries = read_entries(descriptor, i);
    if (!entries) return core::unexpected(std::move(entries.error()));
    auto caller = caller_of(*entries, i);
    if (!caller) return core::unexpected(std::move(caller.error()));
    if (named && !(*named == *caller)) {
      return core::unexpected(invalid_query(
          "multiple_callers",
          "The descriptors name different callers; one request is checked for one caller."));
    }
    named = *caller;
    std::uint64_t own_cost = request_cost;
    if (descriptor.has_hits_addend())
      own_cost = std::max<std::uint64_t>(descriptor.hits_addend().value(), 1);
    if (cost && *cost != own_cost) {
      return core::unexpected(
          invalid_query("invalid_cost",
                        "The descriptors ask for different hits_addend values; the "
                        "check charges every limit alike."));
    }
    cost = own_cost;
    auto selector = selector_of(*entries, i);
    if (!selector) return core::unexpected(std::move(selector.error()));
    query.selectors.push_back(std::move(*selector));
  }

  // Beyond int64 is beyond any cost: run_check() refuses it with the others out of range.
  query.cost = *cost > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? std::numeric_limits<std::int64_t>::max()
                   : static_cast<std::int64_t>(*cost);
  query.by = named->by;
  if (named->by == CheckQuery::By::account) {
    query.account_id = std::string(*named->value);
    query.environment =
        named->environment == "test" ? store::KeyEnvironment::test : store::KeyEnvironment::live;
  } else if (named->value) {
    query.key_kind = read_key(*named->value, query.key);
  }
  if (named->remote_address) {
    const auto address = core::parse_ip(*named->remote_address);
    if (!address) {
      return core::unexpected(
          invalid_query("invalid_descriptor", "The remote_address entry is not an IP address."));
    }
    query.client = *address;
  }
  return query;
}

}  // namespace gw::rls

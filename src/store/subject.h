// The subject an account's traffic is counted and limited under: "<account_id>:<env>",
// e.g. "acct_1:live". A key's environment picks the subject, so sk_test_ traffic has its
// own counters and session slots beside the account's live ones; the Redis keys of one
// subject share its hash tag (redis_keys.h). Anonymous callers ("ip:<block>") have
// subjects of their own, made where they are counted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/ascii.h"
#include "store/account_store.h"

namespace gw::store {

// "live" / "test": the name stores keep, the admin API shows and a subject ends with.
constexpr std::string_view environment_name(KeyEnvironment environment) noexcept {
  return environment == KeyEnvironment::test ? "test" : "live";
}

// The environment a stored name stands for: test for "test", else live.
constexpr KeyEnvironment environment_named(std::string_view name) noexcept {
  return name == "test" ? KeyEnvironment::test : KeyEnvironment::live;
}

// Account ids end up in counter subjects ("<id>:live") and Redis hash tags, so they are
// restricted to characters that need no escaping anywhere: 1 to 128 of [A-Za-z0-9._-].
inline constexpr std::size_t kMaxAccountIdLength = 128;
constexpr bool is_valid_account_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxAccountIdLength) return false;
  for (char c : id) {
    if (!core::is_ascii_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

inline std::string subject_of(std::string_view account_id, KeyEnvironment environment) {
  std::string subject(account_id);
  subject += ':';
  subject += environment_name(environment);
  return subject;
}

// The environment of an account's subject, as subject_of() made it: test when it ends
// in ":test", else live.
constexpr KeyEnvironment environment_of(std::string_view subject) noexcept {
  return subject.ends_with(":test") ? KeyEnvironment::test : KeyEnvironment::live;
}

}  // namespace gw::store

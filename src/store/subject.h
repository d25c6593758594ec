// The subject an account's traffic is counted and limited under: "<account_id>:<env>",
// e.g. "acct_1:live". A key's environment picks the subject, so sk_test_ traffic has its
// own counters and session slots beside the account's live ones; the Redis keys of one
// subject share its hash tag (redis_keys.h). Anonymous callers ("ip:<block>") have
// subjects of their own, made where they are counted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

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

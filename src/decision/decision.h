// The decision of one request, whatever carried it (the proxy's HTTP request, a gRPC
// ShouldRateLimit call, POST /v1/check): who is calling, which limits apply, whether the
// all-or-nothing check admits it, and what to answer when it does not. Plain values, no
// transport types; Decider (decider.h) computes them. Thread-safety: plain values (a
// Caller is immutable and shared between threads by shared_ptr).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "decision/caller.h"
#include "store/counter_store.h"

namespace gw::decision {

// The API key a request presents (SPEC §4 "Identity"), as its transport read it.
struct PresentedCredential {
  enum class Kind { none, key, malformed, conflicting };
  Kind kind = Kind::none;
  std::string_view key;            // Kind::key
  bool via_authorization = false;  // Kind::key: an Authorization line carried it
};

// An answer of the gateway's own instead of the API's: the Kallglot error shape
// (SPEC §6) and its HTTP status. Texts are owned or static.
struct Refusal {
  int status = 0;  // 400, 401, 429, 503
  std::string_view type;
  std::string_view code;
  std::string message;
  std::optional<std::int64_t> retry_after_s;
};

// Who is calling. Either a caller (possibly anonymous) or a refusal.
struct Identity {
  std::shared_ptr<const Caller> caller;
  std::optional<Refusal> refusal;
  // The presented key is the caller's and is forwarded (never for an anonymous caller:
  // the API must not authenticate a request counted against a client address).
  bool key_charged = false;
};

// The limits one request must acquire: the plan-wide limit ("api") and, when the request
// is in a group the plan limits, the group's. Fixed storage: no allocation. The names
// point into the Policy they came from.
struct LimitSet {
  std::optional<std::size_t> group;  // the request's endpoint group, limited or not
  std::string_view group_name;       // empty outside any group
  std::array<store::LimitRef, store::kMaxLimitsPerCheck> storage{};
  std::size_t count = 0;

  std::span<const store::LimitRef> view() const { return {storage.data(), count}; }
};

// What the check of a LimitSet came to.
struct Verdict {
  bool admitted = false;
  // The counters answered: `result` holds a decision per limit, and the answer carries
  // the rate-limit fields. False when nothing was limited or the store failed (degraded).
  bool decided = false;
  bool shadow_over = false;  // admitted, but a shadow-mode limit was over
  store::CheckResult result;
  std::optional<Refusal> refusal;  // 429 when over, 503 when the store failed closed
};

}  // namespace gw::decision

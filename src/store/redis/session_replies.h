// What Redis answers RedisSessionStore, decoded: the replies of the session scripts (their
// shapes are documented in session_scripts.h) and the JSON value of a session key. Each
// decoder takes a reply that is not an error reply (the store turns those into StoreErrors
// first) and returns nullopt for anything but the documented shape, which the store
// reports as a protocol error; a time that UnixNanos cannot hold (more than ~292 years
// from 1970) is not that shape. Apart from the store so that the reply path can be tested
// and fuzzed without a server (fuzz/resp_reply_fuzzer.cpp). Pure functions; thread-safe.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "store/session_store.h"

namespace gw::store::redis {

// acquire_slot_script: {1, held} reserved, {0, held} refused.
struct AcquireReply {
  bool acquired = false;
  std::int64_t held = 0;
};
std::optional<AcquireReply> decode_acquire_reply(const redisReply* reply);

// bind_slot_script: {1, created ms, lease expires ms, account id} bound, {0} the
// reservation is unknown (bound is false, the rest empty).
struct BindReply {
  bool bound = false;
  core::UnixNanos created{};
  core::UnixNanos lease_expires{};
  std::string account_id;
};
std::optional<BindReply> decode_bind_reply(const redisReply* reply);

// renew_slot_script: the new lease expiry, or 0 when the slot is not held (renewed false).
struct RenewReply {
  bool renewed = false;
  core::UnixNanos lease_expires{};
};
std::optional<RenewReply> decode_renew_reply(const redisReply* reply);

// list_slots_script: {held, id, created ms, lease expires ms, account id, ...}; the
// sessions in reply order, each of `subject`.
std::optional<SessionStore::Listing> decode_list_reply(const redisReply* reply,
                                                       std::string_view subject);

// The session key's value: {"subject", "account_id", "created_ms", "lease_expires_ms"}.
std::string session_value(const SessionRecord& record);
std::optional<SessionRecord> parse_session_value(std::string_view session_id,
                                                 std::string_view text);

}  // namespace gw::store::redis

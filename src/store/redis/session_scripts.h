// The Lua scripts behind RedisSessionStore (SPEC §4 "Concurrent sessions", §7).
//
// A subject's slots live in two keys of one hash slot (redis_keys.h), so every script
// below touches one slot and is Cluster-safe:
//   KEYS[1] slots    sorted set: member "r:<reservation>" or "s:<session id>", scored by
//                    lease expiry (Unix ms). A member whose score <= now is free again.
//   KEYS[2] records  hash: the same members -> "<created ms>:<account id>".
// Each script frees the subject's expired members first when it counts them (acquire,
// bind, list), and gives both keys a TTL of their last lease + kSubjectKeyMarginMs, so a
// subject nobody touches any more vanishes by itself; a subject left with no slot is
// deleted at once. Scripts, not MULTI/EXEC: count-then-add must be one atomic step.
//
// Time: ARGV "now" is Unix milliseconds; "0" means Redis's own clock (TIME), so gateways
// whose clocks differ still agree on when a lease ends. A positive value is used as is
// (tests, and RedisSessionStore::Time::caller).
//
// Per session there is also kg:session:{<id>} (JSON: subject, account_id, created_ms,
// lease_expires_ms; PX = lease), in the session id's own slot, so a stream knowing only
// the id can find its subject. It is written by the store with plain commands; only
// forget_session_script() needs a script (compare, then delete).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/redis/script.h"

namespace gw::store::redis {

// How long a subject's keys outlive its last lease. Covers the skew between a gateway's
// clock and Redis's when the caller's time is used.
inline constexpr std::int64_t kSubjectKeyMarginMs = 60'000;

// ARGV: now, lease ms, limit ("" = unlimited; <= 0 admits nothing), reservation id,
//       account id.
// Reply: {1, held} reserved ("r:<reservation>", created = now); {0, held} refused, nothing
//        added. `held` counts reserved and bound slots after the call.
const Script& acquire_slot_script();

// ARGV: now, lease ms, reservation id, session id.
// Reply: {1, created ms, lease expires ms, account id}: "r:<reservation>" became
//        "s:<session id>" with lease now + lease. If the subject already holds that session
//        id, it keeps its one slot (and created time) with the fresh lease and the
//        reservation is freed. {0}: the reservation is unknown (expired, cancelled, bound).
const Script& bind_slot_script();

// Gives a slot back: cancels a reservation or releases a bound session.
// ARGV: the slot's member (reservation_member() or session_member()).
// Reply: 1 freed, 0 not held by this subject. Ignores leases (no clock).
const Script& free_slot_script();

// The sorted-set members naming a reserved and a bound slot.
std::string reservation_member(std::string_view reservation);
std::string session_member(std::string_view session_id);

// ARGV: now, lease ms, session id.
// Reply: the new lease expiry (ms) of a bound slot whose lease has not run out; 0 otherwise.
const Script& renew_slot_script();

// ARGV: now.
// Reply: {held, id, created ms, lease expires ms, account id, ...} for each bound slot
//        (after freeing expired ones); reservations count in `held` only.
const Script& list_slots_script();

// KEYS[1] kg:session:{<id>}. ARGV: subject.
// Deletes the key only if it names `subject`, so ending a session id in one subject never
// forgets another subject's binding of it. Reply: 1 deleted, 0 otherwise.
const Script& forget_session_script();

// Every script above, for ClientOptions::scripts.
std::vector<const Script*> session_scripts();

}  // namespace gw::store::redis

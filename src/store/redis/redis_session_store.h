// RedisSessionStore: concurrent-session slots in Redis, shared by every gateway instance
// (store.backend: redis; SPEC §4 "Concurrent sessions", §5, §7).
//
// Layout and scripts: session_scripts.h. Per subject, one sorted set of slots scored by
// lease expiry plus a hash of their records, changed only by scripts (one round trip, one
// Cluster slot, atomic: acquire() never lets more than `limit` slots be held, whatever
// the number of gateways). Per bound session, kg:session:{<id>} (PX = lease) lets find()
// and renew(), which know only the session id, reach the subject in one GET.
//
// Time: with Time::redis (the default) the scripts read Redis's clock and the `now`
// arguments are ignored, so gateways with skewed clocks agree on when a lease ends; the
// times reported (created, lease_expires) are Redis's. Time::caller passes the caller's
// `now` instead (tests, exact boundaries); it must be > 0.
//
// Round trips: acquire, cancel, list: one script. release: the script and the deletion
// of the session key, pipelined (one round trip). bind: the script, then the session key
// (two: the key's content comes from the reservation, which only the script reads, and
// it must exist only for a slot that is bound). find: one GET. renew: GET, script, SET.
//
// Semantics as MemorySessionStore, except:
// - reservation ids are 16 random hex digits (a reservation lives in Redis, and another
//   gateway's ids must not collide with this one's);
// - a session id bound in two subjects (an upstream bug) holds a slot in each, and
//   find() answers the later binding; release() in one never forgets the other's key;
// - find() answers a bound session until its key expires (Redis's clock, ~ the lease end
//   plus one round trip); with Time::caller it also answers nothing once lease_expires
//   <= now;
// - no sweep: expired slots are freed when their subject is next counted, and the keys of
//   a subject nobody touches expire by themselves (TTL: last lease + a margin).
//
// Errors: the client's StoreError as is; an error reply, or a reply of an unexpected
// shape, is StoreErrc::protocol_error with the reply's text (transient when Redis says it
// will recover: LOADING, BUSY...).
// Thread-safety: every method may be called from any thread. `done` runs on `executor`,
// never inline. Lifetime: the client must outlive the store and every call in flight;
// calls in flight do not refer to the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "store/redis/redis_client.h"
#include "store/session_store.h"

namespace gw::store {

class RedisSessionStore final : public SessionStore {
 public:
  enum class Time { redis, caller };

  explicit RedisSessionStore(redis::RedisClient& client, Time time = Time::redis);
  RedisSessionStore(const RedisSessionStore&) = delete;
  RedisSessionStore& operator=(const RedisSessionStore&) = delete;

  // The scripts the client should load when it connects (ClientOptions::scripts).
  static std::vector<const redis::Script*> scripts();

  // SessionStore
  void acquire(std::string_view subject, std::string_view account_id,
               std::optional<std::int64_t> limit, core::UnixNanos now, std::chrono::seconds lease,
               boost::asio::any_io_executor executor, SessionHandler<SlotGrant> done) override;
  void bind(std::string_view subject, std::string_view reservation, std::string_view session_id,
            core::UnixNanos now, std::chrono::seconds lease, boost::asio::any_io_executor executor,
            SessionHandler<bool> done) override;
  void cancel(std::string_view subject, std::string_view reservation,
              boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void release(std::string_view subject, std::string_view session_id,
               boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void find(std::string_view session_id, core::UnixNanos now, boost::asio::any_io_executor executor,
            SessionHandler<std::optional<SessionRecord>> done) override;
  void renew(std::string_view session_id, core::UnixNanos now, std::chrono::seconds lease,
             boost::asio::any_io_executor executor, SessionHandler<bool> done) override;
  void list(std::string_view subject, core::UnixNanos now, boost::asio::any_io_executor executor,
            SessionHandler<Listing> done) override;

 private:
  redis::RedisClient& client_;
  Time time_;
};

}  // namespace gw::store

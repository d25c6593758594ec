#include "store/redis/redis_session_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/algorithm/hex.hpp>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "store/post_result.h"
#include "store/redis/redis_keys.h"
#include "store/redis/resp.h"
#include "store/redis/session_replies.h"
#include "store/redis/session_scripts.h"

namespace gw::store {
namespace {

using core::UnixNanos;
using redis::ReplyResult;
using std::chrono::milliseconds;

// ---- Arguments ---------------------------------------------------------------------

std::string decimal(std::int64_t n) { return std::to_string(n); }

// A lease is clamped to [0, ~68 years], as in MemorySessionStore.
std::int64_t lease_ms(std::chrono::seconds lease) {
  constexpr std::chrono::seconds kLongest{std::numeric_limits<std::int32_t>::max()};
  return milliseconds(std::clamp(lease, std::chrono::seconds{0}, kLongest)).count();
}

// Random, not a counter: reservations of every gateway share the subject's sorted set.
std::string new_reservation_id() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  const std::uint64_t bits = rng();
  std::string id(16, '0');
  boost::algorithm::hex_lower(&bits, &bits + 1, id.begin());  // 16 digits of one uint64
  return id;
}

// ---- Replies -----------------------------------------------------------------------

StoreError protocol_error(std::string detail) {
  return StoreError{
      .code = StoreErrc::protocol_error, .transient = false, .detail = std::move(detail)};
}

// An error reply is the command's answer; these ones pass once the server is ready.
StoreError error_reply(std::string_view what, const redisReply* reply) {
  const std::string_view text = redis::reply_text(reply);
  StoreError error = protocol_error("redis " + std::string(what) + ": " + std::string(text));
  for (std::string_view prefix :
       {"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY"}) {
    if (text.starts_with(prefix)) error.transient = true;
  }
  return error;
}

StoreError unexpected_reply(std::string_view what) {
  return protocol_error("redis " + std::string(what) + ": unexpected reply");
}

// Turns a ReplyResult into the reply or the StoreError the caller gets.
core::Result<const redisReply*, StoreError> checked(std::string_view what, ReplyResult result) {
  if (!result) return core::unexpected(std::move(result.error()));
  const redisReply* reply = *result;
  if (reply == nullptr) return core::unexpected(unexpected_reply(what));
  if (reply->type == REDIS_REPLY_ERROR) return core::unexpected(error_reply(what, reply));
  return reply;
}

// Two replies, one answer: release() sends its script and the key's deletion together,
// and their callbacks may run on different threads if the executor's loop has several.
struct ReleaseJoin {
  std::atomic<int> pending{2};
  std::optional<StoreError> first_error;  // the release script's, else the deletion's
  std::optional<StoreError> second_error;
  bool freed = false;
  SessionHandler<bool> done;

  void finish() {
    if (pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (first_error) return done(core::unexpected(std::move(*first_error)));
    if (second_error) return done(core::unexpected(std::move(*second_error)));
    done(freed);
  }
};

}  // namespace

RedisSessionStore::RedisSessionStore(redis::RedisClient& client, Time time)
    : client_(client), time_(time) {}

std::vector<const redis::Script*> RedisSessionStore::scripts() { return redis::session_scripts(); }

namespace {

// "0" tells a script to read Redis's clock.
std::string now_arg(RedisSessionStore::Time time, UnixNanos now) {
  if (time == RedisSessionStore::Time::redis) return "0";
  return decimal(std::chrono::duration_cast<milliseconds>(now).count());
}

}  // namespace

void RedisSessionStore::acquire(std::string_view subject, std::string_view account_id,
                                std::optional<std::int64_t> limit, UnixNanos now,
                                std::chrono::seconds lease, boost::asio::any_io_executor executor,
                                SessionHandler<SlotGrant> done) {
  const std::string slots = redis::session_slots_key(subject);
  const std::string records = redis::session_records_key(subject);
  const std::array<std::string_view, 2> keys{slots, records};
  std::string reservation = new_reservation_id();
  const std::string now_text = now_arg(time_, now);
  const std::string lease_text = decimal(lease_ms(lease));
  const std::string limit_text = limit ? decimal(*limit) : std::string();
  const std::array<std::string_view, 5> args{now_text, lease_text, limit_text, reservation,
                                             account_id};
  client_.eval(executor, redis::acquire_slot_script(), keys, args,
               [reservation = std::move(reservation), limit,
                done = std::move(done)](ReplyResult result) mutable {
                 auto reply = checked("acquire", std::move(result));
                 if (!reply) return done(core::unexpected(std::move(reply.error())));
                 const auto decoded = redis::decode_acquire_reply(*reply);
                 if (!decoded) return done(core::unexpected(unexpected_reply("acquire")));
                 SlotGrant grant{
                     .acquired = decoded->acquired, .active = decoded->held, .limit = limit};
                 if (grant.acquired) grant.reservation = std::move(reservation);
                 done(std::move(grant));
               });
}

void RedisSessionStore::bind(std::string_view subject, std::string_view reservation,
                             std::string_view session_id, UnixNanos now, std::chrono::seconds lease,
                             boost::asio::any_io_executor executor, SessionHandler<bool> done) {
  if (session_id.empty()) {
    // Nothing to bind to; the reservation stays for a cancel(), as in memory.
    post_result(executor, std::move(done), SessionOutcome<bool>(false));
    return;
  }
  const std::string slots = redis::session_slots_key(subject);
  const std::string records = redis::session_records_key(subject);
  const std::array<std::string_view, 2> keys{slots, records};
  const std::string now_text = now_arg(time_, now);
  const std::int64_t lease_millis = lease_ms(lease);
  const std::string lease_text = decimal(lease_millis);
  const std::array<std::string_view, 4> args{now_text, lease_text, reservation, session_id};
  client_.eval(
      executor, redis::bind_slot_script(), keys, args,
      [client = &client_, executor, lease_millis, subject = std::string(subject),
       session_id = std::string(session_id), done = std::move(done)](ReplyResult result) mutable {
        auto reply = checked("bind", std::move(result));
        if (!reply) return done(core::unexpected(std::move(reply.error())));
        auto bound = redis::decode_bind_reply(*reply);
        if (!bound) return done(core::unexpected(unexpected_reply("bind")));
        if (!bound->bound) return done(false);

        const std::string value =
            redis::session_value(SessionRecord{.session_id = session_id,
                                               .subject = std::move(subject),
                                               .account_id = std::move(bound->account_id),
                                               .created = bound->created,
                                               .lease_expires = bound->lease_expires});
        const std::string key = redis::session_key(session_id);
        // PX 0 is refused; a zero lease has already run out, and so will the key at once.
        const std::string px = decimal(std::max<std::int64_t>(lease_millis, 1));
        const std::array<std::string_view, 5> set{"SET", key, value, "PX", px};
        client->command(executor, key, set, [done = std::move(done)](ReplyResult set_result) {
          // The slot is bound either way; an error here leaves it without its key (find()
          // misses it, its lease is not renewed), so it is reported.
          auto stored = checked("bind (session key)", std::move(set_result));
          if (!stored) return done(core::unexpected(std::move(stored.error())));
          done(true);
        });
      });
}

void RedisSessionStore::cancel(std::string_view subject, std::string_view reservation,
                               boost::asio::any_io_executor executor, SessionHandler<bool> done) {
  const std::string slots = redis::session_slots_key(subject);
  const std::string records = redis::session_records_key(subject);
  const std::array<std::string_view, 2> keys{slots, records};
  const std::string member = redis::reservation_member(reservation);
  const std::array<std::string_view, 1> args{member};
  client_.eval(executor, redis::free_slot_script(), keys, args,
               [done = std::move(done)](ReplyResult result) {
                 auto reply = checked("cancel", std::move(result));
                 if (!reply) return done(core::unexpected(std::move(reply.error())));
                 const auto freed = redis::reply_integer(*reply);
                 if (!freed) return done(core::unexpected(unexpected_reply("cancel")));
                 done(*freed == 1);
               });
}

void RedisSessionStore::release(std::string_view subject, std::string_view session_id,
                                boost::asio::any_io_executor executor, SessionHandler<bool> done) {
  auto pair = std::make_shared<ReleaseJoin>();
  pair->done = std::move(done);

  const std::string slots = redis::session_slots_key(subject);
  const std::string records = redis::session_records_key(subject);
  const std::array<std::string_view, 2> keys{slots, records};
  const std::string member = redis::session_member(session_id);
  const std::array<std::string_view, 1> args{member};
  client_.eval(executor, redis::free_slot_script(), keys, args, [pair](ReplyResult result) {
    auto reply = checked("release", std::move(result));
    if (!reply) {
      pair->first_error = std::move(reply.error());
    } else if (const auto freed = redis::reply_integer(*reply)) {
      pair->freed = *freed == 1;
    } else {
      pair->first_error = unexpected_reply("release");
    }
    pair->finish();
  });

  // Sent without waiting for the script: whether or not this subject still held the
  // slot, a key naming this subject is stale once the slot is released, and a key naming
  // another subject is left alone.
  const std::string key = redis::session_key(session_id);
  const std::array<std::string_view, 1> forget_keys{key};
  const std::array<std::string_view, 1> forget_args{subject};
  client_.eval(executor, redis::forget_session_script(), forget_keys, forget_args,
               [pair](ReplyResult result) {
                 auto reply = checked("release (session key)", std::move(result));
                 if (!reply) pair->second_error = std::move(reply.error());
                 pair->finish();
               });
}

void RedisSessionStore::find(std::string_view session_id, UnixNanos now,
                             boost::asio::any_io_executor executor,
                             SessionHandler<std::optional<SessionRecord>> done) {
  const std::string key = redis::session_key(session_id);
  const std::array<std::string_view, 2> args{"GET", key};
  client_.command(
      executor, key, args,
      [time = time_, now, session_id = std::string(session_id),
       done = std::move(done)](ReplyResult result) {
        auto reply = checked("find", std::move(result));
        if (!reply) return done(core::unexpected(std::move(reply.error())));
        const redisReply* r = *reply;
        if (r->type == REDIS_REPLY_NIL) return done(std::optional<SessionRecord>());
        if (r->type != REDIS_REPLY_STRING) return done(core::unexpected(unexpected_reply("find")));
        auto record = redis::parse_session_value(session_id, redis::reply_text(r));
        if (!record)
          return done(core::unexpected(protocol_error("redis find: malformed session key")));
        if (time == Time::caller && record->lease_expires <= now) {
          return done(std::optional<SessionRecord>());
        }
        done(std::move(record));
      });
}

void RedisSessionStore::renew(std::string_view session_id, UnixNanos now,
                              std::chrono::seconds lease, boost::asio::any_io_executor executor,
                              SessionHandler<bool> done) {
  // The session key names the subject whose slot to renew; the script renews the slot
  // (the authority), then the key follows with the same lease.
  const std::string key = redis::session_key(session_id);
  const std::array<std::string_view, 2> get{"GET", key};
  client_.command(
      executor, key, get,
      [client = &client_, executor, now_text = now_arg(time_, now), lease_millis = lease_ms(lease),
       session_id = std::string(session_id), done = std::move(done)](ReplyResult result) mutable {
        auto reply = checked("renew", std::move(result));
        if (!reply) return done(core::unexpected(std::move(reply.error())));
        if ((*reply)->type == REDIS_REPLY_NIL) return done(false);
        if ((*reply)->type != REDIS_REPLY_STRING) {
          return done(core::unexpected(unexpected_reply("renew")));
        }
        auto record = redis::parse_session_value(session_id, redis::reply_text(*reply));
        if (!record)
          return done(core::unexpected(protocol_error("redis renew: malformed session key")));

        const std::string slots = redis::session_slots_key(record->subject);
        const std::string records = redis::session_records_key(record->subject);
        const std::array<std::string_view, 2> keys{slots, records};
        const std::string lease_text = decimal(lease_millis);
        const std::array<std::string_view, 3> args{now_text, lease_text, session_id};
        client->eval(executor, redis::renew_slot_script(), keys, args,
                     [client, executor, lease_millis, record = std::move(*record),
                      done = std::move(done)](ReplyResult renewed) mutable {
                       auto reply = checked("renew", std::move(renewed));
                       if (!reply) return done(core::unexpected(std::move(reply.error())));
                       const auto renewed_slot = redis::decode_renew_reply(*reply);
                       if (!renewed_slot) return done(core::unexpected(unexpected_reply("renew")));
                       if (!renewed_slot->renewed) return done(false);

                       record.lease_expires = renewed_slot->lease_expires;
                       const std::string key = redis::session_key(record.session_id);
                       const std::string value = redis::session_value(record);
                       const std::string px = decimal(std::max<std::int64_t>(lease_millis, 1));
                       // XX: a release() that got in between has deleted the key; keep it deleted.
                       const std::array<std::string_view, 6> set{"SET", key, value, "PX", px, "XX"};
                       client->command(
                           executor, key, set, [done = std::move(done)](ReplyResult set_result) {
                             auto stored = checked("renew (session key)", std::move(set_result));
                             if (!stored) return done(core::unexpected(std::move(stored.error())));
                             done((*stored)->type != REDIS_REPLY_NIL);
                           });
                     });
      });
}

void RedisSessionStore::list(std::string_view subject, UnixNanos now,
                             boost::asio::any_io_executor executor, SessionHandler<Listing> done) {
  const std::string slots = redis::session_slots_key(subject);
  const std::string records = redis::session_records_key(subject);
  const std::array<std::string_view, 2> keys{slots, records};
  const std::string now_text = now_arg(time_, now);
  const std::array<std::string_view, 1> args{now_text};
  client_.eval(executor, redis::list_slots_script(), keys, args,
               [subject = std::string(subject), done = std::move(done)](ReplyResult result) {
                 auto reply = checked("list", std::move(result));
                 if (!reply) return done(core::unexpected(std::move(reply.error())));
                 auto decoded = redis::decode_list_reply(*reply, subject);
                 if (!decoded) return done(core::unexpected(unexpected_reply("list")));
                 Listing listing = std::move(*decoded);
                 // Oldest first; the id breaks ties so the order is stable from call to call.
                 std::sort(listing.sessions.begin(), listing.sessions.end(),
                           [](const SessionRecord& a, const SessionRecord& b) {
                             return a.created != b.created ? a.created < b.created
                                                           : a.session_id < b.session_id;
                           });
                 done(std::move(listing));
               });
}

}  // namespace gw::store

#include "store/redis/session_replies.h"

#include <boost/json.hpp>
#include <limits>

#include "store/redis/resp.h"

namespace gw::store::redis {
namespace {

using std::chrono::milliseconds;

// A time in Unix milliseconds as UnixNanos; nullopt beyond what nanoseconds in an int64
// hold (about 292 years either side of 1970), which only a broken or hostile server sends.
std::optional<core::UnixNanos> from_ms(std::int64_t ms) {
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 1'000'000;
  if (ms > kLimit || ms < -kLimit) return std::nullopt;
  return milliseconds(ms);
}

std::optional<core::UnixNanos> from_ms(const std::optional<std::int64_t>& ms) {
  return ms ? from_ms(*ms) : std::nullopt;
}

}  // namespace

std::optional<AcquireReply> decode_acquire_reply(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return std::nullopt;
  const auto acquired = reply_integer(reply->element[0]);
  const auto held = reply_integer(reply->element[1]);
  if (!acquired || !held) return std::nullopt;
  return AcquireReply{.acquired = *acquired == 1, .held = *held};
}

std::optional<BindReply> decode_bind_reply(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return std::nullopt;
  const auto bound = reply_integer(reply->element[0]);
  if (bound == 0 && reply->elements == 1) return BindReply{};
  if (bound != 1 || reply->elements != 4 || reply->element[3]->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  const auto created = from_ms(reply_integer(reply->element[1]));
  const auto expires = from_ms(reply_integer(reply->element[2]));
  if (!created || !expires) return std::nullopt;
  return BindReply{.bound = true,
                   .created = *created,
                   .lease_expires = *expires,
                   .account_id = std::string(reply_text(reply->element[3]))};
}

std::optional<RenewReply> decode_renew_reply(const redisReply* reply) {
  const auto expires = reply_integer(reply);
  if (!expires) return std::nullopt;
  if (*expires == 0) return RenewReply{};
  const auto lease_expires = from_ms(*expires);
  if (!lease_expires) return std::nullopt;
  return RenewReply{.renewed = true, .lease_expires = *lease_expires};
}

std::optional<SessionStore::Listing> decode_list_reply(const redisReply* reply,
                                                       std::string_view subject) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 4 != 1) return std::nullopt;
  const auto held = reply_integer(reply->element[0]);
  if (!held) return std::nullopt;
  SessionStore::Listing listing;
  listing.active = *held;
  listing.sessions.reserve(reply->elements / 4);
  for (std::size_t i = 1; i < reply->elements; i += 4) {
    const redisReply* const* at = reply->element + i;
    const auto created = from_ms(reply_integer(at[1]));
    const auto expires = from_ms(reply_integer(at[2]));
    if (at[0]->type != REDIS_REPLY_STRING || !created || !expires ||
        at[3]->type != REDIS_REPLY_STRING) {
      return std::nullopt;
    }
    listing.sessions.push_back(SessionRecord{.session_id = std::string(reply_text(at[0])),
                                             .subject = std::string(subject),
                                             .account_id = std::string(reply_text(at[3])),
                                             .created = *created,
                                             .lease_expires = *expires});
  }
  return listing;
}

std::string session_value(const SessionRecord& record) {
  return boost::json::serialize(boost::json::object{
      {"subject", record.subject},
      {"account_id", record.account_id},
      {"created_ms", std::chrono::duration_cast<milliseconds>(record.created).count()},
      {"lease_expires_ms",
       std::chrono::duration_cast<milliseconds>(record.lease_expires).count()}});
}

std::optional<SessionRecord> parse_session_value(std::string_view session_id,
                                                 std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& object = value.get_object();
  const auto* subject = object.if_contains("subject");
  const auto* account = object.if_contains("account_id");
  const auto* created = object.if_contains("created_ms");
  const auto* expires = object.if_contains("lease_expires_ms");
  if (!subject || !subject->is_string() || !account || !account->is_string() || !created ||
      !created->is_int64() || !expires || !expires->is_int64()) {
    return std::nullopt;
  }
  const auto created_at = from_ms(created->get_int64());
  const auto expires_at = from_ms(expires->get_int64());
  if (!created_at || !expires_at) return std::nullopt;
  return SessionRecord{.session_id = std::string(session_id),
                       .subject = std::string(subject->get_string()),
                       .account_id = std::string(account->get_string()),
                       .created = *created_at,
                       .lease_expires = *expires_at};
}

}  // namespace gw::store::redis

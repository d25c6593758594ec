// The session replies decoded from RESP as hiredis reads it (the scripts themselves run on
// a real server in session_scripts_test.cpp and redis_session_store_test.cpp).
#include "store/redis/session_replies.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "testing/resp_reply.h"

namespace gw::store::redis {
namespace {

using gw::testing::RespReply;
using std::chrono::milliseconds;

std::string integer(std::string_view n) { return ":" + std::string(n) + "\r\n"; }
std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

TEST(SessionReplies, DecodesAcquire) {
  const auto acquired = decode_acquire_reply(RespReply("*2\r\n:1\r\n:3\r\n").get());
  ASSERT_TRUE(acquired);
  EXPECT_TRUE(acquired->acquired);
  EXPECT_EQ(acquired->held, 3);
  const auto refused = decode_acquire_reply(RespReply("*2\r\n:0\r\n$1\r\n2\r\n").get());
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->acquired);
  EXPECT_EQ(refused->held, 2);
  EXPECT_FALSE(decode_acquire_reply(RespReply("*1\r\n:1\r\n").get()));
  EXPECT_FALSE(decode_acquire_reply(RespReply("+OK\r\n").get()));
}

TEST(SessionReplies, DecodesBindAndList) {
  const auto bound = decode_bind_reply(RespReply("*4\r\n:1\r\n" + integer("1700000000000") +
                                                 integer("1700014400000") + bulk("acct_1"))
                                           .get());
  ASSERT_TRUE(bound);
  EXPECT_TRUE(bound->bound);
  EXPECT_EQ(bound->created, milliseconds(1700000000000));
  EXPECT_EQ(bound->lease_expires, milliseconds(1700014400000));
  EXPECT_EQ(bound->account_id, "acct_1");
  const auto unknown = decode_bind_reply(RespReply("*1\r\n:0\r\n").get());
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->bound);
  EXPECT_FALSE(decode_bind_reply(  // neither 0 nor 1 first
      RespReply("*4\r\n:2\r\n" + integer("1700000000000") + integer("1700014400000") +
                bulk("acct_1"))
          .get()));

  const auto listing =
      decode_list_reply(RespReply("*5\r\n:2\r\n" + bulk("sess_a") + integer("1700000000000") +
                                  integer("1700014400000") + bulk("acct_1"))
                            .get(),
                        "acct_1:live");
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->active, 2);
  ASSERT_EQ(listing->sessions.size(), 1u);
  EXPECT_EQ(listing->sessions[0].session_id, "sess_a");
  EXPECT_EQ(listing->sessions[0].subject, "acct_1:live");
  EXPECT_EQ(listing->sessions[0].lease_expires, milliseconds(1700014400000));
}

TEST(SessionReplies, SessionValueRoundTrips) {
  const SessionRecord record{.session_id = "sess_a",
                             .subject = "acct_1:live",
                             .account_id = "acct_1",
                             .created = milliseconds(1700000000000),
                             .lease_expires = milliseconds(1700014400000)};
  const auto parsed = parse_session_value("sess_a", session_value(record));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->subject, record.subject);
  EXPECT_EQ(parsed->account_id, record.account_id);
  EXPECT_EQ(parsed->created, record.created);
  EXPECT_EQ(parsed->lease_expires, record.lease_expires);
}

// Found by fuzz/resp_reply_fuzzer: a time in milliseconds beyond what int64 nanoseconds
// hold overflowed (undefined behaviour) when converted to UnixNanos. Such a reply is
// malformed, like any other that is not the documented shape.
TEST(SessionReplies, RefusesTimesThatUnixNanosCannotHold) {
  const std::string huge = "170000000000000000";  // ms: ~5.4 million years
  const std::string most_negative = "-9223372036854775808";
  for (const std::string& t : {huge, most_negative}) {
    EXPECT_FALSE(decode_bind_reply(
        RespReply("*4\r\n:1\r\n" + integer(t) + integer("1700014400000") + bulk("a")).get()))
        << t;
    EXPECT_FALSE(decode_bind_reply(
        RespReply("*4\r\n:1\r\n" + integer("1700000000000") + integer(t) + bulk("a")).get()))
        << t;
    EXPECT_FALSE(decode_renew_reply(RespReply(integer(t)).get())) << t;
    EXPECT_FALSE(decode_list_reply(
        RespReply("*5\r\n:1\r\n" + bulk("s") + integer(t) + integer("1700014400000") + bulk("a"))
            .get(),
        "acct_1:live"))
        << t;
    EXPECT_FALSE(parse_session_value("s", R"({"subject":"a:live","account_id":"a","created_ms":)" +
                                              t + R"(,"lease_expires_ms":1700014400000})"))
        << t;
  }
  // The far edge that still fits: about the year 2262.
  const auto renewed = decode_renew_reply(RespReply(integer("9223372036854")).get());
  ASSERT_TRUE(renewed);
  EXPECT_TRUE(renewed->renewed);
}

}  // namespace
}  // namespace gw::store::redis

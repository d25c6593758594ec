// The session scripts on a real redis-server, called with blocking hiredis EVAL and the
// caller's time (ARGV now > 0), so every lease boundary is exact.
#include "store/redis/session_scripts.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/redis/redis_keys.h"
#include "testing/redis_server.h"

namespace gw::store::redis {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // Unix ms
constexpr std::int64_t kLease = 100'000;         // ms
const std::string kLive = "acct_1:live";
const std::string kTest = "acct_1:test";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

Reply run(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

Reply eval(redisContext* c, const Script& script, const std::vector<std::string>& keys,
           const std::vector<std::string>& args) {
  std::vector<std::string> command{"EVAL", std::string(script.body()), std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return run(c, command);
}

// The reply's integers; strings are kept as text.
std::vector<std::string> items(const Reply& r) {
  std::vector<std::string> out;
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    ADD_FAILURE() << "not an array: " << (r && r->str ? r->str : "(none)");
    return out;
  }
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    out.push_back(e->type == REDIS_REPLY_INTEGER ? std::to_string(e->integer)
                                                 : std::string(e->str, e->len));
  }
  return out;
}

std::int64_t integer(const Reply& r) {
  if (!r || r->type != REDIS_REPLY_INTEGER) {
    ADD_FAILURE() << "not an integer: " << (r && r->str ? r->str : "(none)");
    return -1;
  }
  return r->integer;
}

class SessionScripts : public ::testing::Test {
 protected:
  SessionScripts() : c_(server_.connect()) {}

  std::vector<std::string> keys(const std::string& subject) const {
    return {session_slots_key(subject), session_records_key(subject)};
  }

  // {acquired, held}
  std::vector<std::string> acquire(const std::string& subject, const std::string& limit,
                                   const std::string& reservation, std::int64_t now = kT0,
                                   std::int64_t lease = kLease) {
    return items(eval(c_.get(), acquire_slot_script(), keys(subject),
                      {std::to_string(now), std::to_string(lease), limit, reservation, "acct_1"}));
  }
  std::vector<std::string> bind(const std::string& subject, const std::string& reservation,
                                const std::string& session_id, std::int64_t now = kT0,
                                std::int64_t lease = kLease) {
    return items(eval(c_.get(), bind_slot_script(), keys(subject),
                      {std::to_string(now), std::to_string(lease), reservation, session_id}));
  }
  std::int64_t cancel(const std::string& subject, const std::string& reservation) {
    return integer(
        eval(c_.get(), free_slot_script(), keys(subject), {reservation_member(reservation)}));
  }
  std::int64_t release(const std::string& subject, const std::string& session_id) {
    return integer(eval(c_.get(), free_slot_script(), keys(subject), {session_member(session_id)}));
  }
  std::int64_t renew(const std::string& subject, const std::string& session_id, std::int64_t now,
                     std::int64_t lease = kLease) {
    return integer(eval(c_.get(), renew_slot_script(), keys(subject),
                        {std::to_string(now), std::to_string(lease), session_id}));
  }
  std::vector<std::string> list(const std::string& subject, std::int64_t now = kT0) {
    return items(eval(c_.get(), list_slots_script(), keys(subject), {std::to_string(now)}));
  }
  std::int64_t held(const std::string& subject, std::int64_t now = kT0) {
    const auto listed = list(subject, now);
    return listed.empty() ? -1 : std::stoll(listed[0]);
  }
  std::string cmd(const std::vector<std::string>& args) { return server_.command(args); }

  testing::RedisServer server_;
  Context c_;
};

using Items = std::vector<std::string>;

TEST_F(SessionScripts, AcquireAdmitsUpToTheLimitPerSubject) {
  EXPECT_EQ(acquire(kLive, "2", "a"), (Items{"1", "1"}));
  EXPECT_EQ(acquire(kLive, "2", "b"), (Items{"1", "2"}));
  EXPECT_EQ(acquire(kLive, "2", "c"), (Items{"0", "2"}));
  EXPECT_EQ(cmd({"ZSCORE", session_slots_key(kLive), "r:a"}), std::to_string(kT0 + kLease));
  EXPECT_EQ(cmd({"HGET", session_records_key(kLive), "r:b"}), std::to_string(kT0) + ":acct_1");
  EXPECT_EQ(cmd({"ZSCORE", session_slots_key(kLive), "r:c"}), "(nil)");  // refused: not added

  EXPECT_EQ(acquire(kTest, "2", "d"), (Items{"1", "1"}));  // another subject counts apart
  EXPECT_EQ(acquire(kLive, "3", "e"), (Items{"1", "3"}));  // a raised limit admits at once
}

TEST_F(SessionScripts, UnlimitedIsStillCounted) {
  for (int i = 1; i <= 50; ++i) {
    ASSERT_EQ(acquire(kLive, "", "r" + std::to_string(i)), (Items{"1", std::to_string(i)}));
  }
  EXPECT_EQ(held(kLive), 50);
  EXPECT_EQ(acquire(kLive, "50", "over"), (Items{"0", "50"}));
}

TEST_F(SessionScripts, ZeroOrNegativeAdmitsNothingAndLeavesNoKeys) {
  EXPECT_EQ(acquire(kLive, "0", "a"), (Items{"0", "0"}));
  EXPECT_EQ(acquire(kLive, "-1", "b"), (Items{"0", "0"}));
  EXPECT_EQ(cmd({"EXISTS", session_slots_key(kLive), session_records_key(kLive)}), "0");
}

TEST_F(SessionScripts, LeasesRunOutExactlyAtTheirEnd) {
  ASSERT_EQ(acquire(kLive, "2", "a"), (Items{"1", "1"}));
  ASSERT_EQ(bind(kLive, "a", "sess_1")[0], "1");
  ASSERT_EQ(acquire(kLive, "2", "b"), (Items{"1", "2"}));
  const std::int64_t end = kT0 + kLease;

  EXPECT_EQ(acquire(kLive, "2", "c", end - 1), (Items{"0", "2"}));
  EXPECT_EQ(renew(kLive, "sess_1", end), 0);  // over at its end: not renewed
  // Both slots are free at their end; their records go with them.
  EXPECT_EQ(acquire(kLive, "2", "c", end), (Items{"1", "1"}));
  EXPECT_EQ(cmd({"HLEN", session_records_key(kLive)}), "1");
  EXPECT_EQ(bind(kLive, "b", "sess_2", end), (Items{"0"}));
  EXPECT_EQ(release(kLive, "sess_1"), 0);
}

TEST_F(SessionScripts, BindTurnsTheReservationIntoTheSession) {
  ASSERT_EQ(acquire(kLive, "1", "a"), (Items{"1", "1"}));
  EXPECT_EQ(list(kLive), (Items{"1"}));  // a reservation is held, not listed

  EXPECT_EQ(bind(kLive, "a", "sess_1", kT0 + 5000),
            (Items{"1", std::to_string(kT0), std::to_string(kT0 + 5000 + kLease), "acct_1"}));
  EXPECT_EQ(cmd({"ZSCORE", session_slots_key(kLive), "r:a"}), "(nil)");
  EXPECT_EQ(cmd({"HGET", session_records_key(kLive), "s:sess_1"}), std::to_string(kT0) + ":acct_1");
  EXPECT_EQ(acquire(kLive, "1", "b"), (Items{"0", "1"}));

  // The reservation is consumed; other subjects and unknown ids bind nothing.
  EXPECT_EQ(bind(kLive, "a", "sess_2"), (Items{"0"}));
  EXPECT_EQ(cancel(kLive, "a"), 0);
  EXPECT_EQ(bind(kTest, "a", "sess_2"), (Items{"0"}));
  EXPECT_EQ(bind(kLive, "", "sess_2"), (Items{"0"}));
  EXPECT_EQ(held(kLive), 1);
}

TEST_F(SessionScripts, ABoundIdBoundAgainKeepsOneSlotAndItsCreatedTime) {
  ASSERT_EQ(acquire(kLive, "5", "a"), (Items{"1", "1"}));
  ASSERT_EQ(bind(kLive, "a", "sess_1")[0], "1");
  ASSERT_EQ(acquire(kLive, "5", "b", kT0 + 10'000), (Items{"1", "2"}));
  EXPECT_EQ(bind(kLive, "b", "sess_1", kT0 + 10'000),
            (Items{"1", std::to_string(kT0), std::to_string(kT0 + 10'000 + kLease), "acct_1"}));
  EXPECT_EQ(held(kLive), 1);
}

TEST_F(SessionScripts, CancelAndReleaseAreIdempotentAndPerSubject) {
  ASSERT_EQ(acquire(kLive, "", "a"), (Items{"1", "1"}));
  ASSERT_EQ(acquire(kLive, "", "b"), (Items{"1", "2"}));
  ASSERT_EQ(bind(kLive, "b", "sess_1")[0], "1");

  EXPECT_EQ(cancel(kTest, "a"), 0);
  EXPECT_EQ(cancel(kLive, "sess_1"), 0);  // a bound slot is not a reservation
  EXPECT_EQ(cancel(kLive, "a"), 1);
  EXPECT_EQ(cancel(kLive, "a"), 0);
  EXPECT_EQ(bind(kLive, "a", "sess_2"), (Items{"0"}));

  EXPECT_EQ(release(kTest, "sess_1"), 0);
  EXPECT_EQ(release(kLive, "b"), 0);  // a reservation is not a session
  EXPECT_EQ(held(kLive), 1);
  EXPECT_EQ(release(kLive, "sess_1"), 1);
  EXPECT_EQ(release(kLive, "sess_1"), 0);
  // The subject's last slot gone, so are its keys.
  EXPECT_EQ(cmd({"EXISTS", session_slots_key(kLive), session_records_key(kLive)}), "0");
}

TEST_F(SessionScripts, RenewMovesTheLeaseOfHeldSessionsOnly) {
  ASSERT_EQ(acquire(kLive, "1", "a"), (Items{"1", "1"}));
  ASSERT_EQ(bind(kLive, "a", "sess_1")[0], "1");
  EXPECT_EQ(renew(kLive, "sess_1", kT0 + 90'000), kT0 + 190'000);
  EXPECT_EQ(acquire(kLive, "1", "b", kT0 + 189'999), (Items{"0", "1"}));
  EXPECT_EQ(acquire(kLive, "1", "b", kT0 + 190'000), (Items{"1", "1"}));

  EXPECT_EQ(renew(kLive, "sess_unknown", kT0), 0);
  EXPECT_EQ(renew(kLive, "b", kT0 + 190'000), 0);  // reservations are not renewed
  EXPECT_EQ(renew(kTest, "sess_1", kT0), 0);
  EXPECT_EQ(cmd({"ZSCORE", session_slots_key(kTest), "s:sess_1"}), "(nil)");  // XX: no add
}

TEST_F(SessionScripts, ListGivesBoundSessionsWithTheirTimes) {
  ASSERT_EQ(acquire(kLive, "", "a", kT0), (Items{"1", "1"}));
  ASSERT_EQ(acquire(kLive, "", "b", kT0 + 1000), (Items{"1", "2"}));
  ASSERT_EQ(acquire(kLive, "", "c", kT0 + 2000), (Items{"1", "3"}));
  ASSERT_EQ(bind(kLive, "a", "sess_a", kT0 + 3000)[0], "1");
  ASSERT_EQ(bind(kLive, "b", "sess_b", kT0 + 4000)[0], "1");

  // By lease expiry: sess_a's ends first.
  EXPECT_EQ(
      list(kLive, kT0 + 5000),
      (Items{"3", "sess_a", std::to_string(kT0), std::to_string(kT0 + 3000 + kLease), "acct_1",
             "sess_b", std::to_string(kT0 + 1000), std::to_string(kT0 + 4000 + kLease), "acct_1"}));
  // Expired ones are freed first: c (reserved at +2 s) and sess_a are over at +103 s.
  EXPECT_EQ(list(kLive, kT0 + 3000 + kLease),
            (Items{"1", "sess_b", std::to_string(kT0 + 1000), std::to_string(kT0 + 4000 + kLease),
                   "acct_1"}));
  EXPECT_EQ(list("nobody:live"), (Items{"0"}));
  EXPECT_EQ(cmd({"EXISTS", session_slots_key("nobody:live")}), "0");
}

TEST_F(SessionScripts, SubjectKeysExpireWithTheirLastLease) {
  ASSERT_EQ(acquire(kLive, "", "a", kT0, kLease), (Items{"1", "1"}));
  ASSERT_EQ(acquire(kLive, "", "b", kT0, 2 * kLease), (Items{"1", "2"}));
  // Longest lease + margin from the script's `now` (minus what elapsed since, < 5 s).
  const std::int64_t expected = 2 * kLease + kSubjectKeyMarginMs;
  for (const auto& key : keys(kLive)) {
    const std::int64_t ttl = std::stoll(cmd({"PTTL", key}));
    EXPECT_LE(ttl, expected) << key;
    EXPECT_GT(ttl, expected - 5000) << key;
  }
  // A renewal pushes them out; the bound slot now ends last.
  ASSERT_EQ(bind(kLive, "a", "sess_1", kT0 + 1000, 3 * kLease)[0], "1");
  EXPECT_GT(std::stoll(cmd({"PTTL", session_slots_key(kLive)})), expected);
  EXPECT_EQ(renew(kLive, "sess_1", kT0 + 2000, 4 * kLease), kT0 + 2000 + 4 * kLease);
  const std::int64_t renewed = 4 * kLease + kSubjectKeyMarginMs;
  EXPECT_GT(std::stoll(cmd({"PTTL", session_records_key(kLive)})), renewed - 5000);
}

TEST_F(SessionScripts, ZeroNowMeansRedisTime) {
  auto seconds_now = [&] {
    auto t = run(c_.get(), {"TIME"});
    return std::stoll(std::string(t->element[0]->str, t->element[0]->len)) * 1000;
  };
  const std::int64_t before = seconds_now();
  ASSERT_EQ(acquire(kLive, "", "a", 0), (Items{"1", "1"}));
  const std::int64_t after = seconds_now() + 1000;
  const std::string record = cmd({"HGET", session_records_key(kLive), "r:a"});
  const std::int64_t created = std::stoll(record.substr(0, record.find(':')));
  EXPECT_GE(created, before);
  EXPECT_LT(created, after);
  const std::int64_t expires = std::stoll(cmd({"ZSCORE", session_slots_key(kLive), "r:a"}));
  EXPECT_EQ(expires, created + kLease);
}

TEST_F(SessionScripts, ExpiringManySlotsAtOnceWorks) {
  // More members than Lua can unpack() in one call.
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<std::string> zadd{"ZADD", session_slots_key(kLive)};
    std::vector<std::string> hset{"HSET", session_records_key(kLive)};
    for (int i = 0; i < 1000; ++i) {
      const std::string member = "r:" + std::to_string(batch) + "_" + std::to_string(i);
      zadd.insert(zadd.end(), {std::to_string(kT0), member});
      hset.insert(hset.end(), {member, std::to_string(kT0) + ":acct_1"});
    }
    ASSERT_EQ(integer(run(c_.get(), zadd)), 1000);
    ASSERT_EQ(integer(run(c_.get(), hset)), 1000);
  }
  EXPECT_EQ(acquire(kLive, "1", "a", kT0), (Items{"1", "1"}));
  EXPECT_EQ(cmd({"HLEN", session_records_key(kLive)}), "1");
}

TEST_F(SessionScripts, ForgetSessionDeletesOnlyItsSubjectsKey) {
  const std::string key = session_key("sess_1");
  const std::string value = R"({"subject":"acct_1:live","account_id":"acct_1"})";
  ASSERT_EQ(cmd({"SET", key, value}), "OK");
  EXPECT_EQ(integer(eval(c_.get(), forget_session_script(), {key}, {kTest})), 0);
  EXPECT_EQ(integer(eval(c_.get(), forget_session_script(), {key}, {"acct_1"})), 0);
  EXPECT_EQ(cmd({"EXISTS", key}), "1");
  EXPECT_EQ(integer(eval(c_.get(), forget_session_script(), {key}, {kLive})), 1);
  EXPECT_EQ(cmd({"EXISTS", key}), "0");
  EXPECT_EQ(integer(eval(c_.get(), forget_session_script(), {key}, {kLive})), 0);
  ASSERT_EQ(cmd({"SET", key, "not json"}), "OK");
  EXPECT_EQ(integer(eval(c_.get(), forget_session_script(), {key}, {kLive})), 0);
}

TEST(SessionKeys, KeysOfASubjectShareOneClusterSlot) {
  // Redis's own CLUSTER KEYSLOT (needs cluster mode; no slots need to be served).
  testing::RedisServer cluster({"--cluster-enabled", "yes"});
  for (const std::string subject : {"acct_1:live", "a}b:live", "{x}:test", ""}) {
    const std::string slot = cluster.command({"CLUSTER", "KEYSLOT", session_slots_key(subject)});
    EXPECT_EQ(slot.rfind("ERR", 0), std::string::npos) << slot;
    EXPECT_EQ(slot, cluster.command({"CLUSTER", "KEYSLOT", session_records_key(subject)}))
        << subject;
  }
}

TEST_F(SessionScripts, ConcurrentAcquiresAdmitExactlyTheLimit) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  constexpr int kLimit = 17;
  std::atomic<int> admitted{0};
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Context c(server_.connect());
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        Reply r = eval(c.get(), acquire_slot_script(), keys(kLive),
                       {std::to_string(kT0), std::to_string(kLease), std::to_string(kLimit),
                        std::to_string(t) + "_" + std::to_string(i), "acct_1"});
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
          ++failures;
        } else if (r->element[0]->integer == 1) {
          ++admitted;
        }
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(admitted.load(), kLimit);
  EXPECT_EQ(held(kLive), kLimit);
}

}  // namespace
}  // namespace gw::store::redis

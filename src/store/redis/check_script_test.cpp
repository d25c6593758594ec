#include "store/redis/check_script.h"

#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "limiter/check.h"
#include "store/redis/redis_keys.h"
#include "testing/redis_server.h"

namespace gw::store::redis {
namespace {

// The script's reply format (check_script.h): numbers as big-endian doubles in one string.
std::string pack_numbers(const std::vector<double>& values) {
  std::string out;
  for (const double v : values) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(bits >> shift & 0xff);
  }
  return out;
}

// Number `i` of a packed reply.
std::int64_t packed_number(const redisReply* reply, std::size_t i) {
  std::uint64_t bits = 0;
  for (std::size_t b = 0; b < 8; ++b) bits = bits << 8 | static_cast<unsigned char>(reply->str[8 * i + b]);
  return static_cast<std::int64_t>(std::bit_cast<double>(bits));
}


using namespace std::chrono_literals;
using core::UnixNanos;
using limiter::Algorithm;
using limiter::CounterState;
using limiter::Decision;
using limiter::LimitSpec;

constexpr std::int64_t kMinute0Us = 1'700'000'040'000'000;  // a minute boundary, in us

UnixNanos at_us(std::int64_t us) { return UnixNanos(us * 1000); }

// The memory store's semantics written straight against the limiter: one counter per
// (subject, name) with the spec it was kept under, carried over when a request brings
// another spec (kept even when the request is refused), then check_all() / peek_all().
class Reference {
 public:
  CheckResult check(const CheckRequest& request, UnixNanos now) {
    const std::size_t n = request.limits.size();
    std::array<LimitSpec, kMaxLimitsPerCheck> specs;
    std::array<CounterState*, kMaxLimitsPerCheck> states;
    for (std::size_t i = 0; i < n; ++i) {
      const LimitRef& ref = request.limits[i];
      auto [it, created] = counters_.try_emplace(
          {std::string(request.subject), std::string(ref.name)}, Counter{ref.spec, {}});
      Counter& c = it->second;
      if (!created && !same_spec(c.spec, ref.spec)) {
        limiter::carry_over(c.spec, ref.spec, c.state, now);
        c.spec = ref.spec;
      }
      specs[i] = ref.spec;
      states[i] = &c.state;
    }
    CheckResult result;
    result.count = n;
    result.admitted = limiter::check_all({specs.data(), n}, {states.data(), n}, now, request.cost,
                                         {result.decisions.data(), n});
    return result;
  }

  CheckResult peek(const CheckRequest& request, UnixNanos now) const {
    const std::size_t n = request.limits.size();
    std::array<LimitSpec, kMaxLimitsPerCheck> specs;
    std::array<CounterState, kMaxLimitsPerCheck> states{};
    for (std::size_t i = 0; i < n; ++i) {
      const LimitRef& ref = request.limits[i];
      specs[i] = ref.spec;
      const auto it = counters_.find({std::string(request.subject), std::string(ref.name)});
      if (it != counters_.end()) {
        states[i] = it->second.state;
        limiter::carry_over(it->second.spec, ref.spec, states[i], now);
      }
    }
    CheckResult result;
    result.count = n;
    result.admitted = limiter::peek_all({specs.data(), n}, {states.data(), n}, now, request.cost,
                                        {result.decisions.data(), n});
    return result;
  }

 private:
  struct Counter {
    LimitSpec spec;
    CounterState state;
  };
  static bool same_spec(const LimitSpec& a, const LimitSpec& b) {
    return a.limit == b.limit && a.window == b.window && a.algorithm == b.algorithm;
  }
  std::map<std::pair<std::string, std::string>, Counter> counters_;
};

class CheckScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = server_.connect();
    ASSERT_TRUE(context_ != nullptr && context_->err == 0);
  }
  void TearDown() override {
    if (context_) redisFree(context_);
  }

  // Runs `args` on the blocking connection; the caller frees the reply.
  redisReply* run(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lens.data()));
  }

  // EVAL of the script for `request`, as the store would send it (but with a fixed now).
  redisReply* eval_raw(const CheckRequest& request, CheckMode mode, std::int64_t now_us) {
    const CheckCall call(request, mode, now_us);
    std::vector<std::string_view> args{"EVAL", check_script().body(), "1"};
    args.insert(args.end(), call.keys().begin(), call.keys().end());
    args.insert(args.end(), call.args().begin(), call.args().end());
    return run(args);
  }

  CheckResult eval(const CheckRequest& request, CheckMode mode, std::int64_t now_us) {
    redisReply* reply = eval_raw(request, mode, now_us);
    auto decoded = decode_check_reply(reply, request.limits.size());
    if (reply) freeReplyObject(reply);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().detail);
    return decoded ? *decoded : CheckResult{};
  }

  std::string text(const std::vector<std::string>& args) { return server_.command(args); }

  testing::RedisServer server_;
  redisContext* context_ = nullptr;
};

// A counter's field as the script packs it (struct '>c1ddddd'), as text:
// "<algorithm> <limit> <window> <start> <count> <previous>".
std::string unpack_state(std::string_view packed) {
  if (packed.size() != 41) return "unpackable:" + std::string(packed);
  std::string out(1, packed[0]);
  for (std::size_t i = 0; i < 5; ++i) {
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < 8; ++b) {
      bits = (bits << 8) | static_cast<unsigned char>(packed[1 + 8 * i + b]);
    }
    double value;
    std::memcpy(&value, &bits, sizeof value);
    out += " " + std::to_string(static_cast<std::int64_t>(value));
  }
  return out;
}

// "<field>=<state>;..." of a counters hash, sorted, to compare before and after.
std::string dump_hash(const testing::RedisServer& server, const std::string& key) {
  redisContext* c = server.connect();
  auto* reply = static_cast<redisReply*>(redisCommand(c, "HGETALL %s", key.c_str()));
  std::vector<std::string> items;
  for (std::size_t i = 0; reply && i + 1 < reply->elements; i += 2) {
    items.push_back(std::string(reply->element[i]->str, reply->element[i]->len) + "=" +
                    unpack_state({reply->element[i + 1]->str, reply->element[i + 1]->len}));
  }
  if (reply) freeReplyObject(reply);
  redisFree(c);
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& item : items) out += item + ";";
  return out;
}

void expect_same(const CheckResult& script, const CheckResult& reference, const std::string& at) {
  ASSERT_EQ(script.admitted, reference.admitted) << at;
  ASSERT_EQ(script.count, reference.count) << at;
  for (std::size_t i = 0; i < script.count; ++i) {
    const Decision& s = script.decisions[i];
    const Decision& r = reference.decisions[i];
    const std::string where = at + " limit " + std::to_string(i);
    EXPECT_EQ(s.allowed, r.allowed) << where;
    EXPECT_EQ(s.over_limit, r.over_limit) << where;
    EXPECT_EQ(s.limit, r.limit) << where;
    EXPECT_EQ(s.remaining, r.remaining) << where;
    EXPECT_EQ(s.used, r.used) << where;
    EXPECT_EQ(s.reset_unix_s, r.reset_unix_s) << where;
    // The script's wait is the limiter's rounded up to a whole microsecond.
    const std::int64_t diff = (s.retry_after - r.retry_after).count();
    EXPECT_TRUE(diff >= 0 && diff < 1000) << where << ": retry_after " << s.retry_after.count()
                                          << " ns, limiter " << r.retry_after.count() << " ns";
  }
}

// ---- Differential: the script against the limiter, on random request sequences --------

struct Scenario {
  Algorithm algorithm;
  bool big;  // limits near the bounds: products beyond 2^53 in the script
  std::uint32_t seed;
};

std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  const char* algo = info.param.algorithm == Algorithm::fixed_window     ? "Fixed"
                     : info.param.algorithm == Algorithm::sliding_window ? "Sliding"
                                                                         : "Gcra";
  return std::string(algo) + (info.param.big ? "Big" : "Small") + "Seed" +
         std::to_string(info.param.seed);
}

class CheckScriptDifferential : public CheckScriptTest,
                                public ::testing::WithParamInterface<Scenario> {};

TEST_P(CheckScriptDifferential, DecidesExactlyAsTheLimiter) {
  const Scenario scenario = GetParam();
  std::mt19937_64 rng(scenario.seed);
  const auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const auto chance = [&](int percent) { return uniform(0, 99) < percent; };

  // Windows in whole microseconds, some not a whole second (reset rounding), some odd.
  const std::vector<std::int64_t> windows_us =
      scenario.big ? std::vector<std::int64_t>{60'000'000, 86'400'000'000, (1LL << 40) - 1}
                   : std::vector<std::int64_t>{1'000'000, 60'000'000, 7'000'003, 999'999, 1'500};
  const auto pick_window = [&] {
    return windows_us[static_cast<std::size_t>(uniform(0, windows_us.size() - 1))];
  };
  const auto pick_limit = [&] {
    if (!scenario.big) return uniform(0, 8);
    return chance(50) ? uniform(limiter::kMaxLimit - 1'000'000, limiter::kMaxLimit)
                      : uniform(1, limiter::kMaxLimit);
  };
  const auto pick_algorithm = [&] {
    return chance(90) ? scenario.algorithm : static_cast<Algorithm>(uniform(0, 2));
  };

  struct Named {
    std::string name;
    LimitSpec spec;
  };
  std::vector<Named> limits{
      {"api", LimitSpec{pick_limit(), 1us * pick_window(), scenario.algorithm, true}},
      {"grp", LimitSpec{pick_limit(), 1us * pick_window(), scenario.algorithm, true}},
      {"shadow", LimitSpec{pick_limit(), 1us * pick_window(), scenario.algorithm, false}},
  };
  const std::vector<std::string> subjects{"acct_1:live", "acct_2:test"};

  Reference reference;
  std::int64_t now_us = kMinute0Us + uniform(0, 59'999'999);
  int admitted = 0;
  int refused = 0;
  int shadow_over = 0;
  for (int step = 0; step < 400; ++step) {
    // Time: often unchanged or one tick, sometimes onto or just before a window boundary,
    // rarely a step back (a Redis failover to a server whose clock is behind).
    const std::int64_t w =
        limits[static_cast<std::size_t>(uniform(0, 2))].spec.window.count() / 1000;
    switch (uniform(0, 10)) {
      case 0:
        break;
      case 1:
        now_us += 1;
        break;
      case 2:
        now_us = (now_us / w + 1) * w;
        break;
      case 3:
        now_us = (now_us / w + 1) * w - 1;
        break;
      case 4:
        now_us += uniform(0, 3 * w);
        break;
      case 5:
        now_us -= uniform(0, w / 4);
        break;
      default:
        now_us += uniform(0, std::max<std::int64_t>(w / 8, 1));
        break;
    }
    // Plan changes mid-window: limit up or down, sometimes another algorithm or window.
    if (chance(8)) {
      Named& l = limits[static_cast<std::size_t>(uniform(0, 2))];
      l.spec.limit = pick_limit();
      if (chance(20)) l.spec.algorithm = pick_algorithm();
      if (chance(10)) l.spec.window = 1us * pick_window();
    }

    std::vector<LimitRef> refs;
    std::vector<std::size_t> order{0, 1, 2};
    std::shuffle(order.begin(), order.end(), rng);
    const auto count = static_cast<std::size_t>(uniform(1, 3));
    for (std::size_t i = 0; i < count; ++i) {
      refs.push_back(LimitRef{limits[order[i]].name, limits[order[i]].spec});
    }
    std::int64_t cost = 1;
    if (scenario.big) {
      cost = chance(5) ? limiter::kMaxCost : uniform(0, limits[order[0]].spec.limit / 2 + 1);
    } else {
      const std::int64_t roll = uniform(0, 99);
      cost = roll < 5 ? 0 : roll < 75 ? 1 : roll < 95 ? uniform(2, 3) : 9;
    }
    const std::string& subject = subjects[static_cast<std::size_t>(uniform(0, 1))];
    const CheckRequest request{subject, refs, cost};
    const bool peek = chance(15);

    const CheckResult expected =
        peek ? reference.peek(request, at_us(now_us)) : reference.check(request, at_us(now_us));
    const CheckResult got = eval(request, peek ? CheckMode::peek : CheckMode::check, now_us);
    expect_same(got, expected,
                "step " + std::to_string(step) + (peek ? " peek" : " check") + " at " +
                    std::to_string(now_us) + " cost " + std::to_string(cost));
    if (HasFailure()) return;  // one divergence is enough; later steps would only echo it

    (expected.admitted ? admitted : refused) += 1;
    for (std::size_t i = 0; i < expected.count; ++i) {
      if (expected.decisions[i].over_limit && expected.decisions[i].allowed) ++shadow_over;
    }
  }
  // The sequence must have exercised both answers, and shadow limits over their limit.
  EXPECT_GT(admitted, 20);
  EXPECT_GT(refused, 20);
  EXPECT_GT(shadow_over, 0);
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  for (Algorithm a : {Algorithm::fixed_window, Algorithm::sliding_window, Algorithm::gcra}) {
    for (bool big : {false, true}) {
      for (std::uint32_t seed = 1; seed <= 4; ++seed) out.push_back({a, big, seed});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, CheckScriptDifferential, ::testing::ValuesIn(scenarios()),
                         scenario_name);

// ---- The largest limit and cost the gateway accepts (limiter::kMaxLimit) ---------------

class CheckScriptAtTheBounds : public CheckScriptTest,
                               public ::testing::WithParamInterface<Algorithm> {};

// A limit of 1e9 per minute and per second (the WebSocket rates' unit), charged 1, then
// everything but one unit, then the last: each decision exact and the same as the
// limiter's, nothing refused as a store error. Products such as 1e9 x 60e6 us pass 2^53.
TEST_P(CheckScriptAtTheBounds, TheLargestLimitAndCostAreCountedExactly) {
  constexpr std::int64_t kMax = limiter::kMaxLimit;
  for (const auto window : {60s, 1s}) {
    const std::vector<LimitRef> limits{
        {"api", LimitSpec{.limit = kMax, .window = window, .algorithm = GetParam()}}};
    const std::string subject = "acct_max:" + std::to_string(window.count());
    const std::int64_t now_us = kMinute0Us + 20'000'000;  // mid-minute, on a second
    Reference reference;
    const auto step = [&](std::int64_t cost, const std::string& what) {
      const CheckRequest request{subject, limits, cost};
      EXPECT_FALSE(check_request_error(request)) << what;
      const CheckResult expected = reference.check(request, at_us(now_us));
      const CheckResult got = eval(request, CheckMode::check, now_us);
      expect_same(got, expected, what);
      return got;
    };
    CheckResult r = step(1, "cost 1");
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.decisions[0].limit, kMax);
    EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
    EXPECT_EQ(r.decisions[0].used, 1);
    r = step(limiter::kMaxCost, "the largest cost, one unit short");
    EXPECT_FALSE(r.admitted);
    EXPECT_EQ(r.decisions[0].remaining, kMax - 1);
    EXPECT_GT(r.decisions[0].retry_after, 0ns);
    r = step(kMax - 1, "the rest");
    EXPECT_TRUE(r.admitted);
    EXPECT_EQ(r.decisions[0].remaining, 0);
    EXPECT_EQ(r.decisions[0].used, kMax);
    r = step(1, "one more");
    EXPECT_FALSE(r.admitted);
    EXPECT_GT(r.decisions[0].retry_after, 0ns);
    EXPECT_LE(r.decisions[0].retry_after, UnixNanos(2 * window));  // sliding: a bit past one

    // The largest cost at once, on a fresh counter.
    const std::string whole_subject = subject + ":whole";
    const CheckRequest whole{whole_subject, limits, limiter::kMaxCost};
    const CheckResult expected = reference.check(whole, at_us(now_us));
    const CheckResult got = eval(whole, CheckMode::check, now_us);
    expect_same(got, expected, "the largest cost at once");
    EXPECT_TRUE(got.admitted);
    EXPECT_EQ(got.decisions[0].remaining, 0);
    EXPECT_EQ(got.decisions[0].used, kMax);
  }
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, CheckScriptAtTheBounds,
                         ::testing::Values(Algorithm::fixed_window, Algorithm::sliding_window,
                                           Algorithm::gcra));

// ---- Storage ---------------------------------------------------------------------------

LimitSpec per_minute(std::int64_t limit, Algorithm algorithm = Algorithm::fixed_window) {
  return LimitSpec{.limit = limit, .window = 60s, .algorithm = algorithm};
}

TEST(CountersKey, SharesTheSubjectsHashTagWithItsSessionKeys) {
  const std::string key = counters_key("acct_42:live");
  EXPECT_EQ(key, "kg:{acct:acct_42:live}:counters");
  const auto tag = [](const std::string& k) {
    const auto open = k.find('{');
    return k.substr(open, k.find('}', open) - open + 1);
  };
  EXPECT_EQ(tag(key), "{acct:acct_42:live}");
  EXPECT_EQ(tag(key), tag(session_slots_key("acct_42:live")));
}

TEST_F(CheckScriptTest, ARefusedRequestChargesNothing) {
  const std::vector<LimitRef> limits{{"api", per_minute(5)}, {"grp", per_minute(2)}};
  const CheckRequest request{"acct_1:live", limits, 1};
  const std::string key = counters_key("acct_1:live");
  ASSERT_TRUE(eval(request, CheckMode::check, kMinute0Us + 1'000'000).admitted);
  ASSERT_TRUE(eval(request, CheckMode::check, kMinute0Us + 2'000'000).admitted);
  const std::string before = dump_hash(server_, key);
  EXPECT_EQ(before, "api=f 5 60000000 1700000040000000 2 0;grp=f 2 60000000 1700000040000000 2 0;");

  const CheckResult refused = eval(request, CheckMode::check, kMinute0Us + 3'000'000);
  EXPECT_FALSE(refused.admitted);
  EXPECT_TRUE(refused.decisions[0].allowed);     // api had room...
  EXPECT_EQ(refused.decisions[0].remaining, 3);  // ...and shows it uncharged
  EXPECT_FALSE(refused.decisions[1].allowed);
  EXPECT_EQ(refused.decisions[1].retry_after, 57s);
  EXPECT_EQ(dump_hash(server_, key), before);
}

TEST_F(CheckScriptTest, PeekWritesNothing) {
  const std::vector<LimitRef> limits{{"api", per_minute(5, Algorithm::gcra)}};
  const CheckRequest request{"acct_1:live", limits, 1};
  const CheckResult fresh = eval(request, CheckMode::peek, kMinute0Us);
  EXPECT_TRUE(fresh.admitted);
  EXPECT_EQ(fresh.decisions[0].remaining, 5);
  EXPECT_EQ(text({"EXISTS", counters_key("acct_1:live")}), "0");

  ASSERT_TRUE(eval(request, CheckMode::check, kMinute0Us).admitted);
  const std::string before = dump_hash(server_, counters_key("acct_1:live"));
  EXPECT_EQ(eval(request, CheckMode::peek, kMinute0Us).decisions[0].remaining, 4);
  // A plan change seen by a peek is carried over on a copy only.
  const std::vector<LimitRef> upgraded{{"api", per_minute(50, Algorithm::gcra)}};
  EXPECT_EQ(eval({"acct_1:live", upgraded, 1}, CheckMode::peek, kMinute0Us).decisions[0].remaining,
            49);
  EXPECT_EQ(dump_hash(server_, counters_key("acct_1:live")), before);
}

TEST_F(CheckScriptTest, KeyExpiresOnceNoCounterWrittenMatters) {
  const std::string key = counters_key("acct_1:live");
  const auto pttl = [&] { return std::stoll(text({"PTTL", key})); };

  // Fixed window: the counter matters until its window ends (50 s away), plus 1 s.
  const std::vector<LimitRef> fixed{{"api", per_minute(10)}};
  ASSERT_TRUE(eval({"acct_1:live", fixed, 1}, CheckMode::check, kMinute0Us + 10'000'000).admitted);
  EXPECT_LE(pttl(), 51'000);
  EXPECT_GT(pttl(), 50'000);

  // Sliding window: until two windows from its start (110 s away).
  const std::vector<LimitRef> sliding{{"grp", per_minute(10, Algorithm::sliding_window)}};
  ASSERT_TRUE(
      eval({"acct_1:live", sliding, 1}, CheckMode::check, kMinute0Us + 10'000'000).admitted);
  EXPECT_LE(pttl(), 111'000);
  EXPECT_GT(pttl(), 110'000);

  // GCRA after a steep downgrade: 10 units spent of 10 per minute is a 60 s debt; under a
  // limit of 1 per minute the same units are a 600 s debt, kept though the check is refused.
  const std::vector<LimitRef> gcra{{"gcra", per_minute(10, Algorithm::gcra)}};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(eval({"acct_1:live", gcra, 1}, CheckMode::check, kMinute0Us).admitted);
  }
  const std::vector<LimitRef> downgraded{{"gcra", per_minute(1, Algorithm::gcra)}};
  const CheckResult refused = eval({"acct_1:live", downgraded, 1}, CheckMode::check, kMinute0Us);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.decisions[0].retry_after, 600s);
  EXPECT_LE(pttl(), 601'000);
  EXPECT_GT(pttl(), 600'000);

  // A later check of a short counter never shortens what the others need.
  const std::vector<LimitRef> short_window{
      {"tiny", LimitSpec{.limit = 10, .window = 1s, .algorithm = Algorithm::fixed_window}}};
  ASSERT_TRUE(eval({"acct_1:live", short_window, 1}, CheckMode::check, kMinute0Us).admitted);
  EXPECT_GT(pttl(), 600'000);
}

TEST_F(CheckScriptTest, UsesRedisTimeWhenNowIsZero) {
  const auto redis_time_us = [&] {
    redisReply* reply = run({"TIME"});
    const std::int64_t us =
        std::stoll(reply->element[0]->str) * 1'000'000 + std::stoll(reply->element[1]->str);
    freeReplyObject(reply);
    return us;
  };
  const std::vector<LimitRef> limits{{"api", per_minute(10)}};
  const std::int64_t before = redis_time_us();
  redisReply* reply = eval_raw({"acct_1:live", limits, 1}, CheckMode::check, 0);
  const std::int64_t after = redis_time_us();
  ASSERT_TRUE(reply != nullptr);
  ASSERT_EQ(reply->type, REDIS_REPLY_STRING);
  const std::int64_t now_us = packed_number(reply, 1);
  EXPECT_GE(now_us, before);
  EXPECT_LE(now_us, after);
  const auto decoded = decode_check_reply(reply, 1);
  freeReplyObject(reply);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->decisions[0].reset_unix_s, (now_us / 60'000'000 + 1) * 60);
}

TEST_F(CheckScriptTest, MalformedArgumentsComeBackAsAProtocolErrorWithRedisText) {
  redisReply* reply = run({"EVAL", check_script().body(), "1", "k", "c", "0", "1", "9"});
  const auto decoded = decode_check_reply(reply, 0);
  if (reply) freeReplyObject(reply);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, StoreErrc::protocol_error);
  EXPECT_FALSE(decoded.error().transient);
  EXPECT_NE(decoded.error().detail.find("malformed arguments"), std::string::npos)
      << decoded.error().detail;
}

// ---- Encoding and decoding, without Redis -------------------------------------------------

std::vector<std::string> strings(std::span<const std::string_view> views) {
  return {views.begin(), views.end()};
}

TEST(CheckCall, EncodesKeyModeAndEveryLimit) {
  const std::vector<LimitRef> limits{
      {"api", per_minute(1'000'000'000)},
      {"grp",
       LimitSpec{.limit = 7, .window = 1500us, .algorithm = Algorithm::gcra, .enforced = false}}};
  const CheckCall call({"acct_1:live", limits, 3}, CheckMode::check, 1'700'000'040'123'456);
  EXPECT_EQ(strings(call.keys()), std::vector<std::string>{"kg:{acct:acct_1:live}:counters"});
  EXPECT_EQ(strings(call.args()),
            (std::vector<std::string>{"c", "1700000040123456", "3", "2",          //
                                      "api", "f", "1000000000", "60000000", "1",  //
                                      "grp", "g", "7", "1500", "0"}));

  const std::vector<LimitRef> one{{"api", per_minute(5, Algorithm::sliding_window)}};
  const CheckCall peek({"acct_1:live", one, 1}, CheckMode::peek);
  EXPECT_EQ(strings(peek.args()),
            (std::vector<std::string>{"p", "0", "1", "1", "api", "s", "5", "60000000", "1"}));
}

TEST(CheckCall, KeepsALongSubjectWhole) {
  const std::string subject(300, 'x');
  const CheckCall call({subject, {}, 1}, CheckMode::check);
  EXPECT_EQ(std::string(call.keys()[0]), counters_key(subject));
}

TEST(CheckRequestError, RefusesWhatTheScriptCannotComputeExactly) {
  const auto error = [](std::vector<LimitRef> limits, std::int64_t cost = 1) {
    return check_request_error({"s", limits, cost});
  };
  EXPECT_FALSE(error({{"api", per_minute(limiter::kMaxLimit)}}, limiter::kMaxCost));
  EXPECT_FALSE(error({{"api", per_minute(0)}}, 0));
  EXPECT_TRUE(error({{"a", per_minute(1)},
                     {"b", per_minute(1)},
                     {"c", per_minute(1)},
                     {"d", per_minute(1)},
                     {"e", per_minute(1)}}));
  EXPECT_TRUE(error({{"api", per_minute(1)}}, -1));
  // The same bounds as the memory store's (store/check_bounds.h), far inside the script's.
  EXPECT_TRUE(error({{"api", per_minute(1)}}, limiter::kMaxCost + 1));
  EXPECT_TRUE(error({{"api", per_minute(limiter::kMaxLimit + 1)}}));
  EXPECT_TRUE(error({{"api", per_minute(-1)}}));
  EXPECT_TRUE(error({{"api", LimitSpec{.limit = 1, .window = 1500ns}}}));
  EXPECT_TRUE(error({{"api", LimitSpec{.limit = 1, .window = 0ns}}}));
  EXPECT_TRUE(error({{"api", LimitSpec{.limit = 1, .window = kMaxScriptWindow + 1us}}}));
  const auto e = error({{"api", LimitSpec{.limit = 1, .window = 1500ns}}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, StoreErrc::protocol_error);
  EXPECT_FALSE(e->transient);
}

// A string reply built by hand, as hiredis would hand it over.
struct FakeReply {
  std::string bytes;
  redisReply reply{};

  static FakeReply packed(const std::vector<double>& values) {
    FakeReply r;
    r.bytes = pack_numbers(values);
    return r;
  }
  redisReply* get() {
    reply.type = REDIS_REPLY_STRING;
    reply.str = bytes.data();
    reply.len = bytes.size();
    return &reply;
  }
};

TEST(DecodeCheckReply, TurnsMicrosecondsIntoDecisions) {
  FakeReply r = FakeReply::packed({0, 1'700'000'040'000'000, 1, 0, 10, 4, 6, 1'700'000'100, 0,  //
                                   0, 1, 2, 0, 2, 1'700'000'100, 1'500'001});
  const auto decoded = decode_check_reply(r.get(), 2);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(decoded->admitted);
  ASSERT_EQ(decoded->count, 2u);
  const Decision& a = decoded->decisions[0];
  EXPECT_TRUE(a.allowed);
  EXPECT_FALSE(a.over_limit);
  EXPECT_EQ(a.limit, 10);
  EXPECT_EQ(a.remaining, 4);
  EXPECT_EQ(a.used, 6);
  EXPECT_EQ(a.reset_unix_s, 1'700'000'100);
  EXPECT_EQ(a.retry_after, 0ns);
  const Decision& b = decoded->decisions[1];
  EXPECT_FALSE(b.allowed);
  EXPECT_TRUE(b.over_limit);
  EXPECT_EQ(b.retry_after, 1'500'001'000ns);
}

TEST(DecodeCheckReply, RefusesAnythingElseAsAProtocolError) {
  const auto detail_of = [](const redisReply* reply, std::size_t n) {
    const auto decoded = decode_check_reply(reply, n);
    EXPECT_FALSE(decoded.has_value());
    if (decoded) return std::string();
    EXPECT_EQ(decoded.error().code, StoreErrc::protocol_error);
    return decoded.error().detail;
  };
  EXPECT_NE(detail_of(nullptr, 1).find("no reply"), std::string::npos);

  std::string message = "ERR user_script:1: Script attempted to access nonexistent global";
  redisReply error{};
  error.type = REDIS_REPLY_ERROR;
  error.str = message.data();
  error.len = message.size();
  EXPECT_NE(detail_of(&error, 1).find("nonexistent global"), std::string::npos);
  EXPECT_FALSE(decode_check_reply(&error, 1).error().transient);
  std::string busy = "BUSY Redis is busy running a script";
  error.str = busy.data();
  error.len = busy.size();
  EXPECT_TRUE(decode_check_reply(&error, 1).error().transient);

  redisReply status{};
  status.type = REDIS_REPLY_STATUS;
  EXPECT_NE(detail_of(&status, 1).find("string reply"), std::string::npos);

  FakeReply short_one = FakeReply::packed({1, 5, 1, 0, 10, 9, 1, 100});  // 8 of 9 numbers
  EXPECT_NE(detail_of(short_one.get(), 1).find("expected 9 numbers, got 64 bytes"),
            std::string::npos);

  FakeReply fraction = FakeReply::packed({1, 5, 1, 0.5, 10, 9, 1, 100, 0});
  EXPECT_NE(detail_of(fraction.get(), 1).find("number 3"), std::string::npos);
  FakeReply huge = FakeReply::packed({1, 5, 1, 0, 0x1p60, 9, 1, 100, 0});
  EXPECT_NE(detail_of(huge.get(), 1).find("number 4"), std::string::npos);
}

}  // namespace
}  // namespace gw::store::redis

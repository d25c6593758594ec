// Microbenchmarks of the limiter core and the in-memory counter store.
//
// Every store benchmark is the gateway's common case: one subject, two limits (the plan-wide
// "api" limit and one endpoint group), cost 1, checked through MemoryCounterStore::check_now
// (the synchronous core of check(); the async wrapper only adds one post()). Limits are
// 1e12 per minute so the admit path is what is measured, except in the *Reject* variants.
// items_per_second is checks per second (one check = both limits).
//
// Build Release; run pinned to one core:
//   taskset -c 0 ./bench/limiter_bench --benchmark_repetitions=3
//                --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>

#include "limiter/check.h"
#include "store/memory/memory_counter_store.h"

namespace {

using namespace std::chrono_literals;
using gw::limiter::Algorithm;
using gw::limiter::CounterState;
using gw::limiter::Decision;
using gw::limiter::LimitSpec;
using gw::store::CheckRequest;
using gw::store::CheckResult;
using gw::store::LimitRef;
using gw::store::MemoryCounterStore;

constexpr gw::core::UnixNanos kMinute0 = 1'700'000'040s;
constexpr std::int64_t kHuge = 1'000'000'000'000;
constexpr std::size_t kAccounts = 100000;

LimitSpec spec(std::int64_t limit, Algorithm algorithm = Algorithm::fixed_window) {
  return LimitSpec{.limit = limit, .window = 60s, .algorithm = algorithm};
}

Algorithm algorithm_arg(const benchmark::State& state) {
  return static_cast<Algorithm>(state.range(0));
}

// xorshift64*: cheap enough not to show in the measurement.
struct Rng {
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  std::uint64_t next() noexcept {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, n) without a division (Lemire's multiply-shift).
  std::size_t below(std::size_t n) noexcept {
    __extension__ typedef unsigned __int128 U128;
    return static_cast<std::size_t>((U128{next()} * n) >> 64);
  }
};

// Raw limiter: check_all of two limits on local state, no store, no lock.
void BM_CheckAll_Local(benchmark::State& state) {
  const std::array<LimitSpec, 2> specs{spec(kHuge, algorithm_arg(state)),
                                       spec(kHuge, algorithm_arg(state))};
  std::array<CounterState, 2> counters{};
  const std::array<CounterState*, 2> ptrs{&counters[0], &counters[1]};
  std::array<Decision, 2> out{};
  gw::core::UnixNanos now = kMinute0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(gw::limiter::check_all(specs, ptrs, now, 1, out));
    benchmark::DoNotOptimize(out);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckAll_Local)
    ->ArgName("algorithm")
    ->Arg(static_cast<int>(Algorithm::fixed_window))
    ->Arg(static_cast<int>(Algorithm::sliding_window))
    ->Arg(static_cast<int>(Algorithm::gcra));

// One account hammered: always the same shard, slot and counters (all in cache).
void BM_Store_HotKey(benchmark::State& state) {
  MemoryCounterStore store;
  const std::array<LimitRef, 2> limits{
      LimitRef{"api", spec(kHuge, algorithm_arg(state))},
      LimitRef{"sessions_read", spec(kHuge, algorithm_arg(state))}};
  const CheckRequest request{"acct_42:live", limits, 1};
  gw::core::UnixNanos now = kMinute0;
  for (auto _ : state) {
    CheckResult r = store.check_now(request, now);
    benchmark::DoNotOptimize(r);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Store_HotKey)
    ->ArgName("algorithm")
    ->Arg(static_cast<int>(Algorithm::fixed_window))
    ->Arg(static_cast<int>(Algorithm::sliding_window))
    ->Arg(static_cast<int>(Algorithm::gcra));

// The subject "acct_<7 digits>:live" of account `index`, built in `buf` as the gateway builds
// it per request (so it is in cache, as there, instead of a miss into a table of strings).
std::string_view subject_of(std::size_t index, std::array<char, 32>& buf) noexcept {
  constexpr std::string_view kPrefix = "acct_";
  constexpr std::string_view kSuffix = ":live";
  char* p = std::copy(kPrefix.begin(), kPrefix.end(), buf.data());
  p = std::to_chars(p, buf.data() + buf.size(), 1'000'000 + index).ptr;
  p = std::copy(kSuffix.begin(), kSuffix.end(), p);
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

// Accounts chosen uniformly among 100k already-known ones: mostly cache misses on the map.
void BM_Store_Uniform100k(benchmark::State& state) {
  MemoryCounterStore store;
  const std::array<LimitRef, 2> limits{
      LimitRef{"api", spec(kHuge, algorithm_arg(state))},
      LimitRef{"sessions_read", spec(kHuge, algorithm_arg(state))}};
  gw::core::UnixNanos now = kMinute0;
  std::array<char, 32> buf;
  for (std::size_t i = 0; i < kAccounts; ++i) {  // every account has its counters already
    store.check_now(CheckRequest{subject_of(i, buf), limits, 1}, now);
  }
  Rng rng;
  for (auto _ : state) {
    CheckResult r =
        store.check_now(CheckRequest{subject_of(rng.below(kAccounts), buf), limits, 1}, now);
    benchmark::DoNotOptimize(r);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Store_Uniform100k)
    ->ArgName("algorithm")
    ->Arg(static_cast<int>(Algorithm::fixed_window))
    ->Arg(static_cast<int>(Algorithm::gcra));

// The reject path: the group limit is spent, the plan-wide one has room (so it is
// evaluated, found to have room, and restated uncharged).
void BM_Store_HotKeyReject(benchmark::State& state) {
  MemoryCounterStore store;
  const std::array<LimitRef, 2> limits{LimitRef{"api", spec(kHuge, algorithm_arg(state))},
                                       LimitRef{"analysis", spec(10, algorithm_arg(state))}};
  const CheckRequest request{"acct_42:live", limits, 1};
  const gw::core::UnixNanos now = kMinute0 + 1s;
  for (int i = 0; i < 10; ++i) {
    store.check_now(request, now);
  }
  if (store.check_now(request, now).admitted) {
    state.SkipWithError("the group limit should be spent");
    return;
  }
  for (auto _ : state) {
    CheckResult r = store.check_now(request, now);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Store_HotKeyReject)
    ->ArgName("algorithm")
    ->Arg(static_cast<int>(Algorithm::fixed_window))
    ->Arg(static_cast<int>(Algorithm::sliding_window))
    ->Arg(static_cast<int>(Algorithm::gcra));

}  // namespace

BENCHMARK_MAIN();

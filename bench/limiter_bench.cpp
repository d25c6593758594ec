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
#include <malloc.h>
#include <memory>
#include <string_view>
#include <vector>

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
  std::uint64_t s = 0x9E3779B97F4A7C15ull;  // any nonzero seed
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
  // As the proxy checks: the subject's hash computed once, with its cached caller.
  const CheckRequest request{"acct_42:live", limits, 1, gw::store::hash_subject("acct_42:live")};
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

// Accounts chosen uniformly among `accounts` already-known ones (Arg 1). Each subject's
// hash is computed once up front, as the proxy's cached callers carry it; the subject text
// is rebuilt per check (in cache, as the proxy's is). Beyond the last-level cache this is
// one main-memory miss per check.
void BM_Store_Uniform(benchmark::State& state) {
  const auto accounts = static_cast<std::size_t>(state.range(1));
  MemoryCounterStore store;
  const std::array<LimitRef, 2> limits{
      LimitRef{"api", spec(kHuge, algorithm_arg(state))},
      LimitRef{"sessions_read", spec(kHuge, algorithm_arg(state))}};
  gw::core::UnixNanos now = kMinute0;
  std::array<char, 32> buf;
  std::vector<std::uint64_t> hashes(accounts);
  for (std::size_t i = 0; i < accounts; ++i) {  // every account has its counters already
    hashes[i] = gw::store::hash_subject(subject_of(i, buf));
    store.check_now(CheckRequest{subject_of(i, buf), limits, 1, hashes[i]}, now);
  }
  Rng rng;
  for (auto _ : state) {
    const std::size_t i = rng.below(accounts);
    CheckResult r = store.check_now(CheckRequest{subject_of(i, buf), limits, 1, hashes[i]}, now);
    benchmark::DoNotOptimize(r);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Store_Uniform)
    ->ArgNames({"algorithm", "accounts"})
    ->Args({static_cast<int>(Algorithm::fixed_window), 10'000})
    ->Args({static_cast<int>(Algorithm::fixed_window), 100'000})
    ->Args({static_cast<int>(Algorithm::gcra), 100'000});

// Two threads on one shared store, each hammering an account of its own (their own shards):
// what scaling to a second core costs (lock cache lines, false sharing). Run on 2 cores.
void BM_Store_HotKeyPerThread(benchmark::State& state) {
  static MemoryCounterStore* store = nullptr;
  if (state.thread_index() == 0) store = new MemoryCounterStore;
  const std::array<LimitRef, 2> limits{LimitRef{"api", spec(kHuge)},
                                       LimitRef{"sessions_read", spec(kHuge)}};
  std::array<char, 32> buf;
  const std::string_view subject = subject_of(static_cast<std::size_t>(state.thread_index()), buf);
  const CheckRequest request{subject, limits, 1, gw::store::hash_subject(subject)};
  gw::core::UnixNanos now = kMinute0;
  for (auto _ : state) {  // the loop starts with a barrier: `store` is set by then
    CheckResult r = store->check_now(request, now);
    benchmark::DoNotOptimize(r);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {  // the loop ends with a barrier too
    delete store;
    store = nullptr;
  }
}
BENCHMARK(BM_Store_HotKeyPerThread)->Threads(1)->Threads(2)->UseRealTime();

// Two threads, each drawing uniformly from the same 100k accounts (rarely the same shard at
// the same time): memory-bound work on both cores.
void BM_Store_UniformShared(benchmark::State& state) {
  static MemoryCounterStore* store = nullptr;
  static std::vector<std::uint64_t>* hashes = nullptr;
  const std::array<LimitRef, 2> limits{LimitRef{"api", spec(kHuge)},
                                       LimitRef{"sessions_read", spec(kHuge)}};
  std::array<char, 32> buf;
  gw::core::UnixNanos now = kMinute0;
  if (state.thread_index() == 0) {
    store = new MemoryCounterStore;
    hashes = new std::vector<std::uint64_t>(kAccounts);
    for (std::size_t i = 0; i < kAccounts; ++i) {
      (*hashes)[i] = gw::store::hash_subject(subject_of(i, buf));
      store->check_now(CheckRequest{subject_of(i, buf), limits, 1, (*hashes)[i]}, now);
    }
  }
  Rng rng{0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(state.thread_index())};
  for (auto _ : state) {
    const std::size_t i = rng.below(kAccounts);
    CheckResult r =
        store->check_now(CheckRequest{subject_of(i, buf), limits, 1, (*hashes)[i]}, now);
    benchmark::DoNotOptimize(r);
    now += 1ns;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete store;
    delete hashes;
    store = nullptr;
    hashes = nullptr;
  }
}
BENCHMARK(BM_Store_UniformShared)->Threads(1)->Threads(2)->UseRealTime();

// Memory: 1 M accounts with two live counters each (the plan-wide limit and one group), as
// after a minute in which a million accounts each made a request. Reports heap bytes per
// (account, limit) counter, everything included (map slots, tables, subject and name
// strings, allocator overhead), from glibc's own accounting.
std::size_t heap_bytes_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks in use + large mmap()ed ones
}

void BM_Store_MemoryPerCounter(benchmark::State& state) {
  constexpr std::size_t kMillion = 1'000'000;
  const std::array<LimitRef, 2> limits{LimitRef{"api", spec(kHuge)},
                                       LimitRef{"sessions_read", spec(kHuge)}};
  std::array<char, 32> buf;
  for (auto _ : state) {
    const std::size_t before = heap_bytes_in_use();
    auto store = std::make_unique<MemoryCounterStore>();
    for (std::size_t i = 0; i < kMillion; ++i) {
      store->check_now(CheckRequest{subject_of(i, buf), limits, 1}, kMinute0);
    }
    const std::size_t after = heap_bytes_in_use();
    state.counters["bytes_per_counter"] =
        static_cast<double>(after - before) / static_cast<double>(2 * kMillion);
    state.counters["subjects"] = static_cast<double>(store->size());
  }
}
BENCHMARK(BM_Store_MemoryPerCounter)->Iterations(1)->Unit(benchmark::kMillisecond);

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

// Closed-loop load on a ShouldRateLimit server (bench/decision_bench.sh): `--concurrency`
// calls always in flight on one channel (gRPC's callback API: each answer issues the
// next call), for `--warmup` then `--duration` seconds. Prints one JSON line: checks/s
// over the measured part, p50/p99 latency in microseconds, and how the calls were
// answered (OK, OVER_LIMIT, gRPC errors). Built from the project's protos only.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"

namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using envoy::service::ratelimit::v3::RateLimitService;
using Clock = std::chrono::steady_clock;

struct Shared {
  RateLimitService::Stub* stub = nullptr;
  RateLimitRequest request;
  Clock::time_point measure_from, stop_at;
  std::mutex mutex;
  std::condition_variable done;
  int running = 0;
};

// One call slot: issues a call, records it, issues the next, until stop_at. Its
// callbacks never overlap (the next call starts from the previous one's callback), so
// its counters need no lock.
class Slot {
 public:
  explicit Slot(Shared& shared) : shared_(shared) {}

  void start() {
    context_ = std::make_unique<grpc::ClientContext>();
    response_.Clear();
    started_ = Clock::now();
    shared_.stub->async()->ShouldRateLimit(context_.get(), &shared_.request, &response_,
                                           [this](grpc::Status status) { finished(status); });
  }

  std::vector<std::uint32_t> latencies_us;
  std::uint64_t ok = 0, over = 0, errors = 0;

 private:
  void finished(const grpc::Status& status) {
    const auto now = Clock::now();
    if (started_ >= shared_.measure_from) {
      latencies_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count()));
      if (!status.ok())
        ++errors;
      else if (response_.overall_code() == RateLimitResponse::OK)
        ++ok;
      else
        ++over;
    }
    if (now < shared_.stop_at) {
      start();
      return;
    }
    std::lock_guard lock(shared_.mutex);
    if (--shared_.running == 0) shared_.done.notify_all();
  }

  Shared& shared_;
  std::unique_ptr<grpc::ClientContext> context_;
  RateLimitResponse response_;
  Clock::time_point started_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ShouldRateLimit closed-loop load"};
  std::string target, key, path = "/v1/sessions/sess_bench/transcript";
  int concurrency = 8;
  double duration_s = 10, warmup_s = 2;
  bool route = false;
  app.add_option("--target", target, "host:port")->required();
  app.add_option("--key", key, "the api_key entry")->required();
  app.add_option("--concurrency", concurrency, "calls in flight");
  app.add_option("--duration", duration_s, "measured seconds");
  app.add_option("--warmup", warmup_s, "seconds before measuring");
  app.add_flag("--route", route, "a second descriptor: [api_key, method, path]");
  CLI11_PARSE(app, argc, argv);

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::fprintf(stderr, "rls_load: cannot connect to %s\n", target.c_str());
    return 1;
  }
  auto stub = RateLimitService::NewStub(channel);
  Shared shared;
  shared.stub = stub.get();
  shared.request.set_domain("kallglot");
  auto add = [&](std::initializer_list<std::pair<const char*, std::string>> entries) {
    auto* d = shared.request.add_descriptors();
    for (const auto& [k, v] : entries) {
      auto* e = d->add_entries();
      e->set_key(k);
      e->set_value(v);
    }
  };
  add({{"api_key", key}});
  if (route) add({{"api_key", key}, {"method", "GET"}, {"path", path}});

  const auto begin = Clock::now();
  shared.measure_from =
      begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup_s));
  shared.stop_at = shared.measure_from + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(duration_s));
  std::vector<std::unique_ptr<Slot>> slots;
  shared.running = concurrency;
  for (int i = 0; i < concurrency; ++i) slots.push_back(std::make_unique<Slot>(shared));
  for (auto& slot : slots) slot->start();
  {
    std::unique_lock lock(shared.mutex);
    shared.done.wait(lock, [&] { return shared.running == 0; });
  }

  std::vector<std::uint32_t> all;
  std::uint64_t ok = 0, over = 0, errors = 0;
  for (const auto& slot : slots) {
    all.insert(all.end(), slot->latencies_us.begin(), slot->latencies_us.end());
    ok += slot->ok;
    over += slot->over;
    errors += slot->errors;
  }
  std::sort(all.begin(), all.end());
  auto quantile = [&](double q) {
    return all.empty() ? 0u
                       : all[std::min(all.size() - 1, static_cast<std::size_t>(q * all.size()))];
  };
  std::printf(
      "{\"checks_per_s\":%.0f,\"p50_us\":%u,\"p99_us\":%u,\"ok\":%llu,\"over_limit\":%llu,"
      "\"errors\":%llu}\n",
      static_cast<double>(all.size()) / duration_s, quantile(0.50), quantile(0.99),
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(over),
      static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 1;
}

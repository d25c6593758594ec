#include "metrics/gateway_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace gw::metrics {
namespace {

const char* result_label(DecisionResult r) {
  switch (r) {
    case DecisionResult::allowed:
      return "allowed";
    case DecisionResult::denied:
      return "denied";
    case DecisionResult::shadow_denied:
      return "shadow_denied";
    case DecisionResult::degraded:
      return "degraded";
  }
  return "unknown";
}

constexpr std::array<const char*, 6> kStatusClasses{"error", "1xx", "2xx", "3xx", "4xx", "5xx"};

std::size_t status_class_index(int status) {
  const int index = status / 100;
  return index >= 1 && index <= 5 ? static_cast<std::size_t>(index) : 0;
}

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,     0.1,     0.25,   0.5,     1.0,    2.5,   5.0,    10.0};
}

}  // namespace

struct GatewayMetrics::Impl {
  using StreamDirection = GatewayMetrics::StreamDirection;
  using StreamOutcome = GatewayMetrics::StreamOutcome;

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Counter>& decisions =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_decisions_total")
          .Help("Rate-limit decisions by plan, endpoint group and result")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rejections =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_rejections_total")
          .Help("429 answers by error code")
          .Register(*registry);
  prometheus::Counter& unauthenticated =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_unauthenticated_total")
          .Help("401 answers (missing, unknown or revoked API key)")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& upstream_responses =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_upstream_responses_total")
          .Help("Upstream responses by status class (error = no response)")
          .Register(*registry);
  prometheus::Histogram& upstream_latency =
      prometheus::BuildHistogram()
          .Name("kallglot_gateway_upstream_latency_seconds")
          .Help("Time from forwarding a request to the upstream's response head")
          .Register(*registry)
          .Add({}, latency_buckets());
  prometheus::Histogram& decision_latency =
      prometheus::BuildHistogram()
          .Name("kallglot_gateway_decision_latency_seconds")
          .Help("Time to take a rate-limit decision (store round trip included)")
          .Register(*registry)
          .Add({}, latency_buckets());
  prometheus::Counter& store_errors = prometheus::BuildCounter()
                                          .Name("kallglot_gateway_store_errors_total")
                                          .Help("Counter store failures")
                                          .Register(*registry)
                                          .Add({});
  prometheus::Family<prometheus::Counter>& redis =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_redis_total")
          .Help(
              "Redis client work: commands sent, socket writes (pipelining batches them), "
              "timeouts, cluster redirects followed, reconnects")
          .Register(*registry);
  std::array<prometheus::Counter*, 5> redis_series{
      &redis.Add({{"event", "commands"}}), &redis.Add({{"event", "writes"}}),
      &redis.Add({{"event", "timeouts"}}), &redis.Add({{"event", "redirects"}}),
      &redis.Add({{"event", "reconnects"}})};
  std::array<std::uint64_t, 5> redis_reported{};
  std::mutex redis_mutex;  // guards redis_reported
  prometheus::Family<prometheus::Counter>& reloads =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_config_reloads_total")
          .Help("Configuration reloads by result")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& key_lookups =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_key_lookups_total")
          .Help("Account-store lookups of presented API keys (caller-cache misses), by result")
          .Register(*registry);
  std::array<prometheus::Counter*, 3> key_lookup_series{&key_lookups.Add({{"result", "known"}}),
                                                        &key_lookups.Add({{"result", "unknown"}}),
                                                        &key_lookups.Add({{"result", "error"}})};
  prometheus::Family<prometheus::Counter>& refusals =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_refused_total")
          .Help("Connections, upgrades and streams turned away by a resource cap, by cap")
          .Register(*registry);
  prometheus::Gauge& connections = prometheus::BuildGauge()
                                       .Name("kallglot_gateway_open_connections")
                                       .Help("Open downstream HTTP connections")
                                       .Register(*registry)
                                       .Add({});

  prometheus::Family<prometheus::Counter>& stream_messages =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_ws_messages_total")
          .Help("WebSocket data messages by direction and outcome (relayed, rejected, shaped)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& stream_audio =
      prometheus::BuildCounter()
          .Name("kallglot_gateway_ws_audio_bytes_total")
          .Help("Audio bytes of client WebSocket messages by outcome")
          .Register(*registry);
  prometheus::Gauge& streams = prometheus::BuildGauge()
                                   .Name("kallglot_gateway_open_streams")
                                   .Help("Open WebSocket session streams")
                                   .Register(*registry)
                                   .Add({});

  // Every (direction, outcome) a stream reports, made once: the per-message path then
  // increments an atomic without a label lookup.
  prometheus::Counter& c2u_relayed =
      stream_messages.Add({{"direction", "client_to_upstream"}, {"outcome", "relayed"}});
  prometheus::Counter& c2u_rejected =
      stream_messages.Add({{"direction", "client_to_upstream"}, {"outcome", "rejected"}});
  prometheus::Counter& c2u_shaped =
      stream_messages.Add({{"direction", "client_to_upstream"}, {"outcome", "shaped"}});
  prometheus::Counter& u2c_relayed =
      stream_messages.Add({{"direction", "upstream_to_client"}, {"outcome", "relayed"}});
  prometheus::Counter& audio_relayed = stream_audio.Add({{"outcome", "relayed"}});
  prometheus::Counter& audio_rejected = stream_audio.Add({{"outcome", "rejected"}});

  prometheus::Counter& stream_series(StreamDirection direction, StreamOutcome outcome) {
    if (direction == StreamDirection::upstream_to_client) return u2c_relayed;
    switch (outcome) {
      case StreamOutcome::rejected:
        return c2u_rejected;
      case StreamOutcome::shaped:
        return c2u_shaped;
      case StreamOutcome::relayed:
        break;
    }
    return c2u_relayed;
  }

  prometheus::Gauge& sessions =
      prometheus::BuildGauge()
          .Name("kallglot_gateway_active_sessions")
          .Help("Concurrent-session slots held (reserved or bound), all accounts")
          .Register(*registry)
          .Add({});

  // Family::Add locks the family and hashes the labels. The request path looks its series
  // up in a per-thread map instead (no lock, no allocation once warm); only a miss takes
  // the family's lock.
  // Keyed by a process-unique id, not `this`: a later instance may reuse the address.
  using SeriesKey = std::tuple<std::uint64_t, std::string, std::string, DecisionResult>;
  using SeriesMap = std::map<SeriesKey, prometheus::Counter*, std::less<>>;

  prometheus::Counter& decision_series(std::string_view plan, std::string_view group,
                                       DecisionResult result) {
    thread_local SeriesMap cache;
    const auto probe = std::make_tuple(id, plan, group, result);
    if (auto it = cache.find(probe); it != cache.end()) return *it->second;
    std::lock_guard lock(family_mutex);
    auto& series =
        decisions.Add({{"plan", std::string(plan)},
                       {"group", group.empty() ? std::string("none") : std::string(group)},
                       {"result", result_label(result)}});
    cache.emplace(SeriesKey{id, plan, group, result}, &series);
    return series;
  }
  // Series created on first use (so /metrics lists only what happened), then reached
  // without the family's lock.
  prometheus::Counter& upstream_series(int status) {
    const std::size_t index = status_class_index(status);
    if (prometheus::Counter* series = upstream_by_class[index].load(std::memory_order_acquire)) {
      return *series;
    }
    std::lock_guard lock(family_mutex);
    prometheus::Counter& series = upstream_responses.Add({{"class", kStatusClasses[index]}});
    upstream_by_class[index].store(&series, std::memory_order_release);
    return series;
  }
  std::array<std::atomic<prometheus::Counter*>, kStatusClasses.size()> upstream_by_class{};

  using CodeKey = std::tuple<std::uint64_t, std::string>;
  prometheus::Counter& rejection_series(std::string_view code) {
    thread_local std::map<CodeKey, prometheus::Counter*, std::less<>> cache;
    const auto probe = std::make_tuple(id, code);
    if (auto it = cache.find(probe); it != cache.end()) return *it->second;
    std::lock_guard lock(family_mutex);
    auto& series = rejections.Add({{"code", std::string(code)}});
    cache.emplace(CodeKey{id, code}, &series);
    return series;
  }

  std::mutex family_mutex;
  const std::uint64_t id = next_id();

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> ids{0};
    return ids.fetch_add(1, std::memory_order_relaxed);
  }
};

GatewayMetrics::GatewayMetrics() : impl_(std::make_unique<Impl>()) {}
GatewayMetrics::~GatewayMetrics() = default;

void GatewayMetrics::decision(std::string_view plan, std::string_view group,
                              DecisionResult result) {
  impl_->decision_series(plan, group, result).Increment();
}

void GatewayMetrics::rejected_429(std::string_view code) {
  impl_->rejection_series(code).Increment();
}

void GatewayMetrics::unauthenticated() { impl_->unauthenticated.Increment(); }

void GatewayMetrics::key_lookup(KeyLookupResult result) {
  impl_->key_lookup_series[static_cast<std::size_t>(result)]->Increment();
}

void GatewayMetrics::upstream_response(int status, double seconds) {
  impl_->upstream_series(status).Increment();
  if (status != 0) impl_->upstream_latency.Observe(seconds);
}

void GatewayMetrics::decision_latency(double seconds) { impl_->decision_latency.Observe(seconds); }

void GatewayMetrics::store_error() { impl_->store_errors.Increment(); }

void GatewayMetrics::config_reload(bool ok) {
  impl_->reloads.Add({{"result", ok ? "success" : "failure"}}).Increment();
}

void GatewayMetrics::connections_delta(int delta) { impl_->connections.Increment(delta); }

void GatewayMetrics::refused(std::string_view reason) {
  impl_->refusals.Add({{"reason", std::string(reason)}}).Increment();
}

void GatewayMetrics::stream_message(StreamDirection direction, StreamOutcome outcome) {
  // Per-message path: the series were made once (see stream_series), no lookup by label.
  impl_->stream_series(direction, outcome).Increment();
}

void GatewayMetrics::stream_audio_bytes(StreamOutcome outcome, std::int64_t bytes) {
  (outcome == StreamOutcome::rejected ? impl_->audio_rejected : impl_->audio_relayed)
      .Increment(static_cast<double>(bytes));
}

void GatewayMetrics::streams_delta(int delta) { impl_->streams.Increment(delta); }

void GatewayMetrics::active_sessions(std::int64_t slots) {
  impl_->sessions.Set(static_cast<double>(slots));
}

void GatewayMetrics::redis_client(std::uint64_t commands, std::uint64_t writes,
                                  std::uint64_t timeouts, std::uint64_t redirects,
                                  std::uint64_t reconnects) {
  const std::array<std::uint64_t, 5> totals{commands, writes, timeouts, redirects, reconnects};
  std::lock_guard lock(impl_->redis_mutex);
  for (std::size_t i = 0; i < totals.size(); ++i) {
    if (totals[i] > impl_->redis_reported[i]) {
      impl_->redis_series[i]->Increment(static_cast<double>(totals[i] - impl_->redis_reported[i]));
      impl_->redis_reported[i] = totals[i];
    }
  }
}

std::string GatewayMetrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace gw::metrics

// Every Prometheus series the gateway exports, declared in one place (SPEC §9).
// Thread-safe: counters and histograms are atomics inside prometheus-cpp; label lookups
// are cached per (plan, group, result) so the request path does not take the registry lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gw::metrics {

enum class DecisionResult { allowed, denied, shadow_denied, degraded };
enum class KeyLookupResult { known, unknown, error };

class GatewayMetrics {
 public:
  GatewayMetrics();
  ~GatewayMetrics();
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // One rate-limit decision. `group` is empty for requests in no group.
  void decision(std::string_view plan, std::string_view group, DecisionResult result);
  void rejected_429(std::string_view code);
  void unauthenticated();  // 401 answers
  // An account-store lookup of a presented key, made on a caller-cache miss (so requests
  // minus known lookups are the cache's hits). Malformed keys are never looked up.
  void key_lookup(KeyLookupResult result);
  void upstream_response(int status, double seconds);  // status 0: no response (502/504)
  void decision_latency(double seconds);
  void store_error();
  void config_reload(bool ok);
  void connections_delta(int delta);
  // Work turned away by a resource cap before it cost anything: `reason` names the cap
  // (max_connections, max_connections_per_ip, max_streams, max_streams_per_session,
  // upgrades_per_minute_per_ip, max_buffered_bytes). Not on the request path.
  void refused(std::string_view reason);

  // WebSocket streams (SPEC §5). A shaped message is counted shaped each time it waits,
  // and relayed once it goes. Audio bytes are the metered ones.
  enum class StreamDirection { client_to_upstream, upstream_to_client };
  enum class StreamOutcome { relayed, rejected, shaped };
  void stream_message(StreamDirection direction, StreamOutcome outcome);
  void stream_audio_bytes(StreamOutcome outcome, std::int64_t bytes);  // relayed | rejected
  void streams_delta(int delta);
  void active_sessions(std::int64_t slots);  // session slots held, all accounts

  // The Redis client's running totals (store.backend: redis), reported periodically: the
  // counters advance by the difference since the last report.
  void redis_client(std::uint64_t commands, std::uint64_t writes, std::uint64_t timeouts,
                    std::uint64_t redirects, std::uint64_t reconnects);

  // The Prometheus text exposition of every series.
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::metrics

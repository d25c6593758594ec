// The gateway's configuration after parsing, merging over the built-in defaults
// (config/gateway.yaml) and validation. An immutable value once built; the running gateway
// holds it through a shared_ptr<const GatewayConfig> that SIGHUP replaces as a whole.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_network.h"
#include "decision/decision_settings.h"
#include "limiter/limit.h"
#include "policy/plan.h"
#include "policy/policy_config.h"

namespace gw::config {

struct ListenAddress {
  std::string host;  // literal IPv4/IPv6 address or "localhost"
  std::uint16_t port = 0;

  bool operator==(const ListenAddress&) const = default;
};

struct AdminConfig {
  ListenAddress listen{"127.0.0.1", 9090};
  std::string token_env = "KALLGLOT_GATEWAY_ADMIN_TOKEN";
};

// SPEC §8: the decision service. Absent address = off.
struct DecisionServiceConfig {
  std::optional<ListenAddress> grpc_listen;  // Envoy RLS v3 (gRPC, plaintext HTTP/2)
};

struct UpstreamConfig {
  std::string url = "http://127.0.0.1:7000";
  std::string host;  // from url
  std::uint16_t port = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds request_timeout{30000};
  // A pooled connection idle this long is not reused (proxy/upstream_pool.h); 0 = never.
  std::chrono::milliseconds pool_idle_timeout{4000};
};

enum class StoreBackend { memory, redis };
using decision::OnStoreFailure;

struct StoreConfig {
  StoreBackend backend = StoreBackend::memory;
  std::vector<std::string> redis_urls{"redis://127.0.0.1:6379/0"};  // >1 = cluster seeds
  std::chrono::milliseconds redis_timeout{50};
  OnStoreFailure on_failure = OnStoreFailure::fail_open;
};

struct AccountsConfig {
  std::string path = "./data/accounts.db";
  std::chrono::seconds cache{60};
};

// Limits of the HTTP listener itself (not in the published policy; operator knobs).
struct HttpConfig {
  std::size_t max_header_bytes = 16 * 1024;             // larger heads get 431
  std::uint64_t max_body_bytes = 100ull * 1024 * 1024;  // larger bodies get 413
  std::chrono::milliseconds header_timeout{10000};      // to read a whole request head
  std::chrono::milliseconds idle_timeout{60000};        // keep-alive connection with no request
  std::size_t max_connections = 10000;                  // client connections, all workers
  std::size_t max_connections_per_ip = 256;             // per client block (IPv6: its /64)
};

using policy::GroupConfig;
using policy::SessionsConfig;

enum class OverLimitAction { reject, shape };

struct WebSocketConfig {
  OverLimitAction messages_over_limit = OverLimitAction::reject;
  OverLimitAction audio_over_limit = OverLimitAction::shape;
  std::chrono::milliseconds close_after_violation{10000};
  std::uint64_t max_message_bytes = 16777216;
  std::size_t max_streams = 4096;                  // open session streams, this instance
  std::size_t max_streams_per_session = 2;         // open streams of one session, this instance
  std::uint64_t max_buffered_bytes = 268435456;    // unfinished client messages, all streams
  std::uint32_t upgrades_per_minute_per_ip = 120;  // stream upgrade attempts per client block
};

using decision::UnknownKey;

// The policy's own part (plans, groups, session routes, algorithm, shadow mode) is the
// base: Policy is compiled from it alone and never sees the rest.
struct GatewayConfig : policy::PolicyConfig {
  ListenAddress listen{"0.0.0.0", 8080};
  std::chrono::milliseconds shutdown_grace{10000};
  AdminConfig admin;
  DecisionServiceConfig decision;
  UpstreamConfig upstream;
  StoreConfig store;
  AccountsConfig accounts;
  HttpConfig http;
  std::vector<core::IpNetwork> trusted_proxies;  // peers whose X-Forwarded-For names the client
  bool x_ratelimit_headers = true;               // headers: [x-ratelimit]
  bool ietf_headers = false;                     // headers: [ietf]
  UnknownKey unknown_key = UnknownKey::reject;
  WebSocketConfig websocket;
};

}  // namespace gw::config

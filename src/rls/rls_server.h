// The gRPC listener of the decision service: Envoy's
// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit on decision.grpc_listen
// (SPEC §8). Each call is read (rate_limit_request.h), decided by the CheckService and
// answered (rate_limit_response.h) on gRPC's callback API; no call is ever answered with
// a gRPC error status, so Envoy never fails open on the gateway's account.
//
// The listener is meant for a private network (the proxies that ask): it has no token.
// Each call's cost is still bounded: requests over kMaxRequestBytes are refused by gRPC,
// a connection carries at most kMaxStreamsPerConnection calls at once, and gRPC's memory
// for calls in flight is capped (kMemoryQuotaBytes).
//
// Thread-safety: start() and stop() from one control thread (app/).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "check/check_service.h"
#include "config/gateway_config.h"
#include "core/result.h"

namespace grpc {
class Server;
class ServerBuilder;
}  // namespace grpc

namespace gw::rls {

inline constexpr int kMaxRequestBytes = 64 * 1024;
inline constexpr int kMaxStreamsPerConnection = 256;
inline constexpr std::size_t kMemoryQuotaBytes = 64 * 1024 * 1024;

// The bounds above, and no port sharing, on a server being built (the benchmark's null
// server uses the same).
void apply_listener_bounds(grpc::ServerBuilder& builder);

class RlsServer {
 public:
  explicit RlsServer(check::CheckService& checks);
  ~RlsServer();  // stop(0)
  RlsServer(const RlsServer&) = delete;
  RlsServer& operator=(const RlsServer&) = delete;

  // Listens on `address` (port 0: an ephemeral one) and serves. Returns the bound port.
  core::Result<std::uint16_t, std::string> start(const config::ListenAddress& address);

  // Stops taking calls and lets those in flight finish for at most `grace`.
  void stop(std::chrono::milliseconds grace);

 private:
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace gw::rls

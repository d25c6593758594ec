#include "rls/rls_server.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include "core/request_id.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "rls/rate_limit_request.h"
#include "rls/rate_limit_response.h"

namespace gw::rls {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;

class RlsServer::Service final
    : public envoy::service::ratelimit::v3::RateLimitService::CallbackService {
 public:
  explicit Service(check::CheckService& checks) : checks_(checks) {}

  grpc::ServerUnaryReactor* ShouldRateLimit(grpc::CallbackServerContext* context,
                                            const RateLimitRequest* request,
                                            RateLimitResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string request_id = core::generate_request_id();
    auto query = read_rate_limit_request(*request);
    if (!query) {
      write_refusal(query.error(), request->descriptors_size(), request_id, *response);
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    if (auto answer = checks_.decide_now(*query)) {
      write_answer(*answer, request_id, *response);
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    // gRPC keeps `response` alive until Finish; the answer comes on the service's thread.
    checks_.submit(std::move(*query), [reactor, response, request_id = std::move(request_id)](
                                          decision::CheckAnswer answer) {
      write_answer(answer, request_id, *response);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  check::CheckService& checks_;
};

void apply_listener_bounds(grpc::ServerBuilder& builder) {
  grpc::ResourceQuota quota("kallglot-decision");
  quota.Resize(kMemoryQuotaBytes);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  // A second process on the same port is a start-up error, not a silent share.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  // An idle connection is closed after five minutes: a client that opens connections and
  // leaves them holds nothing for long.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
}

RlsServer::RlsServer(check::CheckService& checks) : service_(std::make_unique<Service>(checks)) {}

RlsServer::~RlsServer() { stop(std::chrono::milliseconds(0)); }

core::Result<std::uint16_t, std::string> RlsServer::start(const config::ListenAddress& address) {
  const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  const bool ipv6 = host.find(':') != std::string::npos;
  const std::string target =
      ipv6 ? fmt::format("[{}]:{}", host, address.port) : fmt::format("{}:{}", host, address.port);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  apply_listener_bounds(builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return core::unexpected(fmt::format("cannot listen on {}", target));
  }
  return static_cast<std::uint16_t>(port);
}

void RlsServer::stop(std::chrono::milliseconds grace) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace gw::rls

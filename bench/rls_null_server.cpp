// The baseline of bench/decision_bench.sh: a ShouldRateLimit server on the same gRPC stack
// and listener bounds as the gateway's (rls::apply_listener_bounds, the callback API),
// that decides nothing: every call is answered OK at once, one OK status per descriptor.
// What the gateway costs beyond it is the decision (and the hop to its check thread).
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "rls/rls_server.h"

namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;

class NullService final : public envoy::service::ratelimit::v3::RateLimitService::CallbackService {
  grpc::ServerUnaryReactor* ShouldRateLimit(grpc::CallbackServerContext* context,
                                            const RateLimitRequest* request,
                                            RateLimitResponse* response) override {
    response->set_overall_code(RateLimitResponse::OK);
    for (int i = 0; i < request->descriptors_size(); ++i) {
      response->add_statuses()->set_code(RateLimitResponse::OK);
    }
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ShouldRateLimit server that always answers OK"};
  std::string listen = "127.0.0.1:0";
  app.add_option("--listen", listen, "host:port");
  CLI11_PARSE(app, argc, argv);

  NullService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  gw::rls::apply_listener_bounds(builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "rls_null_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("rls_null_server listening on port %d\n", port);
  std::fflush(stdout);
  server->Wait();
}

#include "app/demo.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/algorithm/hex.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <random>
#include <thread>

#include "app/gateway_app.h"
#include "config/config_loader.h"
#include "mock/mock_upstream.h"

namespace gw::app {
namespace {

std::string random_hex(std::size_t bytes) {
  std::random_device rd;
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto byte = static_cast<unsigned char>(rd());
    boost::algorithm::hex_lower(&byte, &byte + 1, std::back_inserter(out));
  }
  return out;
}

}  // namespace

int run_demo(std::uint16_t port, std::uint16_t admin_port) {
  // The mock API runs on its own thread and an ephemeral port.
  boost::asio::io_context upstream_io{1};
  mock::MockUpstream upstream(upstream_io);
  auto upstream_port = upstream.listen("127.0.0.1", 0);
  if (!upstream_port) {
    spdlog::error("demo: mock upstream: {}", upstream_port.error());
    return 1;
  }
  std::thread upstream_thread([&] { upstream_io.run(); });

  const auto data_dir = std::filesystem::temp_directory_path() / ("kallglot-demo-" + random_hex(4));
  const std::string yaml = fmt::format(
      "listen: 127.0.0.1:{}\n"
      "admin: {{listen: 127.0.0.1:{}}}\n"
      "upstream: {{url: http://127.0.0.1:{}}}\n"
      "accounts: {{path: {}}}\n",
      port, admin_port, *upstream_port, (data_dir / "accounts.db").string());
  auto config = config::load_config_text(yaml, "<demo>");
  int code = 1;
  if (!config) {
    for (const auto& e : config.error()) spdlog::error("demo: {}", e.to_string());
  } else {
    const std::string admin_token = "demo_admin_" + random_hex(12);
    auto app = GatewayApp::create(*config, {.admin_token = admin_token}, core::real_clock());
    if (!app) {
      spdlog::error("demo: {}", app.error());
    } else if (auto started = (*app)->start(); !started) {
      spdlog::error("demo: {}", started.error());
    } else {
      GatewayApp& gateway = **app;
      std::string lines;
      std::string free_key;
      for (const char* plan : {"free", "starter", "pro", "enterprise"}) {
        const std::string account_id = std::string("demo_") + plan;
        gateway.accounts().put_account({account_id, plan, {}});
        auto live = gateway.accounts().create_key(account_id, store::KeyEnvironment::live);
        if (!live) continue;
        if (std::string_view(plan) == "free") free_key = live->key;
        lines += fmt::format("  {:<11} account {:<16} key {}\n", plan, account_id, live->key);
      }
      auto test_key = gateway.accounts().create_key("demo_free", store::KeyEnvironment::test);
      if (test_key)
        lines += fmt::format("  {:<11} account {:<16} key {}\n", "test (free)", "demo_free",
                             test_key->key);

      std::printf(
          "kallglot-gateway demo\n"
          "  gateway   http://127.0.0.1:%u  (mock Kallglot API behind it on 127.0.0.1:%u)\n"
          "  admin     http://127.0.0.1:%u  (token: %s)\n\n"
          "Demo accounts and API keys:\n%s\n"
          "Try it: the free plan allows 60 requests a minute, so the 61st is refused (429):\n"
          "  for i in $(seq 1 61); do curl -s -o /dev/null -w '%%{http_code}\\n' \\\n"
          "    -H 'Authorization: Bearer %s' http://127.0.0.1:%u/v1/sessions/demo; done | sort | "
          "uniq -c\n\n"
          "  curl -i -H 'Authorization: Bearer %s' http://127.0.0.1:%u/v1/rate_limits\n"
          "  curl -s -H 'Authorization: Bearer %s' "
          "http://127.0.0.1:%u/admin/v1/accounts/demo_free/usage\n\n"
          "Press Ctrl-C to stop.\n",
          gateway.port(), *upstream_port, gateway.admin_port(), admin_token.c_str(), lines.c_str(),
          free_key.c_str(), gateway.port(), free_key.c_str(), gateway.port(), admin_token.c_str(),
          gateway.admin_port());
      std::fflush(stdout);
      code = gateway.run_until_signalled();
    }
  }
  upstream.stop();
  upstream_io.stop();
  upstream_thread.join();
  std::error_code ignored;
  std::filesystem::remove_all(data_dir, ignored);
  return code;
}

}  // namespace gw::app

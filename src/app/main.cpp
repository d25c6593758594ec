// kallglot-gateway: the command line (SPEC §2). The only place that reads argv.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "app/demo.h"
#include "app/gateway_app.h"
#include "config/config_loader.h"
#include "mock/mock_upstream.h"

namespace {

int serve(const std::string& config_path) {
  auto config = gw::config::load_config_file(config_path);
  if (!config) {
    for (const auto& error : config.error())
      std::fprintf(stderr, "%s\n", error.to_string().c_str());
    return 2;
  }
  auto app =
      gw::app::GatewayApp::create(*config, {.config_path = config_path}, gw::core::real_clock());
  if (!app) {
    spdlog::error("{}", app.error());
    return 1;
  }
  if (auto started = (*app)->start(); !started) {
    spdlog::error("{}", started.error());
    return 1;
  }
  return (*app)->run_until_signalled();
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("gateway"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  CLI::App cli{"kallglot-gateway: the rate-limiting front door of the Kallglot API"};
  cli.set_version_flag("--version", std::string("kallglot-gateway ") + GW_VERSION);
  cli.require_subcommand(1);

  std::string config_path;
  auto* serve_cmd = cli.add_subcommand("serve", "Run the gateway");
  serve_cmd->add_option("--config", config_path, "Configuration file (YAML)")->required();

  std::uint16_t demo_port = 8080;
  std::uint16_t demo_admin_port = 9090;
  auto* demo_cmd =
      cli.add_subcommand("demo", "Run the gateway with a mock Kallglot API and demo accounts");
  demo_cmd->add_option("--port", demo_port, "Public port")->capture_default_str();
  demo_cmd->add_option("--admin-port", demo_admin_port, "Admin port")->capture_default_str();

  std::string check_path;
  auto* check_cmd = cli.add_subcommand("check-config", "Validate a configuration file");
  check_cmd->add_option("FILE", check_path, "Configuration file (YAML)")->required();

  std::string mock_listen;
  int mock_threads = 1;
  auto* mock_cmd = cli.add_subcommand("mock-upstream", "Run a mock Kallglot API");
  mock_cmd->add_option("--listen", mock_listen, "host:port")->required();
  mock_cmd->add_option("--threads", mock_threads, "Worker threads")->capture_default_str();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (*serve_cmd) return serve(config_path);
  if (*demo_cmd) return gw::app::run_demo(demo_port, demo_admin_port);
  if (*check_cmd) return gw::config::run_check_config(check_path);
  if (*mock_cmd) return gw::mock::run_mock_upstream(mock_listen, mock_threads);
  return 2;
}

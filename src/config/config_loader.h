// Loading the gateway's YAML configuration: the built-in defaults (config/gateway.yaml,
// compiled in) first, then the user's file over them, key by key (maps merge deeply, a list
// replaces the default list; a plan's group limit set to null is removed). New plans and
// groups may be added; a new plan must give its four plan-wide numbers, a new group its
// routes. Everything is validated and every error is reported, each with the file, line and
// column of the offending node in the file it came from; nothing is clamped.
//
// Thread-safety: every function may be called from any thread. Nothing here throws:
// yaml-cpp's exceptions are caught and become ConfigErrors.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"
#include "core/result.h"

namespace gw::config {

// The compiled-in config/gateway.yaml.
extern const std::string_view kDefaultConfigYaml;

// The name errors in the built-in defaults are reported under (only a build defect).
inline constexpr std::string_view kDefaultConfigName = "<built-in config/gateway.yaml>";

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error has no position (e.g. unreadable file)
  int column = 0;  // 1-based
  std::string message;

  // "file:line:col: message", or "file: message" without a position.
  std::string to_string() const;
};

using LoadResult = core::Result<std::shared_ptr<const GatewayConfig>, std::vector<ConfigError>>;

// Reads and loads `path` over the defaults. An unreadable file is one error without position.
LoadResult load_config_file(const std::string& path);

// Loads `yaml` over the defaults; errors are reported under `file_name`. An empty document
// yields the defaults.
LoadResult load_config_text(std::string_view yaml, const std::string& file_name);

// The built-in defaults alone (parsed once). Aborts if they are invalid, which the unit
// tests rule out.
std::shared_ptr<const GatewayConfig> default_config();

// `check-config FILE`: prints "OK: FILE" to stdout, or each error on its own line to stderr.
// Returns the process exit code: 0 valid, 2 invalid.
int run_check_config(const std::string& path);

}  // namespace gw::config

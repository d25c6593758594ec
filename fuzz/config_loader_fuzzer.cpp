// libFuzzer target over the configuration loader (config/config_loader.h): the input is a
// user's YAML file, loaded over the compiled-in defaults as `check-config`, start-up and
// SIGHUP load it. Invariants (a trap otherwise), besides no crash, no abort, no uncaught
// exception and no ASan/UBSan report:
//
//   - refused: at least one error, each naming the file and carrying a line and column
//     (1-based, inside the input) and a message; to_string() is "file:line:col: message";
//   - loaded: the configuration re-validates: a Policy builds from it (its constructor
//     throws on what config/ should have refused), and the configuration written back as
//     YAML (every setting, by the harness below) loads again to the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"
#include "policy/policy.h"

namespace {

using namespace gw::config;

constexpr std::string_view kFileName = "fuzz.yaml";

[[noreturn]] void fail(const std::string& what, std::string_view yaml = {}) {
  std::fprintf(stderr, "\n*** config invariant broken: %s\n", what.c_str());
  if (!yaml.empty()) {
    std::fprintf(stderr, "*** YAML:\n%.*s\n", static_cast<int>(yaml.size()), yaml.data());
  }
  std::fflush(stderr);
  __builtin_trap();
}

// ---- Writing a configuration back as YAML ---------------------------------------------

// A double-quoted YAML scalar of exactly `text`: bytes >= 0x80 stay as they are (the
// loader read them so), the rest that YAML would not keep literally is escaped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string listen_text(const ListenAddress& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

const char* action_name(OverLimitAction a) {
  return a == OverLimitAction::reject ? "reject" : "shape";
}

const char* algorithm_name(gw::limiter::Algorithm a) {
  switch (a) {
    case gw::limiter::Algorithm::fixed_window:
      return "fixed_window";
    case gw::limiter::Algorithm::sliding_window:
      return "sliding_window";
    case gw::limiter::Algorithm::gcra:
      return "gcra";
  }
  return "?";
}

const char* on_failure_name(OnStoreFailure f) {
  switch (f) {
    case OnStoreFailure::fail_open:
      return "fail_open";
    case OnStoreFailure::fail_closed:
      return "fail_closed";
    case OnStoreFailure::local:
      return "local";
  }
  return "?";
}

std::string boolean(bool b) { return b ? "true" : "false"; }

// Every setting of `c`, over the defaults `d` (a group limit the defaults give a plan but
// `c` does not is written as null, which removes it).
std::string to_yaml(const GatewayConfig& c, const GatewayConfig& d) {
  std::string y;
  y += "listen: " + quoted(listen_text(c.listen)) + "\n";
  y += "shutdown_grace_ms: " + std::to_string(c.shutdown_grace.count()) + "\n";
  y += "admin:\n  listen: " + quoted(listen_text(c.admin.listen)) + "\n";
  y += "  token_env: " + quoted(c.admin.token_env) + "\n";
  y += "upstream:\n  url: " + quoted(c.upstream.url) + "\n";
  y += "  connect_timeout_ms: " + std::to_string(c.upstream.connect_timeout.count()) + "\n";
  y += "  request_timeout_ms: " + std::to_string(c.upstream.request_timeout.count()) + "\n";
  y += "  pool_idle_timeout_ms: " + std::to_string(c.upstream.pool_idle_timeout.count()) + "\n";
  y += "store:\n  backend: ";
  y += c.store.backend == StoreBackend::memory ? "memory" : "redis";
  y += "\n  redis:\n    url: [";
  for (std::size_t i = 0; i < c.store.redis_urls.size(); ++i) {
    y += (i ? ", " : "") + quoted(c.store.redis_urls[i]);
  }
  y += "]\n    timeout_ms: " + std::to_string(c.store.redis_timeout.count()) + "\n";
  y += "  on_failure: " + std::string(on_failure_name(c.store.on_failure)) + "\n";
  y += "accounts:\n  path: " + quoted(c.accounts.path) + "\n";
  y += "  cache_seconds: " + std::to_string(c.accounts.cache.count()) + "\n";
  y += "http:\n  max_header_bytes: " + std::to_string(c.http.max_header_bytes) + "\n";
  y += "  max_body_bytes: " + std::to_string(c.http.max_body_bytes) + "\n";
  y += "  header_timeout_ms: " + std::to_string(c.http.header_timeout.count()) + "\n";
  y += "  idle_timeout_ms: " + std::to_string(c.http.idle_timeout.count()) + "\n";
  y += "  max_connections: " + std::to_string(c.http.max_connections) + "\n";
  y += "  max_connections_per_ip: " + std::to_string(c.http.max_connections_per_ip) + "\n";
  y += "trusted_proxies: [";
  for (std::size_t i = 0; i < c.trusted_proxies.size(); ++i) {
    const auto& n = c.trusted_proxies[i];
    const int offset = gw::core::is_ipv4_mapped(n.base) ? 96 : 0;
    y += (i ? ", " : "") +
         quoted(gw::core::ip_text(n.base) + "/" + std::to_string(n.prefix - offset));
  }
  y += "]\n";
  y += "algorithm: " + std::string(algorithm_name(c.algorithm)) + "\n";
  y += "headers: [";
  y += c.x_ratelimit_headers ? "x-ratelimit" : "";
  y += c.x_ratelimit_headers && c.ietf_headers ? ", " : "";
  y += c.ietf_headers ? "ietf" : "";
  y += "]\n";
  y += "unknown_key: ";
  y += c.unknown_key == UnknownKey::reject ? "reject" : "anonymous";
  y += "\nshadow_mode: " + boolean(c.shadow_mode) + "\n";
  y += "plans:\n";
  for (const auto& [name, plan] : c.plans) {
    y += "  " + quoted(name) + ":\n";
    y += "    api_requests_per_minute: " + std::to_string(plan.api_requests_per_minute) + "\n";
    y += "    concurrent_sessions: " +
         (plan.concurrent_sessions ? std::to_string(*plan.concurrent_sessions) : "null") + "\n";
    y += "    ws_messages_per_second: " + std::to_string(plan.ws_messages_per_second) + "\n";
    y += "    ws_audio_bytes_per_second: " + std::to_string(plan.ws_audio_bytes_per_second) + "\n";
    y += "    shadow_mode: " + boolean(plan.shadow_mode) + "\n";
    y += "    groups: {";
    bool first = true;
    for (const auto& [group, limit] : plan.groups) {
      y += (first ? "" : ", ") + quoted(group) + ": " + std::to_string(limit);
      first = false;
    }
    if (const auto base = d.plans.find(name); base != d.plans.end()) {
      for (const auto& [group, limit] : base->second.groups) {
        if (plan.groups.count(group) == 0) {
          y += (first ? "" : ", ") + quoted(group) + ": null";
          first = false;
        }
      }
    }
    y += "}\n";
  }
  y += "groups:\n";
  for (const GroupConfig& g : c.groups) {
    y += "  " + quoted(g.name) + ":\n    routes: [";
    for (std::size_t i = 0; i < g.routes.size(); ++i) y += (i ? ", " : "") + quoted(g.routes[i]);
    y += "]\n    shadow_mode: " + boolean(g.shadow_mode) + "\n";
  }
  y += "sessions:\n  create_route: " + quoted(c.sessions.create_route) + "\n";
  y += "  end_route: " + quoted(c.sessions.end_route) + "\n";
  y += "  stream_route: " + quoted(c.sessions.stream_route) + "\n";
  y += "  lease_seconds: " + std::to_string(c.sessions.lease.count()) + "\n";
  y += "websocket:\n  messages_over_limit: " +
       std::string(action_name(c.websocket.messages_over_limit)) + "\n";
  y += "  audio_over_limit: " + std::string(action_name(c.websocket.audio_over_limit)) + "\n";
  y += "  close_after_violation_ms: " + std::to_string(c.websocket.close_after_violation.count()) +
       "\n";
  y += "  max_message_bytes: " + std::to_string(c.websocket.max_message_bytes) + "\n";
  y += "  max_streams: " + std::to_string(c.websocket.max_streams) + "\n";
  y += "  max_streams_per_session: " + std::to_string(c.websocket.max_streams_per_session) + "\n";
  y += "  max_buffered_bytes: " + std::to_string(c.websocket.max_buffered_bytes) + "\n";
  y += "  upgrades_per_minute_per_ip: " + std::to_string(c.websocket.upgrades_per_minute_per_ip) +
       "\n";
  return y;
}

// The first setting in which two configurations differ, or empty.
std::string difference(const GatewayConfig& a, const GatewayConfig& b) {
  const auto same_listen = [](const ListenAddress& x, const ListenAddress& y) {
    return x.host == y.host && x.port == y.port;
  };
  if (!same_listen(a.listen, b.listen)) return "listen";
  if (a.shutdown_grace != b.shutdown_grace) return "shutdown_grace_ms";
  if (!same_listen(a.admin.listen, b.admin.listen)) return "admin.listen";
  if (a.admin.token_env != b.admin.token_env) return "admin.token_env";
  if (a.upstream.url != b.upstream.url || a.upstream.host != b.upstream.host ||
      a.upstream.port != b.upstream.port) {
    return "upstream.url";
  }
  if (a.upstream.connect_timeout != b.upstream.connect_timeout ||
      a.upstream.request_timeout != b.upstream.request_timeout ||
      a.upstream.pool_idle_timeout != b.upstream.pool_idle_timeout) {
    return "upstream timeouts";
  }
  if (a.store.backend != b.store.backend || a.store.redis_urls != b.store.redis_urls ||
      a.store.redis_timeout != b.store.redis_timeout || a.store.on_failure != b.store.on_failure) {
    return "store";
  }
  if (a.accounts.path != b.accounts.path || a.accounts.cache != b.accounts.cache) return "accounts";
  if (a.http.max_header_bytes != b.http.max_header_bytes ||
      a.http.max_body_bytes != b.http.max_body_bytes ||
      a.http.header_timeout != b.http.header_timeout ||
      a.http.idle_timeout != b.http.idle_timeout ||
      a.http.max_connections != b.http.max_connections ||
      a.http.max_connections_per_ip != b.http.max_connections_per_ip) {
    return "http";
  }
  if (a.trusted_proxies.size() != b.trusted_proxies.size()) return "trusted_proxies";
  for (std::size_t i = 0; i < a.trusted_proxies.size(); ++i) {
    if (a.trusted_proxies[i].base != b.trusted_proxies[i].base ||
        a.trusted_proxies[i].prefix != b.trusted_proxies[i].prefix) {
      return "trusted_proxies";
    }
  }
  if (a.algorithm != b.algorithm) return "algorithm";
  if (a.x_ratelimit_headers != b.x_ratelimit_headers || a.ietf_headers != b.ietf_headers) {
    return "headers";
  }
  if (a.unknown_key != b.unknown_key) return "unknown_key";
  if (a.shadow_mode != b.shadow_mode) return "shadow_mode";
  if (a.plans.size() != b.plans.size()) return "plans";
  for (const auto& [name, plan] : a.plans) {
    const auto other = b.plans.find(name);
    if (other == b.plans.end()) return "plans." + name;
    const auto& p = other->second;
    if (plan.api_requests_per_minute != p.api_requests_per_minute ||
        plan.concurrent_sessions != p.concurrent_sessions ||
        plan.ws_messages_per_second != p.ws_messages_per_second ||
        plan.ws_audio_bytes_per_second != p.ws_audio_bytes_per_second || plan.groups != p.groups ||
        plan.shadow_mode != p.shadow_mode) {
      return "plans." + name;
    }
  }
  if (a.groups.size() != b.groups.size()) return "groups";
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    if (a.groups[i].name != b.groups[i].name || a.groups[i].routes != b.groups[i].routes ||
        a.groups[i].shadow_mode != b.groups[i].shadow_mode) {
      return "groups." + a.groups[i].name;
    }
  }
  if (a.sessions.create_route != b.sessions.create_route ||
      a.sessions.end_route != b.sessions.end_route ||
      a.sessions.stream_route != b.sessions.stream_route || a.sessions.lease != b.sessions.lease) {
    return "sessions";
  }
  if (a.websocket.messages_over_limit != b.websocket.messages_over_limit ||
      a.websocket.audio_over_limit != b.websocket.audio_over_limit ||
      a.websocket.close_after_violation != b.websocket.close_after_violation ||
      a.websocket.max_message_bytes != b.websocket.max_message_bytes ||
      a.websocket.max_streams != b.websocket.max_streams ||
      a.websocket.max_streams_per_session != b.websocket.max_streams_per_session ||
      a.websocket.max_buffered_bytes != b.websocket.max_buffered_bytes ||
      a.websocket.upgrades_per_minute_per_ip != b.websocket.upgrades_per_minute_per_ip) {
    return "websocket";
  }
  return {};
}

void check_errors(const std::vector<ConfigError>& errors, std::string_view yaml) {
  if (errors.empty()) fail("refused without an error", yaml);
  for (const ConfigError& e : errors) {
    const std::string shown = e.to_string();
    if (e.file != kFileName) fail("an error names another file: " + shown, yaml);
    if (e.line < 1 || e.column < 1) fail("an error without a line and column: " + shown, yaml);
    // yaml-cpp counts lines and columns in the UTF-8 it reads: the input, with each
    // invalid byte as U+FFFD (3 bytes), or UTF-16/32 input (by its BOM or NULs in the
    // first bytes) converted. Either way at most 3 bytes per input byte, plus one past
    // the end.
    if (static_cast<std::size_t>(e.line) > 3 * yaml.size() + 1 ||
        static_cast<std::size_t>(e.column) > 3 * yaml.size() + 1) {
      fail("an error points past the input: " + shown, yaml);
    }
    if (e.message.empty()) fail("an error without a message: " + shown, yaml);
    const std::string prefix = std::string(kFileName) + ":" + std::to_string(e.line) + ":" +
                               std::to_string(e.column) + ": ";
    if (shown.rfind(prefix, 0) != 0) fail("to_string() is not file:line:col: " + shown, yaml);
  }
}

void check_loaded(const std::shared_ptr<const GatewayConfig>& config, std::string_view yaml) {
  try {
    const gw::policy::Policy policy(config);
    (void)policy;
  } catch (const std::exception& e) {
    fail(std::string("a loaded configuration builds no Policy: ") + e.what(), yaml);
  }
  const std::string written = to_yaml(*config, *default_config());
  const LoadResult again = load_config_text(written, "written.yaml");
  if (!again) {
    std::string errors;
    for (const ConfigError& e : again.error()) errors += "\n  " + e.to_string();
    fail("a loaded configuration, written back, does not load:" + errors, written);
  }
  if (const std::string field = difference(*config, **again); !field.empty()) {
    fail("a loaded configuration, written back, loads with another " + field, written);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const LoadResult result = load_config_text(yaml, std::string(kFileName));
  if (result) {
    check_loaded(*result, yaml);
  } else {
    check_errors(result.error(), yaml);
  }
  return 0;
}

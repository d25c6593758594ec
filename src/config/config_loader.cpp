// How loading works. The built-in defaults and the user's document are each *applied* to a
// Draft: a walk over the document that checks every key against the schema (unknown keys,
// types, bounds) and assigns what is present (maps merge, lists replace). Applying the
// defaults first and the user's file second gives the merge for free, and every error is
// raised while its node, and so its position in the right file, is at hand. Rules that need
// the merged whole (a route in two groups, a group limit naming no group, ...) run last, on
// the Draft, which remembers where each such value came from.
//
// yaml-cpp reports positions 0-based; ConfigError holds them 1-based.
#include "config/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

#include "config/value_parsers.h"
#include "limiter/limit_bounds.h"
#include "policy/route_pattern.h"

namespace gw::config {

std::string ConfigError::to_string() const {
  if (line <= 0) {
    return file + ": " + message;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

// Bounds of every number in one place. Out of bounds is an error, never clamped.
struct Bounds {
  std::int64_t min;
  std::int64_t max;
};
// The same bounds as admin overrides and both counter stores (limiter/limit_bounds.h).
constexpr Bounds kLimit{0, limiter::kMaxLimit};
constexpr Bounds kTimeoutMs{1, 86'400'000};  // 1 ms .. 1 day
constexpr Bounds kGraceMs{0, 86'400'000};
constexpr Bounds kPoolIdleMs{0, 3'600'000};  // 0 = no reuse .. 1 hour
constexpr Bounds kViolationMs{0, 86'400'000};
constexpr Bounds kCacheSeconds{0, 86'400};
constexpr Bounds kLeaseSeconds{1, 30 * 86'400};
constexpr Bounds kHeaderBytes{1, 16 * 1024 * 1024};
constexpr Bounds kBodyBytes{1, 1LL << 40};  // 0 would read as "no limit" to nginx users
constexpr Bounds kMessageBytes{1, 1LL << 30};
constexpr Bounds kConnections{1, 10'000'000};
constexpr Bounds kStreams{1, 10'000'000};
constexpr Bounds kBufferedBytes{1, 1LL << 40};
constexpr Bounds kUpgradesPerMinute{1, 1'000'000};
constexpr std::size_t kMaxTrustedProxies = 1024;  // each request walks the list

// The name of the plan-wide limit; a group may not take it (their counters share a subject).
constexpr std::string_view kReservedGroupName = "api";

enum Source : int { kDefaults = 0, kUser = 1 };

struct Origin {
  int source = kDefaults;
  YAML::Mark mark;
};

// The configuration being built, and where each value checked after the merge came from.
struct Draft {
  GatewayConfig config;
  // By group name; parallel to the group's routes.
  std::map<std::string, std::vector<Origin>, std::less<>> route_origins;
  // By plan name, then group name.
  std::map<std::string, std::map<std::string, Origin, std::less<>>, std::less<>> limit_origins;
  Origin create_route, end_route, stream_route, listen, admin_listen, grpc_listen;
};

class Errors {
 public:
  explicit Errors(std::array<std::string, 2> files) : files_(std::move(files)) {}

  void add(int source, const YAML::Mark& mark, std::string message) {
    const bool has_position = mark.line >= 0 && mark.column >= 0;
    errors_.push_back(
        {source, ConfigError{files_[source], has_position ? mark.line + 1 : 0,
                             has_position ? mark.column + 1 : 0, std::move(message)}});
  }
  void add(const Origin& origin, std::string message) {
    add(origin.source, origin.mark, std::move(message));
  }
  bool empty() const { return errors_.empty(); }

  // In reading order: defaults first (only a build defect), then by position.
  std::vector<ConfigError> take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.source, a.error.line, a.error.column) <
             std::tie(b.source, b.error.line, b.error.column);
    });
    std::vector<ConfigError> out;
    out.reserve(errors_.size());
    for (auto& e : errors_) {
      out.push_back(std::move(e.error));
    }
    errors_.clear();
    return out;
  }

 private:
  struct Entry {
    int source;
    ConfigError error;
  };
  std::array<std::string, 2> files_;
  std::vector<Entry> errors_;
};

// One node being applied: a map entry (key and value) or a list element (both the element).
struct Item {
  YAML::Node key;
  YAML::Node value;
  std::string path;  // e.g. "plans.free.api_requests_per_minute"
};

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return n.Tag() == "!" ? "the string \"" + n.Scalar() + "\"" : "'" + n.Scalar() + "'";
    default:
      return "nothing";
  }
}

// An empty value (`key:` and a line break) carries the position of whatever follows it;
// the key's position is the one to show then.
YAML::Mark value_mark(const Item& item) {
  const YAML::Mark key = item.key.Mark();
  const YAML::Mark value = item.value.Mark();
  if (item.value.IsNull() && value.line != key.line) {
    return key;
  }
  return value;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_env_name(std::string_view s) {
  return !s.empty() && !(s.front() >= '0' && s.front() <= '9') &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
         });
}

bool has_key(const YAML::Node& map, std::string_view name) {
  if (!map.IsMap()) {
    return false;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == name) {
      return true;
    }
  }
  return false;
}

// Walks one document over a Draft, checking the schema and assigning what is present.
class Applier {
 public:
  Applier(Draft& draft, int source, Errors& errors)
      : draft_(draft), config_(draft.config), source_(source), errors_(errors) {}

  void apply(const YAML::Node& root);

 private:
  using Apply = std::function<void(const Item&)>;
  struct Field {
    std::string_view name;
    Apply apply;
  };

  void fail(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    errors_.add(source_, mark, path.empty() ? message : path + ": " + message);
  }
  void fail_value(const Item& item, const std::string& message) {
    fail(value_mark(item), item.path, message);
  }
  void fail_key(const Item& item, const std::string& message) {
    fail(item.key.Mark(), item.path, message);
  }
  Origin origin_of(const Item& item) const { return Origin{source_, value_mark(item)}; }

  // Map walkers: a null value (`admin:` with nothing below) changes nothing.
  void walk(const Item& map, std::initializer_list<Field> fields);
  void walk_entries(const Item& map, const Apply& apply);
  bool walk_keys(const Item& map, const std::function<void(Item&&)>& each);

  // Readers: nullopt after reporting the error.
  std::optional<std::int64_t> integer(const Item& item, Bounds bounds);
  std::optional<bool> boolean(const Item& item);
  std::optional<std::string> text(const Item& item);
  template <typename E>
  std::optional<E> choice(const Item& item,
                          std::initializer_list<std::pair<std::string_view, E>> options);
  std::optional<std::vector<std::string>> string_list(const Item& item,
                                                      const std::function<bool(const Item&)>& ok);

  template <typename T>
  void set_int(const Item& item, Bounds bounds, T& out) {
    if (auto v = integer(item, bounds)) {
      out = static_cast<T>(*v);
    }
  }
  template <typename Duration>
  void set_duration(const Item& item, Bounds bounds, Duration& out) {
    if (auto v = integer(item, bounds)) {
      out = Duration{*v};
    }
  }
  void set_bool(const Item& item, bool& out) {
    if (auto v = boolean(item)) {
      out = *v;
    }
  }

  void listen(const Item& item, ListenAddress& out, Origin& origin);
  void route(const Item& item, std::string& out, Origin& origin);
  bool valid_route(const Item& item);
  void upstream_url(const Item& item);
  void redis_url(const Item& item);
  void headers(const Item& item);
  void trusted_proxies(const Item& item);
  void plan(const Item& item);
  void group(const Item& item);
  void admin(const Item& item);
  void decision(const Item& item);
  void upstream(const Item& item);
  void store(const Item& item);
  void accounts(const Item& item);
  void http(const Item& item);
  void sessions(const Item& item);
  void websocket(const Item& item);

  Draft& draft_;
  GatewayConfig& config_;
  int source_;
  Errors& errors_;
};

bool Applier::walk_keys(const Item& map, const std::function<void(Item&&)>& each) {
  if (map.value.IsNull()) {
    return true;
  }
  if (!map.value.IsMap()) {
    fail_value(map, "expected a map, got " + describe(map.value));
    return false;
  }
  std::map<std::string, YAML::Mark, std::less<>> seen;
  for (auto it = map.value.begin(); it != map.value.end(); ++it) {
    if (!it->first.IsScalar()) {
      fail(it->first.Mark(), map.path, "a key must be a name, got " + describe(it->first));
      continue;
    }
    const std::string& name = it->first.Scalar();
    Item child{it->first, it->second, join(map.path, name)};
    const auto [first, inserted] = seen.emplace(name, it->first.Mark());
    if (!inserted) {
      fail_key(child, "duplicate key (first given at line " +
                          std::to_string(first->second.line + 1) + ")");
      continue;
    }
    each(std::move(child));
  }
  return true;
}

void Applier::walk(const Item& map, std::initializer_list<Field> fields) {
  walk_keys(map, [&](Item&& child) {
    const std::string& name = child.key.Scalar();
    for (const Field& f : fields) {
      if (f.name == name) {
        f.apply(child);
        return;
      }
    }
    std::string message = "unknown key '" + name + "'";
    if (!map.path.empty()) {
      message += " in " + map.path;
    }
    const Field* best = nullptr;
    std::size_t best_distance = 3;  // suggest only near misses
    for (const Field& f : fields) {
      const std::size_t d = edit_distance(name, f.name);
      if (d < best_distance) {
        best = &f;
        best_distance = d;
      }
    }
    if (best != nullptr) {
      message += " (did you mean '" + std::string(best->name) + "'?)";
    }
    fail(child.key.Mark(), "", message);
  });
}

void Applier::walk_entries(const Item& map, const Apply& apply) {
  walk_keys(map, [&](Item&& child) {
    if (!is_name(child.key.Scalar())) {
      fail_key(child, "a name may hold only letters, digits, '_' and '-' (at most 64)");
      return;
    }
    apply(child);
  });
}

std::optional<std::int64_t> Applier::integer(const Item& item, Bounds bounds) {
  const YAML::Node& v = item.value;
  if (!v.IsScalar() || v.Tag() == "!") {
    fail_value(item, "expected an integer, got " + describe(v));
    return std::nullopt;
  }
  std::string_view text = v.Scalar();
  if (text.starts_with('+')) {
    text.remove_prefix(1);
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range) {
    fail_value(item, "'" + v.Scalar() + "' is out of range");
    return std::nullopt;
  }
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    fail_value(item, "expected an integer, got " + describe(v));
    return std::nullopt;
  }
  if (n < bounds.min) {
    fail_value(item, "must be >= " + std::to_string(bounds.min) + ", got " + std::to_string(n));
    return std::nullopt;
  }
  if (n > bounds.max) {
    fail_value(item, "must be <= " + std::to_string(bounds.max) + ", got " + std::to_string(n));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Applier::boolean(const Item& item) {
  const YAML::Node& v = item.value;
  if (v.IsScalar() && v.Tag() != "!") {
    const std::string& s = v.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  fail_value(item, "expected true or false, got " + describe(v));
  return std::nullopt;
}

std::optional<std::string> Applier::text(const Item& item) {
  const YAML::Node& v = item.value;
  if (!v.IsScalar()) {
    fail_value(item, "expected a string, got " + describe(v));
    return std::nullopt;
  }
  if (v.Scalar().empty()) {
    fail_value(item, "must not be empty");
    return std::nullopt;
  }
  return v.Scalar();
}

template <typename E>
std::optional<E> Applier::choice(const Item& item,
                                 std::initializer_list<std::pair<std::string_view, E>> options) {
  if (item.value.IsScalar()) {
    for (const auto& [name, value] : options) {
      if (item.value.Scalar() == name) {
        return value;
      }
    }
  }
  std::string allowed;
  for (const auto& [name, value] : options) {
    allowed += allowed.empty() ? "" : " | ";
    allowed += name;
  }
  fail_value(item, "expected " + allowed + ", got " + describe(item.value));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Applier::string_list(
    const Item& item, const std::function<bool(const Item&)>& ok) {
  if (!item.value.IsSequence()) {
    fail_value(item, "expected a list, got " + describe(item.value));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool all_ok = true;
  std::size_t index = 0;
  for (const YAML::Node& element : item.value) {
    Item child{element, element, item.path + "[" + std::to_string(index++) + "]"};
    auto s = text(child);
    if (s && ok(child)) {
      out.push_back(std::move(*s));
    } else {
      all_ok = false;
    }
  }
  if (!all_ok) {
    return std::nullopt;
  }
  return out;
}

void Applier::listen(const Item& item, ListenAddress& out, Origin& origin) {
  if (item.value.IsSequence()) {
    // `listen: [::1]:8080` is YAML flow syntax, not an address.
    fail_value(item, "expected \"host:port\"; quote an IPv6 address: \"[::1]:8080\"");
    return;
  }
  const auto s = text(item);
  if (!s) {
    return;
  }
  auto address = parse_listen_address(*s);
  if (!address) {
    fail_value(item, address.error());
    return;
  }
  out = std::move(*address);
  origin = origin_of(item);
}

bool Applier::valid_route(const Item& item) {
  auto parsed = policy::parse_route_pattern(item.value.Scalar());
  if (!parsed) {
    fail_value(item, parsed.error());
    return false;
  }
  return true;
}

void Applier::route(const Item& item, std::string& out, Origin& origin) {
  if (auto s = text(item); s && valid_route(item)) {
    out = std::move(*s);
    origin = origin_of(item);
  }
}

void Applier::upstream_url(const Item& item) {
  const auto s = text(item);
  if (!s) {
    return;
  }
  auto url = parse_upstream_url(*s);
  if (!url) {
    fail_value(item, url.error());
    return;
  }
  config_.upstream.url = *s;
  config_.upstream.host = std::move(url->host);
  config_.upstream.port = url->port;
}

void Applier::redis_url(const Item& item) {
  const auto valid = [&](const Item& element) {
    if (auto error = validate_redis_url(element.value.Scalar())) {
      fail_value(element, *error);
      return false;
    }
    return true;
  };
  if (item.value.IsSequence()) {
    if (item.value.size() == 0) {
      fail_value(item, "expected at least one URL");
      return;
    }
    if (auto urls = string_list(item, valid)) {
      config_.store.redis_urls = std::move(*urls);
    }
    return;
  }
  if (item.value.IsScalar()) {
    if (auto url = text(item); url && valid(item)) {
      config_.store.redis_urls = {std::move(*url)};
    }
    return;
  }
  fail_value(item, "expected a URL or a list of URLs, got " + describe(item.value));
}

void Applier::headers(const Item& item) {
  if (!item.value.IsSequence()) {
    fail_value(item, "expected a list of x-ratelimit | ietf, got " + describe(item.value));
    return;
  }
  bool x_ratelimit = false;
  bool ietf = false;
  bool ok = true;
  std::size_t index = 0;
  for (const YAML::Node& element : item.value) {
    Item child{element, element, item.path + "[" + std::to_string(index++) + "]"};
    const auto kind = choice<int>(child, {{"x-ratelimit", 0}, {"ietf", 1}});
    if (!kind) {
      ok = false;
    } else {
      (*kind == 0 ? x_ratelimit : ietf) = true;
    }
  }
  if (ok) {
    config_.x_ratelimit_headers = x_ratelimit;
    config_.ietf_headers = ietf;
  }
}

void Applier::trusted_proxies(const Item& item) {
  const auto valid = [&](const Item& x) {
    if (core::parse_ip_network(x.value.Scalar())) return true;
    fail_value(x, "expected an IP address or a CIDR network (\"10.0.0.0/8\", \"2001:db8::/32\")");
    return false;
  };
  auto cidrs = string_list(item, valid);
  if (!cidrs) return;
  if (cidrs->size() > kMaxTrustedProxies) {
    fail_value(item, "at most " + std::to_string(kMaxTrustedProxies) + " networks");
    return;
  }
  config_.trusted_proxies.clear();
  for (const std::string& cidr : *cidrs)
    config_.trusted_proxies.push_back(*core::parse_ip_network(cidr));
}

void Applier::plan(const Item& item) {
  const std::string& name = item.key.Scalar();
  const auto [pos, inserted] = config_.plans.try_emplace(name);
  policy::PlanLimits& plan = pos->second;
  if (inserted && (item.value.IsMap() || item.value.IsNull())) {
    // A plan of the user's own has nothing to inherit; a silent 0 would block everything.
    std::string missing;
    for (const std::string_view key : {"api_requests_per_minute", "concurrent_sessions",
                                       "ws_messages_per_second", "ws_audio_bytes_per_second"}) {
      if (!has_key(item.value, key)) {
        missing += missing.empty() ? "" : ", ";
        missing += key;
      }
    }
    if (!missing.empty()) {
      fail_key(item,
               "a new plan must set " + missing + " (concurrent_sessions: null for unlimited)");
    }
  }
  walk(item,
       {
           {"api_requests_per_minute",
            [&](const Item& x) { set_int(x, kLimit, plan.api_requests_per_minute); }},
           {"concurrent_sessions",
            [&](const Item& x) {
              if (x.value.IsNull()) {
                plan.concurrent_sessions.reset();
              } else if (auto v = integer(x, kLimit)) {
                plan.concurrent_sessions = *v;
              }
            }},
           {"ws_messages_per_second",
            [&](const Item& x) { set_int(x, kLimit, plan.ws_messages_per_second); }},
           {"ws_audio_bytes_per_second",
            [&](const Item& x) { set_int(x, kLimit, plan.ws_audio_bytes_per_second); }},
           {"groups",
            [&](const Item& groups) {
              walk_entries(groups, [&](const Item& g) {
                const std::string& group = g.key.Scalar();
                if (g.value.IsNull()) {
                  // null: the plan does not limit this group (only the plan-wide limit applies).
                  plan.groups.erase(group);
                  draft_.limit_origins[name].erase(group);
                } else if (auto v = integer(g, kLimit)) {
                  plan.groups.insert_or_assign(group, *v);
                  draft_.limit_origins[name].insert_or_assign(group, Origin{source_, g.key.Mark()});
                }
              });
            }},
           {"shadow_mode", [&](const Item& x) { set_bool(x, plan.shadow_mode); }},
       });
}

void Applier::group(const Item& item) {
  const std::string& name = item.key.Scalar();
  if (name == kReservedGroupName) {
    fail_key(item, "'api' is the name of the plan-wide limit; choose another group name");
    return;
  }
  auto it = std::find_if(config_.groups.begin(), config_.groups.end(),
                         [&](const GroupConfig& g) { return g.name == name; });
  if (it == config_.groups.end()) {
    if ((item.value.IsMap() || item.value.IsNull()) && !has_key(item.value, "routes")) {
      fail_key(item, "a new group must set routes");
    }
    config_.groups.push_back(GroupConfig{name, {}, false});
    it = std::prev(config_.groups.end());
  }
  GroupConfig& group = *it;
  walk(item,
       {
           {"routes",
            [&](const Item& x) {
              if (auto routes = string_list(x, [&](const Item& r) { return valid_route(r); })) {
                std::vector<Origin> origins;
                for (const YAML::Node& element : x.value) {
                  origins.push_back(Origin{source_, element.Mark()});
                }
                group.routes = std::move(*routes);
                draft_.route_origins[name] = std::move(origins);
              }
            }},
           {"shadow_mode", [&](const Item& x) { set_bool(x, group.shadow_mode); }},
       });
}

void Applier::admin(const Item& item) {
  walk(item,
       {
           {"listen", [&](const Item& x) { listen(x, config_.admin.listen, draft_.admin_listen); }},
           {"token_env",
            [&](const Item& x) {
              if (auto s = text(x)) {
                if (is_env_name(*s)) {
                  config_.admin.token_env = *s;
                } else {
                  fail_value(x, "expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
                }
              }
            }},
       });
}

void Applier::decision(const Item& item) {
  walk(item, {
                 {"grpc_listen",
                  [&](const Item& x) {
                    if (x.value.IsNull()) {  // `grpc_listen: null` turns the service off
                      config_.decision.grpc_listen.reset();
                      return;
                    }
                    ListenAddress address;
                    listen(x, address, draft_.grpc_listen);
                    if (address.port != 0 || !address.host.empty()) {
                      config_.decision.grpc_listen = address;
                    }
                  }},
             });
}

void Applier::upstream(const Item& item) {
  UpstreamConfig& u = config_.upstream;
  walk(item, {
                 {"url", [&](const Item& x) { upstream_url(x); }},
                 {"connect_timeout_ms",
                  [&](const Item& x) { set_duration(x, kTimeoutMs, u.connect_timeout); }},
                 {"request_timeout_ms",
                  [&](const Item& x) { set_duration(x, kTimeoutMs, u.request_timeout); }},
                 {"pool_idle_timeout_ms",
                  [&](const Item& x) { set_duration(x, kPoolIdleMs, u.pool_idle_timeout); }},
             });
}

void Applier::store(const Item& item) {
  StoreConfig& s = config_.store;
  walk(item,
       {
           {"backend",
            [&](const Item& x) {
              if (auto v = choice<StoreBackend>(
                      x, {{"memory", StoreBackend::memory}, {"redis", StoreBackend::redis}})) {
                s.backend = *v;
              }
            }},
           {"redis",
            [&](const Item& redis) {
              walk(redis,
                   {
                       {"url", [&](const Item& x) { redis_url(x); }},
                       {"timeout_ms",
                        [&](const Item& x) { set_duration(x, kTimeoutMs, s.redis_timeout); }},
                   });
            }},
           {"on_failure",
            [&](const Item& x) {
              if (auto v = choice<OnStoreFailure>(x, {{"fail_open", OnStoreFailure::fail_open},
                                                      {"fail_closed", OnStoreFailure::fail_closed},
                                                      {"local", OnStoreFailure::local}})) {
                s.on_failure = *v;
              }
            }},
       });
}

void Applier::accounts(const Item& item) {
  walk(item, {
                 {"path",
                  [&](const Item& x) {
                    if (auto s = text(x)) {
                      config_.accounts.path = *s;
                    }
                  }},
                 {"cache_seconds",
                  [&](const Item& x) { set_duration(x, kCacheSeconds, config_.accounts.cache); }},
             });
}

void Applier::http(const Item& item) {
  HttpConfig& h = config_.http;
  walk(item,
       {
           {"max_header_bytes",
            [&](const Item& x) { set_int(x, kHeaderBytes, h.max_header_bytes); }},
           {"max_body_bytes", [&](const Item& x) { set_int(x, kBodyBytes, h.max_body_bytes); }},
           {"header_timeout_ms",
            [&](const Item& x) { set_duration(x, kTimeoutMs, h.header_timeout); }},
           {"idle_timeout_ms", [&](const Item& x) { set_duration(x, kTimeoutMs, h.idle_timeout); }},
           {"max_connections", [&](const Item& x) { set_int(x, kConnections, h.max_connections); }},
           {"max_connections_per_ip",
            [&](const Item& x) { set_int(x, kConnections, h.max_connections_per_ip); }},
       });
}

void Applier::sessions(const Item& item) {
  SessionsConfig& s = config_.sessions;
  walk(item,
       {
           {"create_route", [&](const Item& x) { route(x, s.create_route, draft_.create_route); }},
           {"end_route", [&](const Item& x) { route(x, s.end_route, draft_.end_route); }},
           {"stream_route", [&](const Item& x) { route(x, s.stream_route, draft_.stream_route); }},
           {"lease_seconds", [&](const Item& x) { set_duration(x, kLeaseSeconds, s.lease); }},
       });
}

void Applier::websocket(const Item& item) {
  WebSocketConfig& w = config_.websocket;
  const auto action = [&](const Item& x, OverLimitAction& out) {
    if (auto v = choice<OverLimitAction>(
            x, {{"reject", OverLimitAction::reject}, {"shape", OverLimitAction::shape}})) {
      out = *v;
    }
  };
  walk(item,
       {
           {"messages_over_limit", [&](const Item& x) { action(x, w.messages_over_limit); }},
           {"audio_over_limit", [&](const Item& x) { action(x, w.audio_over_limit); }},
           {"close_after_violation_ms",
            [&](const Item& x) { set_duration(x, kViolationMs, w.close_after_violation); }},
           {"max_message_bytes",
            [&](const Item& x) { set_int(x, kMessageBytes, w.max_message_bytes); }},
           {"max_streams", [&](const Item& x) { set_int(x, kStreams, w.max_streams); }},
           {"max_streams_per_session",
            [&](const Item& x) { set_int(x, kStreams, w.max_streams_per_session); }},
           {"max_buffered_bytes",
            [&](const Item& x) { set_int(x, kBufferedBytes, w.max_buffered_bytes); }},
           {"upgrades_per_minute_per_ip",
            [&](const Item& x) { set_int(x, kUpgradesPerMinute, w.upgrades_per_minute_per_ip); }},
       });
}

void Applier::apply(const YAML::Node& root) {
  using limiter::Algorithm;
  GatewayConfig& c = config_;
  if (!root.IsNull() && !root.IsMap()) {
    fail(root.Mark(), "", "the configuration must be a map of settings, got " + describe(root));
    return;
  }
  walk(Item{root, root, ""},
       {
           {"listen", [&](const Item& x) { listen(x, c.listen, draft_.listen); }},
           {"shutdown_grace_ms",
            [&](const Item& x) { set_duration(x, kGraceMs, c.shutdown_grace); }},
           {"admin", [&](const Item& x) { admin(x); }},
           {"decision", [&](const Item& x) { decision(x); }},
           {"upstream", [&](const Item& x) { upstream(x); }},
           {"store", [&](const Item& x) { store(x); }},
           {"accounts", [&](const Item& x) { accounts(x); }},
           {"http", [&](const Item& x) { http(x); }},
           {"trusted_proxies", [&](const Item& x) { trusted_proxies(x); }},
           {"algorithm",
            [&](const Item& x) {
              if (auto v = choice<Algorithm>(x, {{"fixed_window", Algorithm::fixed_window},
                                                 {"sliding_window", Algorithm::sliding_window},
                                                 {"gcra", Algorithm::gcra}})) {
                c.algorithm = *v;
              }
            }},
           {"headers", [&](const Item& x) { headers(x); }},
           {"unknown_key",
            [&](const Item& x) {
              if (auto v = choice<UnknownKey>(
                      x, {{"reject", UnknownKey::reject}, {"anonymous", UnknownKey::anonymous}})) {
                c.unknown_key = *v;
              }
            }},
           {"shadow_mode", [&](const Item& x) { set_bool(x, c.shadow_mode); }},
           {"plans", [&](const Item& x) { walk_entries(x, [&](const Item& p) { plan(p); }); }},
           {"groups", [&](const Item& x) { walk_entries(x, [&](const Item& g) { group(g); }); }},
           {"sessions", [&](const Item& x) { sessions(x); }},
           {"websocket", [&](const Item& x) { websocket(x); }},
       });
}

// Of two origins of one conflict, the one to point at: the user's file if either is there
// (the defaults alone are valid), else the later one.
const Origin& conflict_site(const Origin& first, const Origin& second) {
  return (first.source == kUser && second.source != kUser) ? first : second;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// The rules that need the merged configuration.
void validate_merged(const Draft& draft, Errors& errors) {
  const GatewayConfig& c = draft.config;

  // Every group limit names a group.
  for (const auto& [plan_name, plan] : c.plans) {
    for (const auto& entry : plan.groups) {
      const std::string& group = entry.first;  // clang 14 (fuzz/) cannot capture a binding
      const bool known = std::any_of(c.groups.begin(), c.groups.end(),
                                     [&](const GroupConfig& g) { return g.name == group; });
      if (known) {
        continue;
      }
      std::string names;
      for (const auto& g : c.groups) {
        names += names.empty() ? "" : ", ";
        names += g.name;
      }
      errors.add(draft.limit_origins.at(plan_name).at(group),
                 "plans." + plan_name + ".groups." + group +
                     ": no such endpoint group (groups: " + names + ")");
    }
  }

  // A route belongs to one group only (compared by what it matches, not by spelling).
  struct Seen {
    std::string group;
    std::string pattern;
    Origin origin;
  };
  std::map<std::string, Seen, std::less<>> routes;
  for (const GroupConfig& g : c.groups) {
    const std::vector<Origin>& origins = draft.route_origins.at(g.name);
    for (std::size_t i = 0; i < g.routes.size(); ++i) {
      auto parsed = policy::parse_route_pattern(g.routes[i]);
      if (!parsed) {
        continue;  // reported where it was read
      }
      const auto [pos, inserted] =
          routes.emplace(policy::canonical_route(*parsed), Seen{g.name, g.routes[i], origins[i]});
      if (inserted) {
        continue;
      }
      const Seen& first = pos->second;
      const std::string what =
          first.pattern == g.routes[i]
              ? "route \"" + g.routes[i] + "\""
              : "route \"" + g.routes[i] + "\" (same as \"" + first.pattern + "\")";
      errors.add(conflict_site(first.origin, origins[i]),
                 first.group == g.name
                     ? what + " is listed twice in group " + g.name
                     : what + " is in two groups: " + first.group + " and " + g.name);
    }
  }

  // The session routes: distinct, and end/stream carry the session id.
  struct SessionRoute {
    std::string_view key;
    const std::string& pattern;
    const Origin& origin;
  };
  const SessionRoute session_routes[] = {
      {"sessions.create_route", c.sessions.create_route, draft.create_route},
      {"sessions.end_route", c.sessions.end_route, draft.end_route},
      {"sessions.stream_route", c.sessions.stream_route, draft.stream_route},
  };
  std::map<std::string, const SessionRoute*, std::less<>> seen_session_routes;
  for (const SessionRoute& r : session_routes) {
    auto parsed = policy::parse_route_pattern(r.pattern);
    if (!parsed) {
      continue;
    }
    const std::string prefix = std::string(r.key) + ": ";
    const bool has_param =
        std::any_of(parsed->segments.begin(), parsed->segments.end(),
                    [](const auto& s) { return s.kind == policy::PatternSegment::Kind::param; });
    if (r.key != "sessions.create_route" && !has_param) {
      errors.add(r.origin, prefix + "must contain the session id as a {id} segment");
    }
    if (r.key == "sessions.stream_route" && parsed->method != "GET" && parsed->method != "*") {
      errors.add(r.origin, prefix + "a WebSocket upgrade is a GET; use GET or *");
    }
    const auto [pos, inserted] = seen_session_routes.emplace(policy::canonical_route(*parsed), &r);
    if (!inserted) {
      const SessionRoute& first = *pos->second;
      const bool at_first = &conflict_site(first.origin, r.origin) == &first.origin;
      errors.add(at_first ? first.origin : r.origin, std::string(at_first ? first.key : r.key) +
                                                         ": same route as " +
                                                         std::string(at_first ? r.key : first.key));
    }
  }

  // The two listeners cannot share an address.
  const ListenAddress& a = c.listen;
  const ListenAddress& b = c.admin.listen;
  if (a.port != 0 && a.port == b.port &&
      (a.host == b.host || is_wildcard(a.host) || is_wildcard(b.host))) {
    const bool admin_is_user = draft.admin_listen.source == kUser;
    errors.add(conflict_site(draft.listen, draft.admin_listen),
               std::string(admin_is_user ? "admin.listen" : "listen") +
                   ": the public and admin listeners cannot share port " + std::to_string(a.port));
  }
  if (const auto& g = c.decision.grpc_listen; g && g->port != 0) {
    for (const ListenAddress* other : {&a, &b}) {
      if (g->port == other->port &&
          (g->host == other->host || is_wildcard(g->host) || is_wildcard(other->host))) {
        errors.add(draft.grpc_listen, "decision.grpc_listen: port " + std::to_string(g->port) +
                                          " is taken by the " + (other == &a ? "public" : "admin") +
                                          " listener");
      }
    }
  }
}

// A dry run of yaml-cpp's parser over the text, counting its events, that stops it (with
// a YAML::ParserException, so a syntax error at that mark) before it builds a tree that no
// configuration can be:
// - nested deeper than kMaxNesting (the schema goes 4 deep): yaml-cpp recurses per level
//   (up to 2000), deep enough on a small thread stack to overflow it;
// - more nodes than the text can hold: every node costs some text, at most about two
//   nodes per byte ("[:,:]"), but yaml-cpp 0.7 loops on some malformed text (",'x'" at
//   the start of a document) producing nodes without end until memory runs out; a
//   SIGHUP with such a file would take the running gateway down.
class ParseBudget : public YAML::EventHandler {
 public:
  explicit ParseBudget(std::size_t text_bytes) : max_events_(4 * text_bytes + 64) {}

  void OnDocumentStart(const YAML::Mark& mark) override { event(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { event(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { event(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    event(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  static constexpr int kMaxNesting = 32;

  void event(const YAML::Mark& mark) {
    if (mark.line >= 0) last_ = mark;
    if (++events_ > max_events_) {
      throw YAML::ParserException(last_,
                                  "the parser makes more nodes than the text holds "
                                  "(malformed YAML near here)");
    }
  }
  void open(const YAML::Mark& mark) {
    event(mark);
    if (++depth_ > kMaxNesting) {
      throw YAML::ParserException(last_,
                                  "nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
  }

  std::size_t max_events_;
  std::size_t events_ = 0;
  int depth_ = 0;
  YAML::Mark last_;  // line 0, column 0 until an event has a position
};

// Parses one document; a syntax error is reported and yields nullopt. Empty text is null.
std::optional<YAML::Node> parse_document(std::string_view yaml, int source, Errors& errors) {
  try {
    {
      std::istringstream text{std::string(yaml)};
      YAML::Parser parser(text);
      ParseBudget budget(yaml.size());
      while (parser.HandleNextDocument(budget)) {
      }
    }
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml));
    if (docs.empty()) {
      return YAML::Node();
    }
    if (docs.size() > 1) {
      errors.add(source, docs[1].Mark(),
                 "unexpected content after the end of the document (one YAML document per file)");
      return std::nullopt;
    }
    return docs.front();
  } catch (const YAML::Exception& e) {
    errors.add(source, e.mark, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

// The built-in defaults, parsed and checked once.
struct Defaults {
  Draft draft;
  std::vector<ConfigError> errors;
};

const Defaults& defaults() {
  static const Defaults instance = [] {
    Defaults d;
    Errors errors({std::string(kDefaultConfigName), std::string(kDefaultConfigName)});
    try {
      if (auto root = parse_document(kDefaultConfigYaml, kDefaults, errors)) {
        Applier(d.draft, kDefaults, errors).apply(*root);
        // The compiled-in groups start the route bookkeeping: every group has an entry.
        for (const GroupConfig& g : d.draft.config.groups) {
          d.draft.route_origins.try_emplace(g.name);
        }
        if (errors.empty()) {
          validate_merged(d.draft, errors);
        }
      }
    } catch (const std::exception& e) {
      errors.add(kDefaults, YAML::Mark::null_mark(), std::string("internal error: ") + e.what());
    }
    d.errors = errors.take();
    return d;
  }();
  return instance;
}

}  // namespace

LoadResult load_config_text(std::string_view yaml, const std::string& file_name) {
  try {
    const Defaults& base = defaults();
    if (!base.errors.empty()) {
      return core::unexpected(base.errors);
    }
    Errors errors({std::string(kDefaultConfigName), file_name});
    Draft draft = base.draft;
    if (auto root = parse_document(yaml, kUser, errors)) {
      Applier(draft, kUser, errors).apply(*root);
      for (const GroupConfig& g : draft.config.groups) {
        draft.route_origins.try_emplace(g.name);  // a new group whose routes failed to read
      }
      validate_merged(draft, errors);
    }
    if (!errors.empty()) {
      return core::unexpected(errors.take());
    }
    return std::make_shared<const GatewayConfig>(std::move(draft.config));
  } catch (const std::exception& e) {
    // yaml-cpp throws only on input it reports above; anything else is ours, still no throw.
    return core::unexpected(
        std::vector<ConfigError>{{file_name, 0, 0, std::string("internal error: ") + e.what()}});
  }
}

LoadResult load_config_file(const std::string& path) try {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return core::unexpected(std::vector<ConfigError>{{path, 0, 0, "is a directory, not a file"}});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::unexpected(std::vector<ConfigError>{
        {path, 0, 0, std::string("cannot read the file: ") + std::strerror(errno)}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return core::unexpected(std::vector<ConfigError>{{path, 0, 0, "cannot read the file"}});
  }
  return load_config_text(text.str(), path);
} catch (const std::exception& e) {
  return core::unexpected(
      std::vector<ConfigError>{{path, 0, 0, std::string("cannot read the file: ") + e.what()}});
}

std::shared_ptr<const GatewayConfig> default_config() {
  static const std::shared_ptr<const GatewayConfig> instance = [] {
    const Defaults& base = defaults();
    if (!base.errors.empty()) {
      // A build defect (config/gateway.yaml is invalid); the unit tests rule it out.
      for (const ConfigError& e : base.errors) {
        std::fprintf(stderr, "%s\n", e.to_string().c_str());
      }
      std::abort();
    }
    return std::make_shared<const GatewayConfig>(base.draft.config);
  }();
  return instance;
}

int run_check_config(const std::string& path) {
  const LoadResult result = load_config_file(path);
  if (result) {
    std::cout << "OK: " << path << std::endl;
    return 0;
  }
  for (const ConfigError& e : result.error()) {
    std::cerr << e.to_string() << '\n';
  }
  std::cerr.flush();
  return 2;
}

}  // namespace gw::config

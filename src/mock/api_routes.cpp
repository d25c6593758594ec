// The mock API's answers and FakeSessions; see api_routes.h.
#include "mock/api_routes.h"

#include <algorithm>
#include <boost/algorithm/hex.hpp>
#include <cctype>
#include <optional>
#include <random>
#include <ranges>
#include <vector>

#include "mock/wire_text.h"

namespace gw::mock {
namespace {

constexpr std::uint64_t kMaxDelayMs = 10 * 60 * 1000;

std::string random_hex(std::size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (char& c : raw) c = static_cast<char>(rng());
  return boost::algorithm::hex_lower(raw);
}

std::vector<std::string_view> segments(std::string_view path) {  // empty ones dropped
  std::vector<std::string_view> out;
  for (const auto part : path | std::views::split('/')) {
    if (!part.empty()) out.emplace_back(part.begin(), part.end());
  }
  return out;
}

std::optional<std::uint64_t> number_header(const MockRequest& req, std::string_view name) {
  const auto it = req.find(name);
  return it == req.end() ? std::nullopt : parse_decimal(it->value());
}

json::object error_body(std::string_view why) { return {{"ok", false}, {"error", why}}; }

// 204 and 304 carry no body nor Content-Length; a HEAD answer has the length, not the body.
http::response<http::string_body> json_response(http::status status, unsigned version,
                                                bool keep_alive, const json::object& body,
                                                bool head = false) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  if (status == http::status::no_content || status == http::status::not_modified) return res;
  std::string text = json::serialize(body);
  if (head) {
    res.content_length(text.size());
  } else {
    res.body() = std::move(text);
    res.prepare_payload();
  }
  return res;
}

// Lowercased names; a repeated field's values joined with ", " (RFC 9110 §5.3), in order.
json::object echo_headers(const MockRequest& req) {
  json::object headers;
  for (const auto& field : req) {
    std::string name(field.name_string());
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (auto* seen = headers.if_contains(name)) {
      seen->as_string().append(", ").append(json_text(field.value()));
    } else {
      headers.emplace(name, json_text(field.value()));
    }
  }
  return headers;
}

// The fields the session routes put before the echo. `status` is X-Mock-Status or 0, which
// POST /v1/sessions makes 201; an X-Mock-Status outside 2xx changes no session.
json::object session_fields(const MockRequest& req, std::string_view path, int& status,
                            FakeSessions& sessions) {
  const auto segs = segments(path);
  if (segs.size() < 2 || segs[0] != "v1" || segs[1] != "sessions") return {};
  const bool succeeds = status == 0 || (status >= 200 && status < 300);
  if (segs.size() == 2 && req.method() == http::verb::post) {
    if (status == 0) status = 201;
    if (!succeeds) return {};
    const auto session = sessions.create();
    std::string host(req[http::field::host]);
    const std::string url =
        "ws://" + (host.empty() ? "localhost" : host) + "/v1/sessions/" + session.id + "/connect";
    json::object fields;
    const auto omit = req.find("X-Mock-Omit-Id");
    if (omit == req.end() || (omit->value() != "1" && !beast::iequals(omit->value(), "true"))) {
      fields["id"] = session.id;
    }
    fields["object"] = "session";
    fields["status"] = "active";
    fields["stream"] = {{"url", json_text(url)}, {"token", session.stream_token}};
    return fields;
  }
  const std::string id(segs.size() >= 3 ? segs[2] : "");
  if (segs.size() == 4 && segs[3] == "end" && req.method() == http::verb::post) {
    if (succeeds) sessions.end(id);
    return {{"id", json_text(id)}, {"object", "session"}, {"status", "ended"}};
  }
  if (segs.size() == 3 && req.method() == http::verb::get) {
    return {{"id", json_text(id)}, {"object", "session"}, {"status", sessions.status(id)}};
  }
  return {};
}

}  // namespace

FakeSessions::Created FakeSessions::create() {
  Created created{"sess_" + random_hex(12), "kst_" + random_hex(16)};
  set(created.id, "active");
  return created;
}

void FakeSessions::end(const std::string& id) { set(id, "ended"); }

std::string FakeSessions::status(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = status_.find(id);
  return it == status_.end() ? "active" : it->second;
}

void FakeSessions::set(const std::string& id, const char* status) {
  std::lock_guard lock(mu_);
  if (status_.size() >= 100000) status_.clear();
  status_[id] = status;
}

Target split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool is_control_path(std::string_view path) { return path.starts_with("/__mock/"); }

bool is_stream_connect(const MockRequest& req, std::string_view path) {
  if (!websocket::is_upgrade(req)) return false;
  const auto segs = segments(path);
  return segs.size() == 4 && segs[0] == "v1" && segs[1] == "sessions" && segs[3] == "connect";
}

Answer answer(const MockRequest& req, MockState& state) {
  const auto [path, query] = split_target(req.target());
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  const bool head = req.method() == http::verb::head;
  if (is_control_path(path)) {
    if (path == "/__mock/stats") {
      return {json_response(http::status::ok, version, keep_alive, state.stats.to_json(), head)};
    }
    if (path == "/__mock/reset" && req.method() == http::verb::post) {
      state.stats.reset();
      return {json_response(http::status::ok, version, keep_alive, {{"ok", true}}, head)};
    }
    return {json_response(http::status::not_found, version, keep_alive,
                          error_body("unknown mock control"), head)};
  }

  int status = 0;
  if (const auto v = number_header(req, "X-Mock-Status"); v && *v >= 200 && *v <= 599) {
    status = static_cast<int>(*v);
  }
  const std::chrono::milliseconds delay(
      std::min(number_header(req, "X-Mock-Delay-Ms").value_or(0), kMaxDelayMs));
  if (const auto fill = number_header(req, "X-Mock-Body-Bytes")) {
    http::response<FillBody> res{static_cast<http::status>(status == 0 ? 200 : status), version};
    res.set(http::field::content_type, "application/octet-stream");
    res.set("X-Mock-Request-Body-Bytes", std::to_string(req.body().bytes));
    res.body() = head ? 0 : *fill;
    res.content_length(*fill);
    res.keep_alive(keep_alive);
    return {std::move(res), delay};
  }

  json::object body = session_fields(req, path, status, state.sessions);
  if (status == 0) status = 200;
  body["ok"] = status < 400;
  body["method"] = json_text(req.method_string());
  body["path"] = json_text(path);
  body["query"] = json_text(query);
  body["body_bytes"] = req.body().bytes;
  body["body_sha256"] = req.body().sha256.hex();
  body["headers"] = echo_headers(req);
  return {json_response(static_cast<http::status>(status), version, keep_alive, body, head), delay};
}

http::message_generator refuse_stream(const MockRequest& req) {
  auto res = json_response(http::status::unauthorized, req.version(), false,
                           error_body("missing or malformed stream token"));
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

http::message_generator refuse_malformed(http::status status, std::string_view why) {
  auto res = json_response(status, 11, false, error_body(why));
  res.keep_alive(false);  // once more, after the body: Connection follows Content-Length
  return res;
}

}  // namespace gw::mock

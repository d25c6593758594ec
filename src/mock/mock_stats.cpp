// MockStats; see mock_stats.h.
#include "mock/mock_stats.h"

#include "mock/wire_text.h"

namespace gw::mock {
namespace {

constexpr const char* kCounterNames[] = {
    "connections_total", "connections_active", "ws_connections_total", "ws_connections_active",
    "ws_messages",       "ws_bytes",           "ws_messages_sent",     "ws_bytes_sent"};

}  // namespace

void MockStats::count_request(std::string_view path) {
  std::lock_guard lock(mu_);
  ++requests_;
  ++by_path_[std::string(path)];
}

void MockStats::count_body(std::uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard lock(mu_);
  body_bytes_ += bytes;
}

void MockStats::count_ws_close(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mu_);
  ++ws_close_codes_[code];
  last_close_.emplace(code, std::string(reason.substr(0, 123)));
}

boost::json::object MockStats::to_json() const {
  std::lock_guard lock(mu_);
  boost::json::object by_path;
  for (const auto& [path, n] : by_path_) by_path[json_text(path)] = n;
  boost::json::object out{
      {"requests", requests_}, {"by_path", std::move(by_path)}, {"body_bytes", body_bytes_}};
  for (std::size_t i = 0; i < counters_.size(); ++i) out[kCounterNames[i]] = counters_[i].load();
  boost::json::object close_codes;
  for (const auto& [code, n] : ws_close_codes_) close_codes[std::to_string(code)] = n;
  out["ws_close_codes"] = std::move(close_codes);
  out["ws_last_close"] = nullptr;
  if (last_close_) {
    out["ws_last_close"] = {{"code", last_close_->first},
                            {"reason", json_text(last_close_->second)}};
  }
  return out;
}

void MockStats::reset() {
  std::lock_guard lock(mu_);
  requests_ = body_bytes_ = 0;
  by_path_.clear();
  for (std::size_t i = 0; i < counters_.size(); ++i) {
    if (i != connections_active && i != ws_connections_active) counters_[i] = 0;
  }
  ws_close_codes_.clear();
  last_close_.reset();
}

}  // namespace gw::mock

// MockStats; see mock_stats.h.
#include "mock/mock_stats.h"

#include "mock/wire_text.h"

namespace gw::mock {

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
  boost::json::object close_codes;
  for (const auto& [code, n] : ws_close_codes_) close_codes[std::to_string(code)] = n;
  boost::json::value last_close;  // null until a client closed
  if (last_close_) {
    last_close = {{"code", last_close_->first}, {"reason", json_text(last_close_->second)}};
  }
  return {{"requests", requests_},
          {"by_path", std::move(by_path)},
          {"body_bytes", body_bytes_},
          {"connections_total", connections_total.load()},
          {"connections_active", connections_active.load()},
          {"ws_connections_total", ws_connections_total.load()},
          {"ws_connections_active", ws_connections_active.load()},
          {"ws_messages", ws_messages.load()},
          {"ws_bytes", ws_bytes.load()},
          {"ws_messages_sent", ws_messages_sent.load()},
          {"ws_bytes_sent", ws_bytes_sent.load()},
          {"ws_close_codes", std::move(close_codes)},
          {"ws_last_close", std::move(last_close)}};
}

void MockStats::reset() {
  std::lock_guard lock(mu_);
  requests_ = body_bytes_ = 0;
  by_path_.clear();
  connections_total = ws_connections_total = 0;
  ws_messages = ws_bytes = ws_messages_sent = ws_bytes_sent = 0;
  ws_close_codes_.clear();
  last_close_.reset();
}

}  // namespace gw::mock

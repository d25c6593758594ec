// The sessions the mock API has handed out, and which of them were ended: the state behind
// POST /v1/sessions, POST /v1/sessions/{id}/end and GET /v1/sessions/{id}. Any id it never
// saw is "active". Past 100000 tracked sessions the table starts over: benchmarks create
// millions, and the status is cosmetic.
//
// Thread safety: every method may be called from any thread (one mutex).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

namespace gw::mock {

class FakeSessions {
 public:
  struct Created {
    std::string id;            // sess_ and 24 hex digits
    std::string stream_token;  // kst_ and 32 hex digits
  };

  Created create();
  void end(const std::string& id);
  std::string status(const std::string& id) const;  // "active" or "ended"

 private:
  void set(const std::string& id, const char* status);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> status_;  // guarded by mu_
};

}  // namespace gw::mock

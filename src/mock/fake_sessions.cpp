// FakeSessions; see fake_sessions.h.
#include "mock/fake_sessions.h"

#include <boost/algorithm/hex.hpp>
#include <random>

namespace gw::mock {
namespace {

constexpr std::size_t kMaxTracked = 100000;

std::string random_hex(std::size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (char& c : raw) c = static_cast<char>(rng());
  return boost::algorithm::hex_lower(raw);
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
  if (status_.size() >= kMaxTracked) status_.clear();
  status_[id] = status;
}

}  // namespace gw::mock

#include "core/request_id.h"

#include <boost/algorithm/hex.hpp>
#include <cstdint>
#include <random>

namespace gw::core {
namespace {

// splitmix64: fast, well distributed, seeded once per thread from the OS.
std::uint64_t next_random() {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::string generate_request_id() {
  std::string id = "req_";
  id.resize(4 + 24);
  const std::uint64_t a = next_random();
  const auto b = static_cast<std::uint32_t>(next_random());
  auto digits = boost::algorithm::hex_lower(&a, &a + 1, id.begin() + 4);  // 16 digits
  boost::algorithm::hex_lower(&b, &b + 1, digits);                        // 8 more
  return id;
}

bool is_acceptable_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace gw::core

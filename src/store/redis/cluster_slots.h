// Redis Cluster routing facts: which hash slot a key lives in, who owns which slots
// (CLUSTER SLOTS), and where a MOVED/ASK error sends a command.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gw::store::redis {

inline constexpr std::size_t kClusterSlots = 16384;

// CRC16 (XMODEM) of the key's hash tag (the first non-empty "{...}") or of the whole key,
// modulo 16384, as Redis Cluster computes it.
std::uint16_t key_slot(std::string_view key) noexcept;

struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;  // inclusive
  std::string host;        // the master serving the range
  std::uint16_t port = 0;
};

// The ranges of a CLUSTER SLOTS reply; nullopt if the reply is not one (also when a slot
// or a port is out of range). An empty host (the node answering, as Redis reports itself)
// becomes `asked_host`.
std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply* reply,
                                                          std::string_view asked_host);

struct Redirect {
  bool ask = false;  // ASK: this command only; MOVED: the slot has moved for good
  std::uint16_t slot = 0;
  std::string host;
  std::uint16_t port = 0;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for any other text
// (a slot of 16384 or more, a port of 0 or more than 65535).
std::optional<Redirect> parse_redirect(std::string_view error) noexcept;

}  // namespace gw::store::redis

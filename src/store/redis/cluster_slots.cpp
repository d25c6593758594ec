#include "store/redis/cluster_slots.h"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>

namespace gw::store::redis {
namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis Cluster
// assigns slots with; a table built at compile time.
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrc16Table = make_crc16_table();

std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (unsigned char c : bytes) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

template <typename T>
std::optional<T> parse_number(std::string_view text) noexcept {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::uint16_t key_slot(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) & (kClusterSlots - 1);
}

std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply* reply,
                                                          std::string_view asked_host) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<SlotRange> ranges;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* entry = reply->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 3) return std::nullopt;
    const redisReply* first = entry->element[0];
    const redisReply* last = entry->element[1];
    const redisReply* master = entry->element[2];
    if (first->type != REDIS_REPLY_INTEGER || last->type != REDIS_REPLY_INTEGER ||
        master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        master->element[1]->type != REDIS_REPLY_INTEGER) {
      return std::nullopt;
    }
    if (first->integer < 0 || last->integer >= static_cast<long long>(kClusterSlots) ||
        first->integer > last->integer) {
      return std::nullopt;
    }
    // A port that does not fit (or 0) would send the range's commands to another port.
    if (master->element[1]->integer <= 0 || master->element[1]->integer > 65535) {
      return std::nullopt;
    }
    SlotRange range;
    range.first = static_cast<std::uint16_t>(first->integer);
    range.last = static_cast<std::uint16_t>(last->integer);
    range.host.assign(master->element[0]->str, master->element[0]->len);
    if (range.host.empty()) range.host = asked_host;
    range.port = static_cast<std::uint16_t>(master->element[1]->integer);
    ranges.push_back(std::move(range));
  }
  return ranges;
}

std::optional<Redirect> parse_redirect(std::string_view error) noexcept {
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  const auto colon = error.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
    return std::nullopt;
  }
  const auto slot = parse_number<std::uint16_t>(error.substr(0, space));
  const auto port = parse_number<std::uint16_t>(error.substr(colon + 1));
  if (!slot || *slot >= kClusterSlots || !port || *port == 0) return std::nullopt;
  redirect.slot = *slot;
  redirect.port = *port;
  redirect.host = std::string(error.substr(space + 1, colon - space - 1));
  return redirect;
}

}  // namespace gw::store::redis

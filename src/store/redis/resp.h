// The Redis protocol pieces the client uses: commands formatted as RESP arrays, replies
// (parsed by hiredis's reader) read as text or integers.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gw::store::redis {

// RESP of one command (binary-safe arguments), byte for byte what hiredis formats.
std::string format_command(std::span<const std::string_view> args);

// A string, status or error reply's text; empty for other types.
std::string_view reply_text(const redisReply* reply) noexcept;

bool is_error(const redisReply* reply) noexcept;

// An integer reply's value, or a string reply holding a decimal integer.
std::optional<std::int64_t> reply_integer(const redisReply* reply) noexcept;

// A reply copied out of hiredis's buffers, for callers that keep it past the callback.
struct ReplyValue {
  int type = REDIS_REPLY_NIL;
  long long integer = 0;
  std::string str;  // string, status and error replies
  std::vector<ReplyValue> elements;

  bool is_nil() const noexcept { return type == REDIS_REPLY_NIL; }
  bool is_error() const noexcept { return type == REDIS_REPLY_ERROR; }
};

ReplyValue copy_reply(const redisReply* reply);

}  // namespace gw::store::redis

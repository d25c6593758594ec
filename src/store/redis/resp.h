// The Redis protocol pieces the client uses: commands formatted by hiredis, replies read
// as text or integers.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gw::store::redis {

// RESP of one command, formatted by hiredis (binary-safe arguments).
std::string format_command(std::span<const std::string_view> args);

// A string, status or error reply's text; empty for other types.
std::string_view reply_text(const redisReply* reply) noexcept;

bool is_error(const redisReply* reply) noexcept;

// An integer reply's value, or a string reply holding a decimal integer.
std::optional<std::int64_t> reply_integer(const redisReply* reply) noexcept;

}  // namespace gw::store::redis

#include "store/redis/resp.h"

#include <hiredis/hiredis.h>

#include <boost/container/small_vector.hpp>
#include <charconv>
#include <cstdlib>
#include <new>

namespace gw::store::redis {

std::string format_command(std::span<const std::string_view> args) {
  boost::container::small_vector<const char*, 16> argv;
  boost::container::small_vector<std::size_t, 16> lengths;
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(),
                                            lengths.data());
  if (length < 0 || formatted == nullptr) throw std::bad_alloc();
  std::string out(formatted, static_cast<std::size_t>(length));
  std::free(formatted);
  return out;
}

std::string_view reply_text(const redisReply* reply) noexcept {
  if (reply == nullptr || reply->str == nullptr) return {};
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return {reply->str, reply->len};
    default:
      return {};
  }
}

bool is_error(const redisReply* reply) noexcept {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR;
}

std::optional<std::int64_t> reply_integer(const redisReply* reply) noexcept {
  if (reply == nullptr) return std::nullopt;
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  if (reply->type != REDIS_REPLY_STRING) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(reply->str, reply->str + reply->len, value);
  if (ec != std::errc() || end != reply->str + reply->len) return std::nullopt;
  return value;
}

ReplyValue copy_reply(const redisReply* reply) {
  ReplyValue value;
  if (reply == nullptr) return value;
  value.type = reply->type;
  value.integer = reply->integer;
  value.str = std::string(reply_text(reply));
  for (std::size_t i = 0; i < reply->elements; ++i) {
    value.elements.push_back(copy_reply(reply->element[i]));
  }
  return value;
}

}  // namespace gw::store::redis

// Looking at a real redis-server from outside the stores, for the contract suites' Redis
// backends: its clock (what the scripts decide with), how many keys it holds, and every
// byte it holds. Each call opens its own blocking connection. Test-only; any thread.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "core/clock.h"
#include "testing/redis_server.h"

namespace gw::store::contract {

namespace redis_inspection_detail {

// One command's reply on a fresh connection, freed with the connection. nullptr (and a
// test failure) if the server cannot be reached.
class Reply {
 public:
  template <typename... Args>
  Reply(const gw::testing::RedisServer& server, const char* format, Args... args)
      : context_(server.connect()) {
    if (context_ == nullptr || context_->err) {
      ADD_FAILURE() << "cannot reach redis-server on port " << server.port();
      return;
    }
    reply_ = static_cast<redisReply*>(redisCommand(context_, format, args...));
  }
  ~Reply() {
    if (reply_) freeReplyObject(reply_);
    if (context_) redisFree(context_);
  }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  const redisReply* get() const { return reply_; }
  redisContext* context() const { return context_; }

 private:
  redisContext* context_ = nullptr;
  redisReply* reply_ = nullptr;
};

inline void append_reply(const redisReply* reply, std::string& out) {
  if (reply == nullptr) return;
  if (reply->str != nullptr) out.append(reply->str, reply->len).push_back('\n');
  for (std::size_t i = 0; i < reply->elements; ++i) append_reply(reply->element[i], out);
}

}  // namespace redis_inspection_detail

// Redis's clock (TIME), to the microsecond.
inline core::UnixNanos redis_time(const gw::testing::RedisServer& server) {
  redis_inspection_detail::Reply time(server, "TIME");
  const redisReply* r = time.get();
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    ADD_FAILURE() << "TIME: unexpected reply";
    return {};
  }
  return std::chrono::seconds(std::atoll(r->element[0]->str)) +
         std::chrono::microseconds(std::atoll(r->element[1]->str));
}

inline std::size_t redis_key_count(const gw::testing::RedisServer& server) {
  return static_cast<std::size_t>(std::stoll(server.command({"DBSIZE"})));
}

// Every key name and every value (strings, hash fields and values, set, sorted-set and
// list members), one per line.
inline std::string redis_all_bytes(const gw::testing::RedisServer& server) {
  using redis_inspection_detail::append_reply;
  redis_inspection_detail::Reply keys(server, "KEYS *");
  std::string out;
  if (keys.get() == nullptr) return out;
  for (std::size_t i = 0; i < keys.get()->elements; ++i) {
    const std::string key(keys.get()->element[i]->str, keys.get()->element[i]->len);
    out += key + '\n';
    redis_inspection_detail::Reply type(server, "TYPE %b", key.data(), key.size());
    const std::string kind = type.get() && type.get()->str ? type.get()->str : "";
    const char* read = kind == "string" ? "GET %b"
                       : kind == "hash" ? "HGETALL %b"
                       : kind == "set"  ? "SMEMBERS %b"
                       : kind == "zset" ? "ZRANGE %b 0 -1"
                       : kind == "list" ? "LRANGE %b 0 -1"
                                        : nullptr;
    if (read == nullptr) {
      ADD_FAILURE() << "key " << key << " of unexpected type " << kind;
      continue;
    }
    redis_inspection_detail::Reply value(server, read, key.data(), key.size());
    append_reply(value.get(), out);
  }
  return out;
}

}  // namespace gw::store::contract

// A hiredis reply parsed from RESP bytes by hiredis's reader, as RedisConnection reads one:
// for tests of the reply decoders without a server. Not thread-safe (one per test).
#pragma once

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <stdexcept>
#include <string_view>

namespace gw::testing {

class RespReply {
 public:
  // The first reply in `resp`; throws if `resp` does not hold a complete, valid one.
  explicit RespReply(std::string_view resp) {
    std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(),
                                                                redisReaderFree);
    void* raw = nullptr;
    if (redisReaderFeed(reader.get(), resp.data(), resp.size()) != REDIS_OK ||
        redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) {
      throw std::invalid_argument("not a complete RESP reply");
    }
    reply_.reset(static_cast<redisReply*>(raw));
  }

  const redisReply* get() const noexcept { return reply_.get(); }

 private:
  struct Free {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
  };
  std::unique_ptr<redisReply, Free> reply_;
};

}  // namespace gw::testing

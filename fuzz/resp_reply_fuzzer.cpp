// libFuzzer target over the RESP reply path: bytes a Redis server (or whatever answers on
// its port) sends, read as RedisConnection::on_readable reads them (hiredis's redisReader,
// fed in pieces, every complete reply taken out), then given to every decoder the gateway
// has for a reply:
//
//   resp.h            reply_text, is_error, reply_integer, copy_reply
//   cluster_slots.h   parse_cluster_slots (CLUSTER SLOTS), parse_redirect (MOVED / ASK)
//   check_script.h    decode_check_reply (the rate-limit check)
//   session_replies.h the session scripts' replies and the session key's JSON value
//
// None may crash, read out of bounds or hit UB (ASan/UBSan), whatever the bytes; what
// they accept must say what the reply said (checked below, a trap otherwise). A reader
// error ends the connection, as in the client.
//
// The input's first byte picks the piece size the reader is fed in (a recv returns any
// split of the stream); the rest is the stream.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "store/redis/check_script.h"
#include "store/redis/cluster_slots.h"
#include "store/redis/resp.h"
#include "store/redis/session_replies.h"

// A hostile "server" may announce an array of a billion elements: hiredis callocs the
// element pointers up front (8 GB), which fails, or reserves address space that the
// elements, which never come, would fill. Here allocations above 256 MB fail (ASan
// returns null instead of aborting, and never touches shadow memory for them): hiredis
// reports out of memory and the connection ends, the path a real client takes when its
// calloc fails.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

namespace {

using namespace gw::store;
using namespace gw::store::redis;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "\n*** reply invariant broken: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool same(const ReplyValue& copy, const redisReply* reply) {
  if (copy.type != reply->type || copy.integer != reply->integer || copy.str != reply_text(reply) ||
      copy.elements.size() != reply->elements) {
    return false;
  }
  for (std::size_t i = 0; i < reply->elements; ++i) {
    if (!same(copy.elements[i], reply->element[i])) return false;
  }
  return true;
}

void consume_cluster_slots(const redisReply* reply) {
  const auto ranges = parse_cluster_slots(reply, "10.0.0.9");
  if (!ranges) return;
  check(reply->type == REDIS_REPLY_ARRAY && ranges->size() == reply->elements,
        "parse_cluster_slots: not one range per entry");
  for (std::size_t i = 0; i < ranges->size(); ++i) {
    const SlotRange& range = (*ranges)[i];
    const redisReply* entry = reply->element[i];
    check(range.first <= range.last && range.last < kClusterSlots,
          "parse_cluster_slots: a range outside the slots");
    check(range.first == entry->element[0]->integer && range.last == entry->element[1]->integer,
          "parse_cluster_slots: a range that is not the reply's");
    const redisReply* master = entry->element[2];
    check(range.port == master->element[1]->integer,
          "parse_cluster_slots: a port that is not the reply's");
    check(range.port != 0, "parse_cluster_slots: port 0");
    check(!range.host.empty(), "parse_cluster_slots: an empty host");
  }
}

void consume_redirect(std::string_view text) {
  const auto redirect = parse_redirect(text);
  if (!redirect) return;
  check(redirect->slot < kClusterSlots, "parse_redirect: a slot outside the slots");
  check(redirect->port != 0, "parse_redirect: port 0");
  check(text.find(redirect->host) != std::string_view::npos,
        "parse_redirect: a host that is not in the text");
}

void consume_check_reply(const redisReply* reply) {
  for (const std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{2},
                                  kMaxLimitsPerCheck, kMaxLimitsPerCheck + 1}) {
    const auto decoded = decode_check_reply(reply, count);
    if (!decoded) continue;
    check(reply->type == REDIS_REPLY_STRING && count <= kMaxLimitsPerCheck,
          "decode_check_reply: accepted a reply that is not a check's");
    check(decoded->count == count, "decode_check_reply: another number of decisions");
    check(reply->len == (2 + 7 * count) * 8, "decode_check_reply: a reply of the wrong length");
  }
}

void consume_session_replies(const redisReply* reply) {
  if (const auto acquired = decode_acquire_reply(reply)) {
    check(reply->type == REDIS_REPLY_ARRAY && reply->elements == 2,
          "decode_acquire_reply: not a pair");
  }
  if (const auto bound = decode_bind_reply(reply)) {
    check(reply->type == REDIS_REPLY_ARRAY && reply->elements == (bound->bound ? 4u : 1u),
          "decode_bind_reply: the wrong number of elements");
  }
  (void)decode_renew_reply(reply);
  if (const auto listing = decode_list_reply(reply, "acct_1:live")) {
    check(reply->type == REDIS_REPLY_ARRAY && listing->sessions.size() == reply->elements / 4,
          "decode_list_reply: not one session per four elements");
    for (const SessionRecord& record : listing->sessions) {
      check(record.subject == "acct_1:live", "decode_list_reply: another subject");
    }
  }
  // A GET of a session key: its value as find() and renew() read it, and a record that
  // parses must be written back as the same record.
  if (reply->type == REDIS_REPLY_STRING) {
    if (const auto record = parse_session_value("sess_1", reply_text(reply))) {
      const auto again = parse_session_value("sess_1", session_value(*record));
      check(again && again->subject == record->subject && again->account_id == record->account_id &&
                again->created == record->created && again->lease_expires == record->lease_expires,
            "parse_session_value: a record that does not survive session_value()");
    }
  }
}

// Every consumer of one reply, and of its elements (CLUSTER SLOTS and the scripts
// nest; the redirect is in an element of an EXEC or pipeline only as an error).
void consume(const redisReply* reply, int depth) {
  const std::string_view text = reply_text(reply);
  check(text.data() != nullptr || text.empty(), "reply_text: a null text");
  if (is_error(reply)) consume_redirect(text);
  if (const auto n = reply_integer(reply)) {
    check(reply->type == REDIS_REPLY_INTEGER || reply->type == REDIS_REPLY_STRING,
          "reply_integer: a number of another type");
  }
  if (depth == 0) {
    check(same(copy_reply(reply), reply), "copy_reply: a copy that differs");
  }
  consume_cluster_slots(reply);
  consume_check_reply(reply);
  consume_session_replies(reply);
  for (std::size_t i = 0; i < reply->elements && reply->element != nullptr; ++i) {
    consume(reply->element[i], depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::size_t kPieces[] = {16 * 1024, 1, 2, 3, 7, 16, 64, 512};
  const std::size_t piece = kPieces[data[0] % (sizeof(kPieces) / sizeof(kPieces[0]))];
  const char* stream = reinterpret_cast<const char*>(data + 1);
  std::size_t left = size - 1;

  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  if (!reader) return 0;
  while (left > 0) {
    const std::size_t n = std::min(piece, left);
    if (redisReaderFeed(reader.get(), stream, n) != REDIS_OK) return 0;
    stream += n;
    left -= n;
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) return 0;  // protocol error
      if (raw == nullptr) break;
      std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                         freeReplyObject);
      consume(reply.get(), 0);
    }
  }
  return 0;
}

#include "store/redis/session_scripts.h"

#include <string>
#include <string_view>

namespace gw::store::redis {
namespace {

// Shared by the subject scripts. Numbers go to Redis through ms() because Lua would print
// large ones in exponent notation; times stay below 2^53, so doubles hold them exactly.
// HDEL is chunked: unpack() of thousands of members (an unlimited subject after a quiet
// night) would overflow Lua's stack.
constexpr std::string_view kPrelude = R"lua(
local function ms(n) return string.format('%.0f', n) end
local function clock(arg)
  local given = tonumber(arg)
  if given and given > 0 then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drop_expired(slots, records, now)
  local gone = redis.call('ZRANGE', slots, '-inf', ms(now), 'BYSCORE')
  if #gone == 0 then return 0 end
  for i = 1, #gone, 500 do
    redis.call('HDEL', records, unpack(gone, i, math.min(i + 499, #gone)))
  end
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', ms(now))
  return #gone
end
local function keep(slots, records, now)
  local last = redis.call('ZRANGE', slots, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', slots, records)
    return
  end
  local ttl = ms(math.max(tonumber(last[2]) - now, 0) + MARGIN)
  redis.call('PEXPIRE', slots, ttl)
  redis.call('PEXPIRE', records, ttl)
end
local function forget_if_empty(slots, records)
  if redis.call('ZCARD', slots) == 0 then redis.call('DEL', slots, records) end
end
)lua";

std::string subject_script(std::string_view body) {
  std::string script = "local MARGIN = " + std::to_string(kSubjectKeyMarginMs) + "\n";
  script += kPrelude;
  script += body;
  return script;
}

}  // namespace

const Script& acquire_slot_script() {
  static const Script script(subject_script(R"lua(
local now = clock(ARGV[1])
drop_expired(KEYS[1], KEYS[2], now)
local held = redis.call('ZCARD', KEYS[1])
if ARGV[3] ~= '' and held >= tonumber(ARGV[3]) then
  forget_if_empty(KEYS[1], KEYS[2])
  return {0, held}
end
local member = 'r:' .. ARGV[4]
if redis.call('ZADD', KEYS[1], 'NX', ms(now + tonumber(ARGV[2])), member) == 0 then
  return redis.error_reply('ERR reservation id already in use')
end
redis.call('HSET', KEYS[2], member, ms(now) .. ':' .. ARGV[5])
keep(KEYS[1], KEYS[2], now)
return {1, held + 1}
)lua"));
  return script;
}

const Script& bind_slot_script() {
  static const Script script(subject_script(R"lua(
local now = clock(ARGV[1])
drop_expired(KEYS[1], KEYS[2], now)
local reserved = 'r:' .. ARGV[3]
local record = redis.call('HGET', KEYS[2], reserved)
if not record then
  forget_if_empty(KEYS[1], KEYS[2])
  return {0}
end
redis.call('ZREM', KEYS[1], reserved)
redis.call('HDEL', KEYS[2], reserved)
-- One session, one slot: an id the subject already holds keeps its slot and created time.
local bound = 's:' .. ARGV[4]
record = redis.call('HGET', KEYS[2], bound) or record
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], ms(expires), bound)
redis.call('HSET', KEYS[2], bound, record)
keep(KEYS[1], KEYS[2], now)
local created, account = string.match(record, '^(%d+):(.*)$')
return {1, tonumber(created), expires, account}
)lua"));
  return script;
}

const Script& free_slot_script() {
  static const Script script(subject_script(R"lua(
local member = ARGV[1]
local freed = redis.call('ZREM', KEYS[1], member)
redis.call('HDEL', KEYS[2], member)
forget_if_empty(KEYS[1], KEYS[2])
return freed
)lua"));
  return script;
}

const Script& renew_slot_script() {
  static const Script script(subject_script(R"lua(
local now = clock(ARGV[1])
local member = 's:' .. ARGV[3]
local score = redis.call('ZSCORE', KEYS[1], member)
if not score or tonumber(score) <= now then return 0 end
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', ms(expires), member)
keep(KEYS[1], KEYS[2], now)
return expires
)lua"));
  return script;
}

const Script& list_slots_script() {
  static const Script script(subject_script(R"lua(
local now = clock(ARGV[1])
drop_expired(KEYS[1], KEYS[2], now)
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local reply = {#all / 2}
for i = 1, #all, 2 do
  local member = all[i]
  if string.sub(member, 1, 2) == 's:' then
    local record = redis.call('HGET', KEYS[2], member) or '0:'
    local created, account = string.match(record, '^(%d+):(.*)$')
    reply[#reply + 1] = string.sub(member, 3)
    reply[#reply + 1] = tonumber(created)
    reply[#reply + 1] = tonumber(all[i + 1])
    reply[#reply + 1] = account
  end
end
forget_if_empty(KEYS[1], KEYS[2])
return reply
)lua"));
  return script;
}

const Script& forget_session_script() {
  static const Script script(R"lua(
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local ok, record = pcall(cjson.decode, value)
if ok and type(record) == 'table' and record.subject == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua");
  return script;
}

std::vector<const Script*> session_scripts() {
  return {&acquire_slot_script(), &bind_slot_script(),  &free_slot_script(),
          &renew_slot_script(),   &list_slots_script(), &forget_session_script()};
}

std::string reservation_member(std::string_view reservation) {
  return "r:" + std::string(reservation);
}

std::string session_member(std::string_view session_id) { return "s:" + std::string(session_id); }

}  // namespace gw::store::redis

#include "store/redis/check_script.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <charconv>
#include <cmath>
#include <string>

#include "store/check_bounds.h"
#include "store/redis/redis_keys.h"

namespace gw::store::redis {
namespace {

// Each algorithm below is a line-for-line port of limiter/<algorithm>.cpp, in microseconds;
// the names follow the C++ so the two can be read side by side. Each returns the facts of
// limiter::detail::Facts (room, remaining_now, used_now, reset_now_s, reset_after_s,
// retry_after) and then the counter's state once charged (start, count, previous).
constexpr std::string_view kCheckLua = R"lua(
local floor = math.floor
-- A counter's field: algorithm letter, limit, window, start, count, previous. Doubles are
-- exact for every integer the script keeps (all below 2^53), and unpacking them is far
-- cheaper than parsing text.
local STATE = '>c1ddddd'
local STATE_BYTES = 41
local TWO52 = 4503599627370496
local MAX_DEBT = 2305843009213693  -- limiter::detail::gcra_carry_over's cap, in us

-- a * b + c = q * d + r with 0 <= r < d, exactly. REQUIRES: integers, a >= 0, b >= 0,
-- 0 < d <= 2^41, |c| < 2^52, q < 2^53. Doubles are exact below 2^53; a bigger product is
-- reduced mod d, then multiplied in by 11-bit digits of b (each step stays below 2^53).
local function muladd_divmod(a, b, c, d)
  local p = a * b
  if p < TWO52 then
    local x = p + c
    local q = floor(x / d)
    return q, x - q * d
  end
  local qa = floor(a / d)
  local ra = a - qa * d
  local pw = 1
  while pw * 2048 <= b do pw = pw * 2048 end
  local q, r, rest = 0, 0, b
  while pw >= 1 do
    local digit = floor(rest / pw)
    rest = rest - digit * pw
    r = r * 2048 + ra * digit
    local s = floor(r / d)
    q = q * 2048 + s
    r = r - s * d
    pw = pw / 2048
  end
  local qc = floor(c / d)
  local rc = c - qc * d
  if r >= d - rc then
    r = r - (d - rc)
    qc = qc + 1
  else
    r = r + rc
  end
  return qa * b + q + qc, r
end

local function ceil_unix_seconds(t)
  return floor((t + 999999) / 1000000)
end

local function fixed_window(limit, w, s, c, p, now, cost)
  if now - s >= w then
    s = now - now % w
    c = 0
  end
  local rem = limit - c
  local room = cost <= rem
  local reset = ceil_unix_seconds(s + w)
  local retry = 0
  if not room then
    retry = (cost > limit) and w or (s + w - now)
  end
  return room, rem, c, reset, reset, retry, s, c + cost, 0
end

local function sliding_admissible_at(s, c, p, limit, w, cost)
  local slack = limit - cost - c
  if slack >= 0 and p > 0 then
    local max_overlap = muladd_divmod(slack, w, 0, p)  -- < w when there is no room
    if max_overlap > 0 then return s + w - max_overlap end
  end
  local next = s + w
  if c == 0 or limit - cost >= c then return next end
  return next + w - muladd_divmod(limit - cost, w, 0, c)
end

local function sliding_window(limit, w, s, c, p, now, cost)
  local since = now - s
  local e
  if since < w then
    e = (since < 0) and 0 or since
  elseif since < 2 * w then
    s, e, c, p = s + w, since - w, 0, c
  else
    s = now - now % w
    e, c, p = now - s, 0, 0
  end
  local q, r = muladd_divmod(p, w - e, 0, w)
  local weighted = (r > 0) and q + 1 or q
  local rem = limit - c - weighted
  local room = cost <= rem
  local reset = ceil_unix_seconds(s + w)
  local retry = 0
  if not room then
    retry = (cost > limit) and w or (sliding_admissible_at(s, c, p, limit, w, cost) - now)
  end
  return room, rem, c + weighted, reset, reset, retry, s, c + cost, p
end

-- TAT = ns + frac / limit microseconds, 0 <= frac < limit.
local function gcra_load(ns, frac, limit)
  if frac < 0 or frac >= limit then
    local k = floor(frac / limit)
    ns, frac = ns + k, frac - k * limit
  end
  return ns, frac
end

local function ceil_tat(ns, frac)
  if frac > 0 then return ns + 1 end
  return ns
end

local function gcra(limit, w, s, c, p, now, cost)
  if limit <= 0 then
    local reset = ceil_unix_seconds(now + w)
    return cost <= 0, 0, 0, reset, reset, w, s, c, p
  end
  local ns, frac = gcra_load(s, c, limit)
  if ceil_tat(ns, frac) <= now then ns, frac = now, 0 end
  -- remaining = floor((now - TAT + w) * limit / w)
  local a = now - ns + w
  local rem
  if a >= 0 then
    rem = muladd_divmod(a, limit, -frac, w)
  else  -- a debt beyond one window (after a downgrade): floor(-x) = -ceil(x)
    local q, r = muladd_divmod(-a, limit, frac, w)
    rem = (r > 0) and -q - 1 or -q
  end
  local room = cost <= rem
  local reset_now = ceil_unix_seconds(ceil_tat(ns, frac))
  local reset_after, retry = reset_now, 0
  local next_ns, next_frac = ns, frac
  if cost <= limit then
    local q, r = muladd_divmod(cost, w, frac, limit)
    next_ns, next_frac = ns + q, r
    local next_ceil = ceil_tat(next_ns, next_frac)
    reset_after = ceil_unix_seconds(next_ceil)
    if not room then retry = next_ceil - w - now end
  elseif not room then
    retry = w
  end
  return room, rem, limit - rem, reset_now, reset_after, retry, next_ns, next_frac, 0
end

local function carry_over(from_algo, from_limit, from_w, algo, limit, w, s, c, p, now)
  if from_algo ~= algo or from_w ~= w then return 0, 0, 0 end
  if algo ~= 'g' or from_limit == limit then return s, c, p end
  if from_limit <= 0 then return s, 0, 0 end
  local ns, frac = gcra_load(s, c, from_limit)
  local tat = ceil_tat(ns, frac)
  if tat <= now then return 0, 0, 0 end
  if limit <= 0 then return tat, 0, 0 end
  local q, r = muladd_divmod(ns - now, from_limit, frac, limit)
  if q > MAX_DEBT then return now + MAX_DEBT, 0, 0 end
  return now + q, r, 0
end

-- Microseconds from now until the counter holds nothing worth keeping (limiter::is_expired).
local function needed_for(algo, w, s, c, now)
  if algo == 'f' then return s + w - now end
  if algo == 's' then return s + 2 * w - now end
  return ceil_tat(s, c) - now
end

local algorithms = {f = fixed_window, s = sliding_window, g = gcra}

-- The reply: every number as a big-endian double, in one string (see check_script.h).
local function packed(out)
  return struct.pack('>' .. string.rep('d', #out), unpack(out))
end

local key = KEYS[1]
local charge = ARGV[1] == 'c'
local now = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
if not now or not cost or not n or n < 0 or n > 4 or #ARGV ~= 4 + 5 * n then
  return redis.error_reply('ERR check script: malformed arguments')
end
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local out = {1, now}
if n == 0 then return packed(out) end

local names = {}
for i = 1, n do names[i] = ARGV[5 * i] end
local stored = redis.call('HMGET', key, unpack(names))

-- First pass: decide every limit as if charged (check_all), remembering what to write.
local admitted = true
local limits = {}
for i = 1, n do
  local o = 5 * i
  local l = {algo = ARGV[o + 1], limit = tonumber(ARGV[o + 2]), w = tonumber(ARGV[o + 3]),
             s = 0, c = 0, p = 0, carried = false}
  local fn = algorithms[l.algo]
  if not fn or not l.limit or not l.w or l.w <= 0 then
    return redis.error_reply('ERR check script: malformed limit ' .. i)
  end
  local v = stored[i]
  if v then
    -- STATE: the spec the counter was kept under and its state, packed (no text parsing).
    local sa, sl, sw, ss, sc, sp
    if #v == STATE_BYTES then sa, sl, sw, ss, sc, sp = struct.unpack(STATE, v) end
    if sa then
      l.s, l.c, l.p = ss, sc, sp
      if sa ~= l.algo or sl ~= l.limit or sw ~= l.w then
        l.s, l.c, l.p = carry_over(sa, sl, sw, l.algo, l.limit, l.w, l.s, l.c, l.p, now)
        l.carried = true
      end
    else
      l.carried = true  -- unreadable: start afresh, and overwrite it
    end
  end
  l.room, l.rem, l.used, l.reset_now, l.reset_after, l.retry, l.cs, l.cc, l.cp =
      fn(l.limit, l.w, l.s, l.c, l.p, now, cost)
  l.allowed = l.room or ARGV[o + 4] ~= '1'
  admitted = admitted and l.allowed
  limits[i] = l
end

-- Second pass: the decisions (as charged only if admitted) and the writes.
local writes = {}
local needed = 0
for i = 1, n do
  local l = limits[i]
  if l.room and charge and admitted then
    out[#out + 1] = 1
    out[#out + 1] = 0
    out[#out + 1] = l.limit
    out[#out + 1] = l.rem - cost
    out[#out + 1] = l.used + cost
    out[#out + 1] = l.reset_after
    out[#out + 1] = 0
  else
    out[#out + 1] = l.allowed and 1 or 0
    out[#out + 1] = l.room and 0 or 1
    out[#out + 1] = l.limit
    out[#out + 1] = (l.rem > 0) and l.rem or 0
    out[#out + 1] = l.used
    out[#out + 1] = l.reset_now
    out[#out + 1] = l.room and 0 or l.retry
  end
  if charge then
    local s, c, p
    if l.room and admitted then
      s, c, p = l.cs, l.cc, l.cp
    elseif l.carried then
      s, c, p = l.s, l.c, l.p  -- kept even when refused, as the memory store keeps it
    end
    if s then
      writes[#writes + 1] = names[i]
      writes[#writes + 1] = struct.pack(STATE, l.algo, l.limit, l.w, s, c, p)
      local need = needed_for(l.algo, l.w, s, c, now)
      if need > needed then needed = need end
    end
  end
end
out[1] = admitted and 1 or 0

if #writes > 0 then
  redis.call('HSET', key, unpack(writes))
  -- Until the last counter written stops mattering, plus a second; never shortened, so
  -- counters this call did not touch keep the time they needed.
  local ttl = floor((needed + 999) / 1000) + 1000
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return packed(out)
)lua";

bool is_transient_error(std::string_view text) noexcept {
  // Errors Redis recovers from by itself; a script or argument error is not one of them.
  for (std::string_view prefix :
       {"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "OOM"}) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

core::Unexpected<StoreError> protocol_error(std::string detail, bool transient = false) {
  return core::unexpected(StoreError{
      .code = StoreErrc::protocol_error, .transient = transient, .detail = std::move(detail)});
}

}  // namespace

const Script& check_script() {
  static const Script script{std::string(kCheckLua)};
  return script;
}

std::optional<StoreError> check_request_error(const CheckRequest& request) {
  if (auto error = check_bounds_error(request)) return error;
  for (const LimitRef& ref : request.limits) {
    const limiter::LimitSpec& spec = ref.spec;
    if (spec.window > kMaxScriptWindow ||
        spec.window % std::chrono::microseconds(1) != std::chrono::nanoseconds::zero()) {
      return StoreError{.code = StoreErrc::protocol_error,
                        .transient = false,
                        .detail = "limit '" + std::string(ref.name) + "' has a window of " +
                                  std::to_string(spec.window.count()) +
                                  " ns; Redis needs whole microseconds up to 2^40"};
    }
  }
  return std::nullopt;
}

CheckCall::CheckCall(const CheckRequest& request, CheckMode mode, std::int64_t now_us) {
  assert(!check_request_error(request));
  const std::size_t key_size =
      kCountersKeyPrefix.size() + request.subject.size() + kCountersKeySuffix.size();
  if (key_size <= key_buffer_.size()) {
    char* out = key_buffer_.data();
    out = std::copy(kCountersKeyPrefix.begin(), kCountersKeyPrefix.end(), out);
    out = std::copy(request.subject.begin(), request.subject.end(), out);
    std::copy(kCountersKeySuffix.begin(), kCountersKeySuffix.end(), out);
    key_ = std::string_view(key_buffer_.data(), key_size);
  } else {
    long_key_ = counters_key(request.subject);
    key_ = long_key_;
  }

  args_[arg_count_++] = mode == CheckMode::check ? "c" : "p";
  add_number(now_us);
  add_number(request.cost);
  add_number(static_cast<std::int64_t>(request.limits.size()));
  for (const LimitRef& ref : request.limits) {
    args_[arg_count_++] = ref.name;
    switch (ref.spec.algorithm) {
      case limiter::Algorithm::fixed_window:
        args_[arg_count_++] = "f";
        break;
      case limiter::Algorithm::sliding_window:
        args_[arg_count_++] = "s";
        break;
      case limiter::Algorithm::gcra:
        args_[arg_count_++] = "g";
        break;
    }
    add_number(ref.spec.limit);
    add_number(std::chrono::duration_cast<std::chrono::microseconds>(ref.spec.window).count());
    args_[arg_count_++] = ref.spec.enforced ? "1" : "0";
  }
}

void CheckCall::add_number(std::int64_t value) noexcept {
  char* begin = numbers_.data() + numbers_used_;
  const auto [end, ec] = std::to_chars(begin, numbers_.data() + numbers_.size(), value);
  assert(ec == std::errc());
  (void)ec;
  numbers_used_ = static_cast<std::size_t>(end - numbers_.data());
  args_[arg_count_++] = std::string_view(begin, static_cast<std::size_t>(end - begin));
}

core::Result<CheckResult, StoreError> decode_check_reply(const redisReply* reply,
                                                         std::size_t limit_count) {
  constexpr std::size_t kFieldsPerLimit = 7;
  constexpr std::size_t kNumberBytes = 8;
  if (reply == nullptr) return protocol_error("check script: no reply");
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string_view text(reply->str, reply->len);
    return protocol_error("check script failed: " + std::string(text), is_transient_error(text));
  }
  if (reply->type != REDIS_REPLY_STRING) {
    return protocol_error("check script: expected a string reply, got type " +
                          std::to_string(reply->type));
  }
  if (limit_count > kMaxLimitsPerCheck) {
    return protocol_error("check script: " + std::to_string(limit_count) + " limits expected");
  }
  const std::size_t expected = 2 + kFieldsPerLimit * limit_count;
  if (reply->len != expected * kNumberBytes) {
    return protocol_error("check script: expected " + std::to_string(expected) + " numbers, got " +
                          std::to_string(reply->len) + " bytes");
  }
  std::array<std::int64_t, 2 + kFieldsPerLimit * kMaxLimitsPerCheck> numbers{};
  for (std::size_t i = 0; i < expected; ++i) {
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < kNumberBytes; ++b) {
      bits = bits << 8 | static_cast<unsigned char>(reply->str[i * kNumberBytes + b]);
    }
    const double value = std::bit_cast<double>(bits);
    if (!(std::abs(value) < 0x1p53) || value != std::trunc(value)) {
      return protocol_error("check script: number " + std::to_string(i) + " is not an integer");
    }
    numbers[i] = static_cast<std::int64_t>(value);
  }

  CheckResult result;
  result.admitted = numbers[0] != 0;
  result.count = limit_count;
  for (std::size_t i = 0; i < limit_count; ++i) {
    const std::int64_t* at = numbers.data() + 2 + kFieldsPerLimit * i;
    limiter::Decision& d = result.decisions[i];
    d.allowed = at[0] != 0;
    d.over_limit = at[1] != 0;
    d.limit = at[2];
    d.remaining = at[3];
    d.used = at[4];
    d.reset_unix_s = at[5];
    d.retry_after = std::chrono::microseconds(at[6]);
  }
  return result;
}

}  // namespace gw::store::redis

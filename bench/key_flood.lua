-- wrk -s: a flood of made-up API keys, a fresh one on every request (bench/key_flood.sh).
--   FLOOD_PREFIX  what each key starts with ("sk_live_": well formed; "sk_fake_": malformed)
--   FLOOD_CHARS   random base62 characters after it (43: the length of a real key)
-- Also prints the p99.9 line of bench/wrk_report.lua for wrk_results.py.
local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local prefix = os.getenv("FLOOD_PREFIX") or "sk_live_"
local length = tonumber(os.getenv("FLOOD_CHARS") or "43")
local chars, buf = {}, {}
for i = 1, #alphabet do chars[i] = alphabet:sub(i, i) end
local random = math.random

local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("seed", os.time() * 1000 + thread_id)
end

function init(args)
  -- `seed` is set by setup() in the thread's own Lua state before init runs.
  math.randomseed(seed or os.time())
end

function request()
  for i = 1, length do buf[i] = chars[random(62)] end
  wrk.headers["Authorization"] = "Bearer " .. prefix .. table.concat(buf)
  return wrk.format(nil, nil, wrk.headers)
end

function done(summary, latency, requests)
  io.write(string.format("p99.9_us %d\n", latency:percentile(99.9)))
end

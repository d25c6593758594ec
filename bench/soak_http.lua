-- wrk -s: the legitimate HTTP traffic of bench/soak.sh. Requests go round the known keys
-- (SOAK_KEYS, comma-separated) and a few limited routes; each connection waits
-- SOAK_DELAY_MS between its requests, which sets a moderate rate (connections x 1000 /
-- (delay + latency) req/s) instead of wrk's flat out.
local keys = {}
for k in string.gmatch(os.getenv("SOAK_KEYS") or "", "[^,]+") do keys[#keys + 1] = k end
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "10")
local paths = {
  "/v1/sessions/sess_soak/transcript",   -- sessions_read
  "/v1/sessions/sess_soak",              -- sessions_read
  "/v1/recordings/rec_soak",             -- recordings
  "/v1/analysis/soak",                   -- analysis
  "/v1/usage",                           -- no group: the plan-wide limit only
}
local n = 0

function request()
  n = n + 1
  wrk.headers["Authorization"] = "Bearer " .. keys[n % #keys + 1]
  return wrk.format("GET", paths[n % #paths + 1], wrk.headers)
end

function delay()
  return pause
end

function done(summary, latency, requests)
  io.write(string.format("p99.9_us %d\n", latency:percentile(99.9)))
end

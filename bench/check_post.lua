-- wrk -s: POST /v1/check with the admin token and a fixed body (CHECK_BODY, ADMIN_TOKEN
-- from the environment), and the p99.9 line of wrk_report.lua.
wrk.method = "POST"
wrk.body = os.getenv("CHECK_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ADMIN_TOKEN")

done = function(summary, latency, requests)
  io.write(string.format("p99.9_us %d\n", latency:percentile(99.9)))
end

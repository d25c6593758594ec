-- wrk -s: prints the latency percentile `--latency` leaves out, from wrk's own histogram
-- (microseconds), for the benchmark summaries to parse.
done = function(summary, latency, requests)
  io.write(string.format("p99.9_us %d\n", latency:percentile(99.9)))
end

#!/usr/bin/env bash
# Soak (issue 11): one gateway on Redis under mixed legitimate traffic with an abusive client
# beside it, for SOAK_SECONDS (~10 min). Not part of `make test` or CI: it proves nothing in
# a minute, and it takes both cores.
#
# Started here: redis-server, the mock upstream and the gateway (one worker, store.backend
# redis, unknown_key: anonymous, connection, stream and timeout caps set low enough for the
# abuser to reach them: see SOAK_CONFIG below), all on SERVER_CPU; on CLIENT_CPU:
#
#   HTTP       wrk -t1 -c$HTTP_CONNS, each connection pausing HTTP_DELAY_MS between
#              requests (bench/soak_http.lua), round the KNOWN keys and five limited
#              routes; run in back-to-back SAMPLE_SECONDS pieces, one per sample
#   streams    bench/soak_streams.py: STREAM_WORKERS loops of create session, open its
#              stream (echo), 40 messages of ~1 KiB each awaited back, close, end session
#   abuse      bench/soak_abuse.py: made-up keys from many source addresses, rotating
#              X-Forwarded-For (from a trusted and an untrusted peer), waves of idle
#              connections over the per-address cap, connection churn, slowloris heads,
#              oversized heads, garbage, upgrades for made-up sessions over the per-address
#              rate, extra streams per session, unfinished messages past the buffer budget,
#              frames over the message size
#
# Every SAMPLE_SECONDS: the gateway's VmRSS and open descriptors, its /metrics (store
# errors, upstream 5xx and failures, refusals by cap, open connections and streams), Redis
# used_memory and key count, and what the legitimate clients saw. At the end: a CSV of the
# samples, a table, the abuser's outcomes, and a summary line: RSS and descriptors
# first/last/max, the mean of the last quarter against the first, and the errors of the
# legitimate traffic.
#
# Usage: bench/soak.sh                 (expects build/kallglot-gateway; builds nothing)
# Env:   GW_BINARY, SOAK_SECONDS (600), SAMPLE_SECONDS (10), KNOWN (4), HTTP_CONNS (8),
#        HTTP_DELAY_MS (10), STREAM_WORKERS (4), SERVER_CPU (0), CLIENT_CPU (1)
# Output: bench/results/soak-<timestamp>/: summary.md (also on stdout), samples.csv, the
#         raw metrics and client status of every sample, and the servers' logs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
KNOWN=${KNOWN:-4}
HTTP_CONNS=${HTTP_CONNS:-8}
HTTP_DELAY_MS=${HTTP_DELAY_MS:-10}
STREAM_WORKERS=${STREAM_WORKERS:-4}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token
TRUSTED_PROXY=127.0.0.9
MAX_MESSAGE_BYTES=1048576

for tool in wrk redis-server redis-cli taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is required" >&2; exit 1; }
done
"$PY" -c 'import websockets' 2>/dev/null || { echo "soak: python3-websockets is required" >&2; exit 1; }
[[ -x $BIN ]] || { echo "soak: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/soak-$STAMP
mkdir -p "$OUT/samples"
WORK=$(mktemp -d /tmp/gw-soak.XXXXXX)
chmod 755 "$WORK"

source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
start_redis
start_mock
# The caps the abuser is meant to reach, and the ones it must not (max_connections,
# max_streams: reaching those would turn the legitimate clients away too, by design).
SOAK_CONFIG="store:
  backend: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT
    timeout_ms: 50
  on_failure: fail_open
unknown_key: anonymous
trusted_proxies: [\"$TRUSTED_PROXY/32\"]
http:
  header_timeout_ms: 3000
  idle_timeout_ms: 5000
  max_connections: 4000
  max_connections_per_ip: 32
websocket:
  max_streams: 1024
  max_streams_per_session: 2
  upgrades_per_minute_per_ip: 120
  max_message_bytes: $MAX_MESSAGE_BYTES
  max_buffered_bytes: 2097152"
start_gateway gateway "$SOAK_CONFIG"
GW_PID=${NAMED_PIDS[gateway]}
KEYS=()
for i in $(seq 1 "$KNOWN"); do
  KEYS+=("$(new_key "$GW_ADMIN_PORT" "soak_$i" "{\"plan\":\"pro\",\"overrides\":{
    \"api_requests_per_minute\":$BIG,\"concurrent_sessions\":null,
    \"groups\":{\"sessions_write\":$BIG,\"sessions_read\":$BIG,\"recordings\":$BIG,
    \"analysis\":$BIG,\"webhooks\":$BIG}}}")")
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${KEYS[0]}" \
       "http://127.0.0.1:$GW_PORT/v1/sessions/sess_soak/transcript")
[[ $code == 200 ]] || { echo "soak: a known key got $code" >&2; report_dead; exit 1; }

sample() {  # sample N ELAPSED: one sample's raw files under $OUT/samples/
  local n=$1 dir=$OUT/samples
  {
    echo "t $2"
    echo "rss_kib $(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status")"
    echo "fds $(ls "/proc/$GW_PID/fd" | wc -l)"
    echo "cpu_ticks $(awk '{print $14 + $15}' "/proc/$GW_PID/stat")"
    echo "redis_used_memory $(redis-cli -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')"
    echo "redis_keys $(redis-cli -p "$REDIS_PORT" dbsize)"
    echo "log_bytes $(stat -c %s "$OUT/gateway.log")"
    echo "load1 $(cut -d' ' -f1 /proc/loadavg)"
  } >"$dir/proc-$n.txt"
  admin "$GW_ADMIN_PORT" GET /metrics >"$dir/metrics-$n.txt"
  cp "$WORK/streams.json" "$dir/streams-$n.json" 2>/dev/null || true
  cp "$WORK/abuse.json" "$dir/abuse-$n.json" 2>/dev/null || true
}

echo "soak: ${SOAK_SECONDS}s of traffic, a sample every ${SAMPLE_SECONDS}s (load $LOAD_BEFORE)" >&2
sample 0 0
T0=$(date +%s.%N)
taskset -c "$CLIENT_CPU" "$PY" "$ROOT/bench/soak_streams.py" --port "$GW_PORT" \
  $(printf -- '--key %s ' "${KEYS[@]}") --workers "$STREAM_WORKERS" \
  --seconds "$SOAK_SECONDS" --status "$WORK/streams.json" >"$OUT/streams.log" 2>&1 &
track streams $!
taskset -c "$CLIENT_CPU" "$PY" "$ROOT/bench/soak_abuse.py" --port "$GW_PORT" \
  --trusted "$TRUSTED_PROXY" --max-message-bytes "$MAX_MESSAGE_BYTES" --seconds "$SOAK_SECONDS" --status "$WORK/abuse.json" \
  >"$OUT/abuse.log" 2>&1 &
track abuse $!

n=0
while :; do
  elapsed=$("$PY" -c "import time; print(time.time() - $T0)")
  "$PY" -c "import sys; sys.exit(0 if $elapsed + $SAMPLE_SECONDS / 2 < $SOAK_SECONDS else 1)" || break
  n=$((n + 1))
  SOAK_KEYS=$(IFS=,; echo "${KEYS[*]}") SOAK_DELAY_MS=$HTTP_DELAY_MS taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$HTTP_CONNS" -d"${SAMPLE_SECONDS}s" --latency -s "$ROOT/bench/soak_http.lua" \
    "http://127.0.0.1:$GW_PORT/" >"$OUT/samples/http-$n.txt" 2>&1 || true
  elapsed=$("$PY" -c "import time; print(round(time.time() - $T0, 1))")
  if ! kill -0 "$GW_PID" 2>/dev/null; then
    echo "soak: THE GATEWAY DIED at ${elapsed}s" >&2; report_dead; break
  fi
  sample "$n" "$elapsed"
  echo "soak: t=${elapsed}s rss=$(sed -n 's/^rss_kib //p' "$OUT/samples/proc-$n.txt") KiB" \
       "fds=$(sed -n 's/^fds //p' "$OUT/samples/proc-$n.txt")" \
       "$(grep -o 'Requests/sec: *[0-9.]*' "$OUT/samples/http-$n.txt" || echo 'wrk failed')" >&2
done
for name in streams abuse; do  # they stop by themselves at SOAK_SECONDS
  wait "${NAMED_PIDS[$name]}" 2>/dev/null || echo "soak: $name exited with $?" >&2
done
sample final "$("$PY" -c "import time; print(round(time.time() - $T0, 1))")"
GW_ALIVE=yes
kill -0 "$GW_PID" 2>/dev/null || GW_ALIVE=no
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary --------------------------------------------------------------------------
{
  echo "# Soak $STAMP"
  echo
  echo "${SOAK_SECONDS} s; one gateway (one worker, Redis store, unknown_key: anonymous) with" \
       "redis-server and the mock upstream on CPU $SERVER_CPU; wrk (-c$HTTP_CONNS," \
       "${HTTP_DELAY_MS} ms pause), $STREAM_WORKERS stream loops and the abuser on CPU" \
       "$CLIENT_CPU. Gateway alive at the end: **$GW_ALIVE**. Load average before / after:" \
       "$LOAD_BEFORE / $LOAD_AFTER. Host: $(nproc) CPUs, $(uname -r)."
  echo
  "$PY" "$ROOT/bench/soak_report.py" "$OUT"
} | tee "$OUT/summary.md"
echo "soak: raw outputs in $OUT" >&2
[[ $GW_ALIVE == yes ]]

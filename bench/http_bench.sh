#!/usr/bin/env bash
# HTTP benchmark: kallglot-gateway vs nginx `limit_req` vs the upstream alone.
#
# Every server (mock upstream, gateway, nginx) is pinned to SERVER_CPU, the load generator
# (wrk -t1 -c64) to CLIENT_CPU, as in docs/DESIGN-NOTES "Measuring here". Each target is
# measured RUNS times (interleaved, after one warm-up run) and the medians are reported.
#
#   targets   upstream        wrk -> mock upstream (the floor: no proxy at all)
#             nginx           wrk -> nginx (limit_req that always admits, keepalive 64,
#                             three static X-RateLimit-* headers) -> mock upstream
#             gateway         wrk -> kallglot-gateway (memory store, an account whose limits
#                             always admit) -> mock upstream
#             nginx-429       nginx limit_req at 1 r/m: nearly every request gets 429
#             gateway-429     gateway with an account limited to 1 request a minute
#
# Usage: bench/http_bench.sh            (expects build/kallglot-gateway; builds nothing)
# Env:   GW_BINARY, DURATION (10s), WARMUP (2s), CONNS (64), RUNS (3), SERVER_CPU (0),
#        CLIENT_CPU (1), BENCH_PATH (/v1/sessions/sess_bench/transcript), TARGETS (all)
# Output: a Markdown table on stdout and in bench/results/http-<timestamp>/summary.md,
#         with every raw wrk output beside it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
RUNS=${RUNS:-3}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_PATH=${BENCH_PATH:-/v1/sessions/sess_bench/transcript}
TARGETS=${TARGETS:-upstream nginx gateway nginx-429 gateway-429}
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token

for tool in wrk nginx taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "http_bench: $tool is required" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "http_bench: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/http-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-http-bench.XXXXXX)
chmod 755 "$WORK"

PIDS=()
declare -A NAMED_PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    # Bounded wait: escalate to SIGKILL after ~10 s.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL: polls until the URL answers (any HTTP status), at most 15 s.
wait_http() {
  local url=$1
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.05
  done
  echo "http_bench: $url did not come up" >&2
  return 1
}

# ---- mock upstream --------------------------------------------------------------------
taskset -c "$SERVER_CPU" "$BIN" mock-upstream --listen 127.0.0.1:0 >"$OUT/mock.log" 2>&1 &
PIDS+=($!)
NAMED_PIDS[mock]=$!
MOCK_PORT=
for _ in $(seq 1 300); do
  MOCK_PORT=$(sed -n 's/^mock-upstream listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/mock.log")
  [[ -n $MOCK_PORT ]] && break
  sleep 0.05
done
[[ -n $MOCK_PORT ]] || { echo "http_bench: mock upstream did not start:" >&2; cat "$OUT/mock.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$MOCK_PORT/__mock/stats"

# ---- gateway --------------------------------------------------------------------------
ADMIT_KEY=sk_live_bench_no_gateway
REJECT_KEY=sk_live_bench_no_gateway_reject
GW_PORT=0
if [[ " $TARGETS " == *" gateway"* ]]; then
GW_PORT=$(free_port)
GW_ADMIN_PORT=$(free_port)
cat >"$WORK/gateway.yaml" <<EOF
listen: 127.0.0.1:$GW_PORT
admin:
  listen: 127.0.0.1:$GW_ADMIN_PORT
upstream:
  url: http://127.0.0.1:$MOCK_PORT
store:
  backend: memory
accounts:
  path: $WORK/accounts.db
EOF
KALLGLOT_GATEWAY_ADMIN_TOKEN=$ADMIN_TOKEN taskset -c "$SERVER_CPU" \
  "$BIN" serve --config "$WORK/gateway.yaml" >"$OUT/gateway.log" 2>&1 &
PIDS+=($!)
NAMED_PIDS[gateway]=$!
wait_http "http://127.0.0.1:$GW_ADMIN_PORT/healthz"
wait_http "http://127.0.0.1:$GW_PORT/"

admin() {  # admin METHOD PATH [JSON]
  curl -sS --fail-with-body --max-time 5 -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$GW_ADMIN_PORT$2"
}
new_key() {  # new_key ACCOUNT_ID ACCOUNT_JSON -> prints the live key
  admin PUT "/admin/v1/accounts/$1" "$2" >/dev/null
  admin POST "/admin/v1/accounts/$1/keys" '{"environment":"live"}' |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
BIG=1000000000
ADMIT_KEY=$(new_key bench_admit "{\"plan\":\"pro\",\"overrides\":{\"api_requests_per_minute\":$BIG,
  \"groups\":{\"sessions_write\":$BIG,\"sessions_read\":$BIG,\"recordings\":$BIG,\"analysis\":$BIG,\"webhooks\":$BIG}}}")
REJECT_KEY=$(new_key bench_reject '{"plan":"free","overrides":{"api_requests_per_minute":1}}')
fi

# ---- nginx ----------------------------------------------------------------------------
NGINX_PORT=$(free_port)
NGX=$WORK/nginx
mkdir -p "$NGX/logs" "$NGX/tmp"
USER_LINE=""
if [[ $(id -u) -eq 0 ]]; then USER_LINE="user $(id -un) $(id -gn);"; fi
cat >"$NGX/nginx.conf" <<EOF
$USER_LINE
daemon off;
master_process on;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  keepalive_requests 1000000;
  limit_req_zone \$http_authorization zone=api:10m rate=1000000r/s;
  limit_req_zone \$http_authorization zone=tiny:10m rate=1r/m;
  limit_req_status 429;
  upstream kallglot {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      limit_req zone=api burst=1000000 nodelay;
      proxy_pass http://kallglot;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-RateLimit-Limit 600 always;
      add_header X-RateLimit-Remaining 599 always;
      add_header X-RateLimit-Reset 1700000000 always;
    }
    location /reject/ {
      limit_req zone=tiny;
      proxy_pass http://kallglot;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-RateLimit-Limit 1 always;
      add_header X-RateLimit-Remaining 0 always;
      add_header X-RateLimit-Reset 1700000000 always;
    }
  }
}
EOF
taskset -c "$SERVER_CPU" nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" \
  >"$OUT/nginx.log" 2>&1 &
PIDS+=($!)
NAMED_PIDS[nginx]=$!
wait_http "http://127.0.0.1:$NGINX_PORT/__mock/stats"

# ---- runs -----------------------------------------------------------------------------
target_args() {  # prints: URL AUTH_HEADER
  case $1 in
    upstream)    echo "http://127.0.0.1:$MOCK_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    nginx)       echo "http://127.0.0.1:$NGINX_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    gateway)     echo "http://127.0.0.1:$GW_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    nginx-429)   echo "http://127.0.0.1:$NGINX_PORT/reject$BENCH_PATH|Authorization: Bearer $REJECT_KEY" ;;
    gateway-429) echo "http://127.0.0.1:$GW_PORT$BENCH_PATH|Authorization: Bearer $REJECT_KEY" ;;
    *) echo "http_bench: unknown target $1" >&2; exit 1 ;;
  esac
}

run_wrk() {  # run_wrk TARGET DURATION OUTFILE
  local spec url header
  spec=$(target_args "$1")
  url=${spec%%|*}
  header=${spec#*|}
  if ! taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$2" --latency -H "$header" "$url" >"$3" 2>&1 ||
     ! grep -q "Requests/sec" "$3"; then
    echo "http_bench: wrk against $1 failed:" >&2
    cat "$3" >&2
    report_dead
    exit 1
  fi
}

report_dead() {  # says which of our processes died (another user's pkill, a crash...)
  local name pid
  for name in "${!NAMED_PIDS[@]}"; do
    pid=${NAMED_PIDS[$name]}
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "http_bench: $name (pid $pid) is not running; last lines of $OUT/$name.log:" >&2
      tail -5 "$OUT/$name.log" >&2 || true
    fi
  done
}

# Sanity: each target answers as expected before anything is measured.
for t in $TARGETS; do
  spec=$(target_args "$t")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "${spec#*|}" "${spec%%|*}")
  case $t in
    *-429) want=429 ;;
    *) want=200 ;;
  esac
  if [[ $t == *-429 && $code == 200 ]]; then  # the one admitted request of the minute
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "${spec#*|}" "${spec%%|*}")
  fi
  [[ $code == "$want" ]] || { echo "http_bench: $t answered $code, expected $want" >&2; exit 1; }
done

echo "http_bench: warm-up ($WARMUP per target)" >&2
for t in $TARGETS; do run_wrk "$t" "$WARMUP" "$OUT/warmup-$t.txt"; done
for run in $(seq 1 "$RUNS"); do
  for t in $TARGETS; do
    echo "http_bench: run $run/$RUNS $t ($DURATION)" >&2
    run_wrk "$t" "$DURATION" "$OUT/$t-$run.txt"
  done
done

# ---- summary --------------------------------------------------------------------------
{
  echo "# HTTP benchmark $STAMP"
  echo
  echo "wrk -t1 -c$CONNS -d$DURATION on CPU $CLIENT_CPU; servers on CPU $SERVER_CPU;" \
       "path $BENCH_PATH; median of $RUNS runs. Host: $(nproc) CPUs, $(uname -r)."
  echo "Gateway: $("$BIN" --version 2>&1 | head -1); nginx: $(nginx -v 2>&1 | sed 's/.*version: //')."
  echo
  "$PY" - "$OUT" "$RUNS" $TARGETS <<'PYEOF'
import re, statistics, sys
out, runs, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

rows = {}
for t in targets:
    rps, p50, p99, non2xx = [], [], [], []
    for i in range(1, runs + 1):
        text = open(f"{out}/{t}-{i}.txt").read()
        rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)))
        p50.append(ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
        p99.append(ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
        total = int(re.search(r"(\d+) requests in", text).group(1))
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        non2xx.append((int(m.group(1)) if m else 0) / max(total, 1))
    rows[t] = (statistics.median(rps), statistics.median(p50), statistics.median(p99),
               statistics.median(non2xx), rps)

def ratio(t):
    base = {"gateway": "nginx", "gateway-429": "nginx-429"}.get(t)
    if base in rows:
        return f"{rows[t][0] / rows[base][0]:.2f}x {base}"
    return ""

print("| target | requests/s | p50 ms | p99 ms | non-2xx | gateway/nginx | runs (req/s) |")
print("|---|---:|---:|---:|---:|---:|---|")
for t in targets:
    rps, p50, p99, bad, all_rps = rows[t]
    print(f"| {t} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {bad:.1%} | {ratio(t)} | "
          + ", ".join(f"{x:,.0f}" for x in all_rps) + " |")
PYEOF
} | tee "$OUT/summary.md"
echo "http_bench: raw outputs in $OUT" >&2

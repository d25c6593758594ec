#!/usr/bin/env bash
# HTTP benchmark: kallglot-gateway (memory and Redis stores) vs nginx `limit_req` vs
# HAProxy stick tables vs the upstream alone, admit and reject (429) paths, in one run.
#
# Every server (upstream, gateways, nginx, HAProxy, redis-server) is pinned to SERVER_CPU,
# the load generator (wrk -t1 -c64) to CLIENT_CPU, as in docs/DESIGN-NOTES "Measuring
# here". Each target is measured RUNS times (interleaved, after one warm-up run) and the
# medians are reported. All proxies forward to the same upstream, chosen by UPSTREAM:
#   nginx  (default) one worker, `location / { return 200 '{"ok":true}'; }`
#   mock   kallglot-gateway mock-upstream (echoes the request as ~256 bytes of JSON)
# nginx is the default: measured as the direct target (wrk -t1 -c64 on CPU 1, server on
# CPU 0, 3 x 5 s, medians; 2026-11-28, host busy with compiles) it did 56,401 req/s,
# p50 0.43 ms against the mock's 35,269 req/s, p50 0.89 ms; faster in 4 of 6 such
# rounds, with about half the mock's p50 in 5 of 6.
#
#   targets   upstream          wrk -> the upstream (the floor: no proxy at all)
#             nginx             wrk -> nginx (limit_req that always admits, keepalive 64,
#                               three static X-RateLimit-* headers) -> upstream
#             haproxy           wrk -> HAProxy (an http_req_rate stick table keyed by the
#                               Authorization header, deny 429 over a limit never reached,
#                               three static X-RateLimit-* headers, upstream keep-alive)
#             gateway           wrk -> kallglot-gateway (memory store, an account whose
#                               limits always admit) -> upstream
#             gateway-redis     the same with store.backend redis (one redis-server)
#             nginx-429         nginx limit_req at 1 r/m: nearly every request gets 429
#             haproxy-429       HAProxy with the rate limit at 1 request a minute
#             gateway-429       gateway with an account limited to 1 request a minute
#             gateway-redis-429 the same on Redis (answered from the over-limit cache)
#
# Usage: bench/http_bench.sh            (expects build/kallglot-gateway; builds nothing)
# Env:   GW_BINARY, DURATION (10s), WARMUP (2s), CONNS (64), RUNS (3), SERVER_CPU (0),
#        CLIENT_CPU (1), BENCH_PATH (/v1/sessions/sess_bench/transcript), TARGETS (all),
#        UPSTREAM (nginx|mock)
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
TARGETS=${TARGETS:-upstream nginx haproxy gateway gateway-redis nginx-429 haproxy-429 gateway-429 gateway-redis-429}
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token

for tool in wrk nginx haproxy taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "http_bench: $tool is required" >&2; exit 1; }
done
if [[ " $TARGETS " == *" gateway-redis"* ]]; then
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "http_bench: $tool is required" >&2; exit 1; }
  done
fi
[[ -x $BIN ]] || { echo "http_bench: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/http-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-http-bench.XXXXXX)
chmod 755 "$WORK"

source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---- upstream -------------------------------------------------------------------------
start_upstream

# ---- gateways -------------------------------------------------------------------------
# nginx and HAProxy only need a per-path Authorization header; they use the memory
# gateway's keys when it runs.
ADMIT_KEY=sk_live_bench_no_gateway
REJECT_KEY=sk_live_bench_no_gateway_reject
GW_MEM_PORT=0
if [[ " $TARGETS " == *" gateway "* || " $TARGETS " == *" gateway-429 "* ]]; then
start_gateway gateway "store:
  backend: memory
accounts:
  path: $WORK/accounts.db"
ADMIT_KEY=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
REJECT_KEY=$(new_key "$GW_ADMIN_PORT" bench_reject "$REJECT_ACCOUNT")
GW_MEM_PORT=$GW_PORT
fi
GW_REDIS_PORT=0
if [[ " $TARGETS " == *" gateway-redis"* ]]; then
start_redis
start_gateway gateway-redis "store:
  backend: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT
    timeout_ms: 50"
GW_REDIS_PORT=$GW_PORT
REDIS_ADMIT_KEY=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
REDIS_REJECT_KEY=$(new_key "$GW_ADMIN_PORT" bench_reject "$REJECT_ACCOUNT")
fi

# ---- nginx ----------------------------------------------------------------------------
start_nginx

# ---- haproxy --------------------------------------------------------------------------
HAPROXY_PORT=$(free_port)
{ haproxy_head; cat <<EOF
frontend api
  bind 127.0.0.1:$HAPROXY_PORT
  stick-table type string len 128 size 100k expire 60s store http_req_rate(60s)
  http-request track-sc0 req.hdr(Authorization)
  acl tiny path_beg /reject/
  http-request deny deny_status 429 if tiny { sc_http_req_rate(0) gt 1 }
  http-request deny deny_status 429 if !tiny { sc_http_req_rate(0) gt 1000000000 }
  http-after-response set-header X-RateLimit-Limit 600
  http-after-response set-header X-RateLimit-Remaining 599
  http-after-response set-header X-RateLimit-Reset 1700000000
  default_backend kallglot
backend kallglot
  http-reuse always
  server upstream 127.0.0.1:$UPSTREAM_PORT maxconn 64
EOF
} >"$WORK/haproxy.cfg"
taskset -c "$SERVER_CPU" haproxy -db -f "$WORK/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
track haproxy $!
wait_http "http://127.0.0.1:$HAPROXY_PORT/__mock/stats"

# ---- runs -----------------------------------------------------------------------------
target_args() {  # prints: URL AUTH_HEADER
  case $1 in
    upstream)    echo "http://127.0.0.1:$UPSTREAM_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    nginx)       echo "http://127.0.0.1:$NGINX_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    gateway)     echo "http://127.0.0.1:$GW_MEM_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    gateway-redis) echo "http://127.0.0.1:$GW_REDIS_PORT$BENCH_PATH|Authorization: Bearer $REDIS_ADMIT_KEY" ;;
    nginx-429)   echo "http://127.0.0.1:$NGINX_PORT/reject$BENCH_PATH|Authorization: Bearer $REJECT_KEY" ;;
    haproxy)     echo "http://127.0.0.1:$HAPROXY_PORT$BENCH_PATH|Authorization: Bearer $ADMIT_KEY" ;;
    haproxy-429) echo "http://127.0.0.1:$HAPROXY_PORT/reject$BENCH_PATH|Authorization: Bearer $REJECT_KEY" ;;
    gateway-429) echo "http://127.0.0.1:$GW_MEM_PORT$BENCH_PATH|Authorization: Bearer $REJECT_KEY" ;;
    gateway-redis-429) echo "http://127.0.0.1:$GW_REDIS_PORT$BENCH_PATH|Authorization: Bearer $REDIS_REJECT_KEY" ;;
    *) echo "http_bench: unknown target $1" >&2; exit 1 ;;
  esac
}

run_wrk() {  # run_wrk TARGET DURATION OUTFILE
  local spec url header
  spec=$(target_args "$1")
  url=${spec%%|*}
  header=${spec#*|}
  if ! taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$2" --latency -s "$ROOT/bench/wrk_report.lua" \
         -H "$header" "$url" >"$3" 2>&1 ||
     ! grep -q "Requests/sec" "$3"; then
    echo "http_bench: wrk against $1 failed:" >&2
    cat "$3" >&2
    report_dead
    exit 1
  fi
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

# Resident memory of each server once it has served everything, by role.
for role in upstream nginx haproxy gateway gateway-redis redis; do
  name=$role
  [[ $role == upstream ]] && name=$UPSTREAM_PROC
  if [[ -n ${NAMED_PIDS[$name]:-} ]]; then rss_kib "${NAMED_PIDS[$name]}" >"$OUT/rss-$role.txt"; fi
done

# ---- summary --------------------------------------------------------------------------
{
  echo "# HTTP benchmark $STAMP"
  echo
  echo "wrk -t1 -c$CONNS -d$DURATION on CPU $CLIENT_CPU; servers on CPU $SERVER_CPU;" \
       "path $BENCH_PATH; median of $RUNS runs. Host: $(nproc) CPUs, $(uname -r)."
  case $UPSTREAM in
    nginx) echo "Upstream: nginx \`return 200 '{\"ok\":true}'\` (one worker)." ;;
    mock)  echo "Upstream: kallglot-gateway mock-upstream." ;;
  esac
  echo "Gateway: $("$BIN" --version 2>&1 | head -1); nginx: $(nginx -v 2>&1 | sed 's/.*version: //');" \
       "$(haproxy -v | head -1 | cut -d' ' -f1-3)$(command -v redis-server >/dev/null &&
         echo "; $(redis-server --version | cut -d' ' -f1-3)")."
  echo
  PYTHONPATH="$ROOT/bench" "$PY" - "$OUT" "$RUNS" "$UPSTREAM" $TARGETS <<'PYEOF'
import statistics, sys
import wrk_results
out, runs, upstream, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def role(t):  # which server's RSS file a target reads
    return t.removesuffix("-429")

def rss_mib(name):
    try:
        return int(open(f"{out}/rss-{name}.txt").read()) / 1024
    except (OSError, ValueError):
        return float("nan")

rows = {}
for t in targets:
    results = [wrk_results.parse(f"{out}/{t}-{i}.txt") for i in range(1, runs + 1)]
    median = lambda field: statistics.median(r[field] for r in results)
    rows[t] = (median("rps"), median("p50"), median("p99"),
               statistics.median(r["non2xx"] / max(r["requests"], 1) for r in results),
               [r["rps"] for r in results], median("p999"))

def ratio(t, bases):
    base = bases.get(t)
    if base in rows:
        return f"{rows[t][0] / rows[base][0]:.2f}x {base}"
    return ""

VS_NGINX = {t: "nginx" for t in ("haproxy", "gateway", "gateway-redis")}
VS_NGINX.update({f"{t}-429": "nginx-429" for t in VS_NGINX})
VS_MEMORY = {"gateway-redis": "gateway", "gateway-redis-429": "gateway-429"}

print("| target | requests/s | p50 ms | p99 ms | p99.9 ms | non-2xx | RSS MiB | vs nginx "
      "| vs memory gateway | runs (req/s) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for t in targets:
    rps, p50, p99, bad, all_rps, p999 = rows[t]
    label = f"upstream ({upstream})" if t == "upstream" else t
    print(f"| {label} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {p999:.3f} | {bad:.1%} | "
          f"{rss_mib(role(t)):.1f} | {ratio(t, VS_NGINX)} | {ratio(t, VS_MEMORY)} | "
          + ", ".join(f"{x:,.0f}" for x in all_rps) + " |")
print()
note = "RSS: each server after all runs, with its worker processes (nginx)."
if any(t.startswith("gateway-redis") for t in targets):
    note += (f" gateway-redis rows show the gateway alone; redis-server is separate:"
             f" {rss_mib('redis'):.1f} MiB.")
print(note)
PYEOF
} | tee "$OUT/summary.md"
echo "http_bench: raw outputs in $OUT" >&2

#!/usr/bin/env bash
# Decision service benchmark (issue 13), in one run, same pinning (servers on SERVER_CPU,
# load on CLIENT_CPU; docs/DESIGN-NOTES "Measuring here"), RUNS interleaved rounds after a
# warm-up, medians reported:
#
#   grpc-null      rls_load (CONCURRENCY calls in flight, one channel) -> rls_null_server:
#                  the same gRPC stack and listener bounds, answering OK without deciding
#   grpc-gateway   rls_load -> the gateway's ShouldRateLimit (memory store, an account whose
#                  limits always admit), descriptors [api_key] and [api_key, method, path]
#   check-haproxy  wrk POST -> HAProxy answering from its stick table: the body buffered,
#                  the api_key read from it (json_query), tracked in an http_req_rate table,
#                  a JSON answer built from the count (http-request return)
#   check-gateway  wrk POST /v1/check -> the gateway's admin listener (admin token, the
#                  same body): the plan-wide limit and the route's group
#
# Targets (issue 13): grpc-gateway >= 0.8x grpc-null; check-gateway >= 0.9x check-haproxy.
# Usage: bench/decision_bench.sh   (expects build/kallglot-gateway and build/bench/rls_*)
# Env:   GW_BINARY, DURATION (10), WARMUP (2), CONCURRENCY (8), CONNS (8, wrk -c), RUNS (3),
#        SERVER_CPU (0), CLIENT_CPU (1)
# Output: a Markdown table on stdout and in bench/results/decision-<timestamp>/summary.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
BENCH_BIN=$(dirname "$BIN")/bench
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-8}
CONNS=${CONNS:-8}
RUNS=${RUNS:-3}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token
CHECK_PATH=/v1/sessions/sess_bench/transcript

for tool in wrk haproxy taskset curl "$PY" "$BENCH_BIN/rls_load" "$BENCH_BIN/rls_null_server"; do
  command -v "$tool" >/dev/null || { echo "decision_bench: $tool is required" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "decision_bench: $BIN not found (build it first)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/decision-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-decision-bench.XXXXXX)
source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers --------------------------------------------------------------------------
UPSTREAM_PORT=$(free_port)  # nothing listens there: only decisions are measured
GRPC_PORT=$(free_port)
start_gateway gateway "store:
  backend: memory
accounts:
  path: $WORK/accounts.db
decision:
  grpc_listen: 127.0.0.1:$GRPC_PORT"
KEY=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
for _ in $(seq 1 100); do grep -q "decision service (gRPC) listening" "$OUT/gateway.log" && break; sleep 0.05; done

NULL_PORT=$(free_port)
taskset -c "$SERVER_CPU" "$BENCH_BIN/rls_null_server" --listen "127.0.0.1:$NULL_PORT" \
  >"$OUT/rls-null.log" 2>&1 &
track rls-null $!
for _ in $(seq 1 100); do grep -q "listening" "$OUT/rls-null.log" && break; sleep 0.05; done

HAPROXY_PORT=$(free_port)
{ haproxy_head; cat <<HAEOF
frontend check
  bind 127.0.0.1:$HAPROXY_PORT
  option http-buffer-request
  stick-table type string len 128 size 100k expire 60s store http_req_rate(60s)
  http-request track-sc0 req.body,json_query('$.api_key')
  http-request return status 429 content-type application/json string '{"allowed":false}' if { sc_http_req_rate(0) gt 1000000000 }
  http-request return status 200 content-type application/json lf-string '{"allowed":true,"limit":1000000000,"used":%[sc_http_req_rate(0)]}'
HAEOF
} >"$WORK/haproxy.cfg"
taskset -c "$SERVER_CPU" haproxy -db -f "$WORK/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
track haproxy $!
wait_http "http://127.0.0.1:$HAPROXY_PORT/"

export CHECK_BODY="{\"api_key\":\"$KEY\",\"method\":\"GET\",\"path\":\"$CHECK_PATH\"}"
export ADMIN_TOKEN

# Sanity: each target answers as expected before anything is measured.
curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" -d "$CHECK_BODY" \
  "http://127.0.0.1:$GW_ADMIN_PORT/v1/check" | grep -q '"allowed":true' ||
  { echo "decision_bench: /v1/check did not admit" >&2; exit 1; }
curl -sf -d "$CHECK_BODY" "http://127.0.0.1:$HAPROXY_PORT/v1/check" | grep -q '"allowed":true' ||
  { echo "decision_bench: haproxy did not answer" >&2; exit 1; }

run_target() {  # run_target TARGET SECONDS_MEASURED SECONDS_WARMUP OUTFILE
  local target=$1 seconds=$2 warmup=$3 out=$4
  case $target in
    grpc-null|grpc-gateway)
      local port=$GRPC_PORT
      [[ $target == grpc-null ]] && port=$NULL_PORT
      taskset -c "$CLIENT_CPU" "$BENCH_BIN/rls_load" --target "127.0.0.1:$port" --key "$KEY" \
        --route --concurrency "$CONCURRENCY" --duration "$seconds" --warmup "$warmup" >"$out" ;;
    check-haproxy|check-gateway)
      local url="http://127.0.0.1:$HAPROXY_PORT/v1/check"
      [[ $target == check-gateway ]] && url="http://127.0.0.1:$GW_ADMIN_PORT/v1/check"
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${seconds}s" --latency \
        -s "$ROOT/bench/check_post.lua" "$url" >"$out" 2>&1
      grep -q "Requests/sec" "$out" ;;
  esac || { echo "decision_bench: $target failed:" >&2; cat "$out" >&2; report_dead; exit 1; }
}

TARGETS="grpc-null grpc-gateway check-haproxy check-gateway"
echo "decision_bench: warm-up" >&2
for t in $TARGETS; do run_target "$t" "$WARMUP" 0 "$OUT/warmup-$t.txt"; done
for run in $(seq 1 "$RUNS"); do
  for t in $TARGETS; do
    echo "decision_bench: run $run/$RUNS $t (${DURATION}s)" >&2
    run_target "$t" "$DURATION" 1 "$OUT/$t-$run.txt"
  done
done

# ---- summary --------------------------------------------------------------------------
{
  echo "# Decision service benchmark $STAMP"
  echo
  echo "Servers on CPU $SERVER_CPU, load on CPU $CLIENT_CPU; median of $RUNS runs of ${DURATION}s."
  echo "gRPC: rls_load, $CONCURRENCY calls in flight on one channel, two descriptors per call."
  echo "/v1/check: wrk -t1 -c$CONNS. $(haproxy -v | head -1 | cut -d' ' -f1-3); gRPC $(pkg-config --modversion grpc++ 2>/dev/null || echo '?')."
  echo
  PYTHONPATH="$ROOT/bench" "$PY" - "$OUT" "$RUNS" <<'PYEOF'
import json, statistics, sys
import wrk_results
out, runs = sys.argv[1], int(sys.argv[2])

def grpc(t):
    rs = [json.load(open(f"{out}/{t}-{i}.txt")) for i in range(1, runs + 1)]
    return ([r["checks_per_s"] for r in rs], statistics.median(r["p50_us"] / 1000 for r in rs),
            statistics.median(r["p99_us"] / 1000 for r in rs),
            sum(r["over_limit"] + r["errors"] for r in rs))

def http(t):
    rs = [wrk_results.parse(f"{out}/{t}-{i}.txt") for i in range(1, runs + 1)]
    return ([r["rps"] for r in rs], statistics.median(r["p50"] for r in rs),
            statistics.median(r["p99"] for r in rs), sum(r["non2xx"] for r in rs))

rows = {t: grpc(t) for t in ("grpc-null", "grpc-gateway")}
rows.update({t: http(t) for t in ("check-haproxy", "check-gateway")})
base = {"grpc-gateway": "grpc-null", "check-gateway": "check-haproxy"}
print("| target | checks/s | p50 ms | p99 ms | refused or failed | ratio | runs (checks/s) |")
print("|---|---:|---:|---:|---:|---:|---|")
for t, (all_rps, p50, p99, bad) in rows.items():
    rps = statistics.median(all_rps)
    ratio = (f"{rps / statistics.median(rows[base[t]][0]):.2f}x {base[t]}" if t in base else "")
    print(f"| {t} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {bad} | {ratio} | "
          + ", ".join(f"{x:,.0f}" for x in all_rps) + " |")
PYEOF
} | tee "$OUT/summary.md"
echo "decision_bench: raw outputs in $OUT" >&2

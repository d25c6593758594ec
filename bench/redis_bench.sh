#!/usr/bin/env bash
# Redis backend benchmark: the gateway on Redis against the gateway on its memory store,
# and Redis running the gateway's own check script alone (the ceiling), in the same run.
#
# Servers (mock upstream, gateways, redis-server) are pinned to SERVER_CPU, load (wrk,
# redis-benchmark) to CLIENT_CPU. Each target is measured RUNS times after a warm-up;
# medians are reported.
#
#   memory       wrk -> gateway (store.backend: memory), an account that always admits
#   redis        wrk -> gateway (store.backend: redis), the same kind of account
#   redis-x2     two gateways on the same Redis, one wrk each (CONNS/2), summed
#   memory-429   an account limited to 1 request a minute: nearly every request is 429
#   redis-429    the same on Redis: answered from the over-limit cache
#   Redis calls per request: the EVALSHA calls Redis counted (INFO commandstats) during
#   the run, divided by the requests wrk completed.
#   ceiling      redis-benchmark of the check script's EVALSHA (2 limits, as the gateway
#                sends), 50 connections, no pipelining and 16-deep pipelining
#
# Usage: bench/redis_bench.sh            (expects build/kallglot-gateway; builds nothing)
# Env:   GW_BINARY, DURATION (10s), WARMUP (2s), CONNS (64), RUNS (3), SERVER_CPU (0),
#        CLIENT_CPU (1), BENCH_PATH (/v1/sessions/sess_bench/transcript)
# Output: a Markdown table on stdout and in bench/results/redis-<timestamp>/summary.md.
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
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token

for tool in wrk redis-server redis-cli redis-benchmark taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "redis_bench: $tool is required" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "redis_bench: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/redis-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-redis-bench.XXXXXX)

source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

start_mock

# ---- redis ----------------------------------------------------------------------------
start_redis
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
evalsha_calls() {
  rcli info commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0
}

# ---- gateways -------------------------------------------------------------------------
start_gateway memory "store:
  backend: memory
accounts:
  path: $WORK/accounts.db"
MEM_PORT=$GW_PORT
MEM_ADMIT=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
MEM_REJECT=$(new_key "$GW_ADMIN_PORT" bench_reject "$REJECT_ACCOUNT")

REDIS_STORE="store:
  backend: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT
    timeout_ms: 50"
start_gateway redis "$REDIS_STORE"
RED_PORT=$GW_PORT
RED_ADMIT=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
RED_REJECT=$(new_key "$GW_ADMIN_PORT" bench_reject "$REJECT_ACCOUNT")
start_gateway redis2 "$REDIS_STORE"
RED2_PORT=$GW_PORT

# ---- runs -----------------------------------------------------------------------------
wrk_one() {  # wrk_one PORT KEY CONNS DURATION OUTFILE
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d"$4" --latency -s "$ROOT/bench/wrk_report.lua" \
    -H "Authorization: Bearer $2" \
    "http://127.0.0.1:$1$BENCH_PATH" >"$5" 2>&1 && grep -q "Requests/sec" "$5" || {
    echo "redis_bench: wrk failed:" >&2; cat "$5" >&2; report_dead; exit 1; }
}


run_target() {  # run_target TARGET DURATION TAG -> writes $OUT/TARGET-TAG.{txt,calls}
  local t=$1 d=$2 tag=$3 before after
  before=$(evalsha_calls)
  case $t in
    memory)     wrk_one "$MEM_PORT" "$MEM_ADMIT" "$CONNS" "$d" "$OUT/$t-$tag.txt" ;;
    memory-429) wrk_one "$MEM_PORT" "$MEM_REJECT" "$CONNS" "$d" "$OUT/$t-$tag.txt" ;;
    redis)      wrk_one "$RED_PORT" "$RED_ADMIT" "$CONNS" "$d" "$OUT/$t-$tag.txt" ;;
    redis-429)  wrk_one "$RED_PORT" "$RED_REJECT" "$CONNS" "$d" "$OUT/$t-$tag.txt" ;;
    redis-x2)
      wrk_one "$RED_PORT" "$RED_ADMIT" $((CONNS / 2)) "$d" "$OUT/$t-$tag.a.txt" &
      local first=$!
      wrk_one "$RED2_PORT" "$RED_ADMIT" $((CONNS / 2)) "$d" "$OUT/$t-$tag.b.txt"
      wait "$first"
      cat "$OUT/$t-$tag.a.txt" "$OUT/$t-$tag.b.txt" >"$OUT/$t-$tag.txt" ;;
  esac
  after=$(evalsha_calls)
  echo $((after - before)) >"$OUT/$t-$tag.calls"
}

TARGETS="memory redis redis-x2 memory-429 redis-429"
# The first request of each reject key is admitted; spend it before measuring.
for key_port in "$MEM_REJECT $MEM_PORT" "$RED_REJECT $RED_PORT"; do
  set -- $key_port
  curl -s -o /dev/null -H "Authorization: Bearer $1" "http://127.0.0.1:$2$BENCH_PATH"
done
echo "redis_bench: warm-up ($WARMUP per target)" >&2
for t in $TARGETS; do run_target "$t" "$WARMUP" warmup; done
for run in $(seq 1 "$RUNS"); do
  for t in $TARGETS; do
    echo "redis_bench: run $run/$RUNS $t ($DURATION)" >&2
    run_target "$t" "$DURATION" "$run"
  done
done

# ---- ceiling: Redis alone running the same script --------------------------------------
SHA=$(rcli script load "$("$PY" - "$ROOT/src/store/redis/check_script.cpp" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
print(re.search(r'R"lua\((.*?)\)lua"', text, re.S).group(1), end="")
PYEOF
)")
for pipeline in 1 16; do
  for run in $(seq 1 "$RUNS"); do
    taskset -c "$CLIENT_CPU" redis-benchmark -p "$REDIS_PORT" -n 200000 -c 50 -P "$pipeline" -q \
      evalsha "$SHA" 1 "kg:{acct:bench:live}:counters" c 0 1 2 \
      api f "$BIG" 60000000 1 sessions_read f "$BIG" 60000000 1 \
      2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 \
      >"$OUT/ceiling-P$pipeline-$run.txt"
  done
done

# ---- summary --------------------------------------------------------------------------
{
  echo "# Redis backend benchmark $STAMP"
  echo
  echo "wrk -t1 -c$CONNS -d$DURATION on CPU $CLIENT_CPU; gateways, mock upstream and redis-server" \
       "on CPU $SERVER_CPU; path $BENCH_PATH; median of $RUNS runs. Host: $(nproc) CPUs, $(uname -r)."
  echo "Gateway: $("$BIN" --version 2>&1 | head -1); $(redis-server --version | cut -d' ' -f1-3)."
  echo
  PYTHONPATH="$ROOT/bench" "$PY" - "$OUT" "$RUNS" $TARGETS <<'PYEOF'
import glob, re, statistics, sys
import wrk_results
out, runs, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = {}
for t in targets:
    results = [wrk_results.parse(f"{out}/{t}-{i}.txt") for i in range(1, runs + 1)]
    calls = [int(open(f"{out}/{t}-{i}.calls").read()) for i in range(1, runs + 1)]
    rows[t] = dict(
        rps=statistics.median(r["rps"] for r in results),
        p50=statistics.median(r["p50"] for r in results),
        p99=statistics.median(r["p99"] for r in results),
        non2xx=statistics.median(r["non2xx"] / max(r["requests"], 1) for r in results),
        calls=statistics.median(c / max(r["requests"], 1) for c, r in zip(calls, results)),
        all=[r["rps"] for r in results])
def ratio(t):
    base = {"redis": "memory", "redis-x2": "memory", "redis-429": "memory-429"}.get(t)
    return f"{rows[t]['rps'] / rows[base]['rps']:.2f}x {base}" if base else ""
print("| target | requests/s | p50 ms | p99 ms | non-2xx | Redis calls/request | vs memory | runs (req/s) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for t in targets:
    r = rows[t]
    print(f"| {t} | {r['rps']:,.0f} | {r['p50']:.3f} | {r['p99']:.3f} | {r['non2xx']:.1%} | "
          f"{r['calls']:.3f} | {ratio(t)} | " + ", ".join(f"{x:,.0f}" for x in r["all"]) + " |")
print()
print("| ceiling: redis-benchmark EVALSHA check script (-c 50) | requests/s (median) | runs |")
print("|---|---:|---|")
for p in (1, 16):
    vals = []
    for path in sorted(glob.glob(f"{out}/ceiling-P{p}-*.txt")):
        m = re.search(r"([\d.]+) requests per second", open(path).read())
        if m: vals.append(float(m.group(1)))
    if vals:
        print(f"| pipeline {p} | {statistics.median(vals):,.0f} | " + ", ".join(f"{v:,.0f}" for v in vals) + " |")
PYEOF
} | tee "$OUT/summary.md"
echo "redis_bench: raw outputs in $OUT" >&2

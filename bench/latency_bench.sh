#!/usr/bin/env bash
# Latency added at 50% of peak load (issue 5 target: gateway p99 ≤ direct p99 + 150 µs).
#
# wrk is closed-loop: when the server stalls, wrk stops sending, and the stall hides from
# the percentiles (coordinated omission). So the peak is found with wrk, and latency is then
# measured open-loop with bench/rate_probe: a fixed request rate, each latency counted from
# the request's intended send time.
#
#   1. peak   wrk -t1 -c$CONNS, PEAK_RUNS short runs per target, median (or given by env)
#   2. rate   LOAD (0.5) × the gateway's peak, the same rate for every target
#   3. runs   rate_probe at that rate against each target, RUNS times interleaved, medians
#
#   targets   upstream   rate_probe -> the upstream (UPSTREAM: nginx `return 200` or mock; the direct path)
#             nginx      rate_probe -> nginx limit_req (as in http_bench.sh) -> upstream
#             gateway    rate_probe -> gateway (memory store, an always-admitting account) -> upstream
#
# Servers on SERVER_CPU, wrk and rate_probe on CLIENT_CPU (docs "Measuring here"). For
# step 3 the servers and rate_probe also get SCHED_FIFO priority RT_PRIO (root only): on
# this shared machine a compiler on the same CPU otherwise delays a wake-up by a whole
# time slice (~4 ms), which swamps a p99 of a few hundred µs. The peak search (full load)
# stays at normal priority so that it does not starve everyone else for a minute.
# Usage: bench/latency_bench.sh     (expects build/kallglot-gateway and build/bench/rate_probe)
# Env:   GW_BINARY, RATE_PROBE, RUNS (3), DURATION (10, s), WARMUP (2, s), PROBE_CONNS (64),
#        PROBE_SPIN (0; 1: rate_probe busy-polls CPU 1 instead of sleeping between sends),
#        RT_PRIO (1; 0: normal priority),
#        LOAD (0.5), RATE (req/s: skips the peak search), UPSTREAM_PEAK / NGINX_PEAK /
#        GATEWAY_PEAK (req/s: reuse a peak instead of measuring it), PEAK_RUNS (3),
#        PEAK_DURATION (5s), CONNS (64, wrk), SERVER_CPU (0), CLIENT_CPU (1),
#        BENCH_PATH (/v1/sessions/sess_bench/transcript)
# Output: a Markdown table on stdout and in bench/results/latency-<timestamp>/summary.md,
#         with every raw rate_probe JSON line and wrk output beside it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
PROBE=${RATE_PROBE:-$ROOT/build/bench/rate_probe}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PROBE_CONNS=${PROBE_CONNS:-64}
PROBE_SPIN=${PROBE_SPIN:-0}
RT_PRIO=${RT_PRIO:-1}
LOAD=${LOAD:-0.5}
PEAK_RUNS=${PEAK_RUNS:-3}
PEAK_DURATION=${PEAK_DURATION:-5s}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_PATH=${BENCH_PATH:-/v1/sessions/sess_bench/transcript}
TARGETS="upstream nginx gateway"
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token

for tool in wrk nginx taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "latency_bench: $tool is required" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "latency_bench: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }
[[ -x $PROBE ]] || { echo "latency_bench: $PROBE not found (build it, or set RATE_PROBE)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/latency-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-latency-bench.XXXXXX)
chmod 755 "$WORK"

source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
start_upstream  # the same upstream as http_bench.sh (UPSTREAM=mock|nginx)
start_gateway gateway "store:
  backend: memory
accounts:
  path: $WORK/accounts.db"
KEY=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
start_nginx

port_of() {
  case $1 in
    upstream) echo "$UPSTREAM_PORT" ;;
    nginx)    echo "$NGINX_PORT" ;;
    gateway)  echo "$GW_PORT" ;;
  esac
}

for t in $TARGETS; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
         "http://127.0.0.1:$(port_of "$t")$BENCH_PATH" || true)
  [[ $code == 200 ]] || { echo "latency_bench: $t answered $code, expected 200" >&2; report_dead; exit 1; }
done

# ---- 1. peaks (closed loop, wrk) ------------------------------------------------------
declare -A PEAK=([upstream]=${UPSTREAM_PEAK:-} [nginx]=${NGINX_PEAK:-} [gateway]=${GATEWAY_PEAK:-})
if [[ -z ${RATE:-} ]]; then
  for run in $(seq 1 "$PEAK_RUNS"); do
    for t in $TARGETS; do
      [[ -n ${PEAK[$t]} ]] && continue
      echo "latency_bench: peak run $run/$PEAK_RUNS $t ($PEAK_DURATION)" >&2
      f=$OUT/peak-$t-$run.txt
      if ! taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$PEAK_DURATION" --latency \
             -H "Authorization: Bearer $KEY" "http://127.0.0.1:$(port_of "$t")$BENCH_PATH" >"$f" 2>&1 ||
         ! grep -q "Requests/sec" "$f"; then
        echo "latency_bench: wrk against $t failed:" >&2; cat "$f" >&2; report_dead; exit 1
      fi
    done
  done
  for t in $TARGETS; do
    [[ -n ${PEAK[$t]} ]] && continue
    PEAK[$t]=$(PYTHONPATH="$ROOT/bench" "$PY" -c '
import statistics, sys, wrk_results
print(round(statistics.median(wrk_results.parse(f)["rps"] for f in sys.argv[1:])))' "$OUT"/peak-"$t"-*.txt)
  done
  # Round so that the rate reads well in the table; 100 req/s is well inside the noise.
  RATE=$("$PY" -c "print(int(round($LOAD * ${PEAK[gateway]} / 100) * 100))")
fi
echo "latency_bench: probe rate $RATE req/s (peaks: upstream ${PEAK[upstream]:-?}," \
     "nginx ${PEAK[nginx]:-?}, gateway ${PEAK[gateway]:-?})" >&2

# ---- 2. latency at a fixed rate (open loop, rate_probe) -------------------------------
SPIN_FLAG=
[[ $PROBE_SPIN == 1 ]] && SPIN_FLAG=--spin
PROBE_PREFIX=()
if [[ $RT_PRIO != 0 ]]; then
  if chrt -f "$RT_PRIO" true 2>/dev/null; then
    for pid in "${PIDS[@]}"; do  # every thread of every server, and nginx's workers
      for p in "$pid" $(ps -o pid= --ppid "$pid"); do chrt -a -f -p "$RT_PRIO" "$p" >/dev/null; done
    done
    PROBE_PREFIX=(chrt -f "$RT_PRIO")
  else
    echo "latency_bench: SCHED_FIFO not allowed (not root?): normal priority" >&2
    RT_PRIO=0
  fi
fi
run_probe() {  # run_probe TARGET OUTFILE
  if ! taskset -c "$CLIENT_CPU" "${PROBE_PREFIX[@]}" "$PROBE" --port "$(port_of "$1")" --path "$BENCH_PATH" \
         -H "Authorization: Bearer $KEY" --rate "$RATE" --connections "$PROBE_CONNS" \
         --duration "$DURATION" --warmup "$WARMUP" ${SPIN_FLAG:+"$SPIN_FLAG"} >"$2" 2>"$2.err" ||
     ! grep -q '"p99_us"' "$2"; then
    echo "latency_bench: rate_probe against $1 failed:" >&2
    cat "$2" "$2.err" >&2
    report_dead
    exit 1
  fi
  rm -f "$2.err"
}

for run in $(seq 1 "$RUNS"); do
  for t in $TARGETS; do
    echo "latency_bench: run $run/$RUNS $t at $RATE req/s (${WARMUP}s + ${DURATION}s)" >&2
    run_probe "$t" "$OUT/$t-$run.json"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary --------------------------------------------------------------------------
{
  echo "# Latency at a fixed rate $STAMP"
  echo
  echo "rate_probe (open loop, latency from the intended send time) at **$RATE req/s**" \
       "over $PROBE_CONNS connections, ${WARMUP} s warm-up + ${DURATION} s measured, on CPU" \
       "$CLIENT_CPU; servers on CPU $SERVER_CPU; path $BENCH_PATH; median of $RUNS runs;" \
       "$([[ $RT_PRIO != 0 ]] && echo "servers and rate_probe at SCHED_FIFO $RT_PRIO" || echo "normal priority")."
  if [[ -n ${PEAK[gateway]} ]]; then
    echo "Rate = $LOAD × the gateway's peak. Peaks (wrk -t1 -c$CONNS, median of" \
         "$PEAK_RUNS × $PEAK_DURATION, or given): upstream ${PEAK[upstream]:-?}," \
         "nginx ${PEAK[nginx]:-?}, gateway ${PEAK[gateway]} req/s."
  fi
  echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER. Host: $(nproc) CPUs, $(uname -r)."
  echo
  "$PY" - "$OUT" "$RUNS" $TARGETS <<'PYEOF'
import json, statistics, sys
out, runs, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
res = {t: [json.loads(open(f"{out}/{t}-{i}.json").read()) for i in range(1, runs + 1)]
       for t in targets}
med = lambda t, k: statistics.median(r[k] for r in res[t])
behind = lambda r: r["rate"] < 0.99 * r["target_rate"] or r["unfinished"] > 0

print("| target | achieved req/s | p50 µs | p99 µs | p99.9 µs | max µs | p99 added over direct |"
      " failed (all runs) | runs p99 µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for t in targets:
    # Added latency: median over runs of (target p99 - direct p99 of the same round), so a
    # noisy round shifts both sides together.
    added = ""
    if t != "upstream":
        d = statistics.median(a["p99_us"] - b["p99_us"] for a, b in zip(res[t], res["upstream"]))
        added = f"{d:+,.0f} µs"
    bad = sum(r["non2xx"] + r["errors"] + r["unfinished"] for r in res[t])
    print(f"| {'upstream (direct)' if t == 'upstream' else t} | {med(t, 'rate'):,.0f} | "
          f"{med(t, 'p50_us'):,.0f} | {med(t, 'p99_us'):,.0f} | {med(t, 'p999_us'):,.0f} | "
          f"{med(t, 'max_us'):,.0f} | {added} | {bad} | "
          + ", ".join(f"{r['p99_us']:,.0f}" + ("*" if behind(r) else "") for r in res[t]) + " |")
if any(behind(r) for rs in res.values() for r in rs):
    print("\n\\* a run that fell behind its schedule (achieved < 99% of the rate, or requests"
          " unfinished): the server or rate_probe was starved (a busy machine?), or the rate is"
          " above capacity; its latencies measure a queue.")
PYEOF
} | tee "$OUT/summary.md"
echo "latency_bench: raw outputs in $OUT" >&2

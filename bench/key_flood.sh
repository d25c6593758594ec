#!/usr/bin/env bash
# Known callers under a flood of made-up API keys (issue 11): do they keep their latency and
# their place in the caller cache?
#
# One gateway (one worker: pinned to SERVER_CPU, as its mock upstream) with KNOWN accounts
# whose limits always admit. Each known account is probed open-loop by its own
# bench/rate_probe at PROBE_RATE/KNOWN req/s (latency from the intended send time), on
# CLIENT_CPU. Three phases, interleaved RUNS times:
#
#   alone      the probes only
#   flood      the probes while wrk (-t1 -c$FLOOD_CONNS, on CLIENT_CPU) sends requests as
#              fast as it can, each with a fresh well-formed made-up key: `sk_live_` + 43
#              random base62 characters (bench/key_flood.lua). Every one is a caller-cache
#              miss, an account-store lookup and a 401.
#   malformed  the same flood with keys that fail the syntax check (`sk_fake_` + 43
#              characters): refused before any lookup.
#
# Measured per phase: the probes' p50 and p99 (p50: median over the accounts; p99: the worst
# account's), the flood rate wrk reached, account-store lookups by result
# (kallglot_gateway_key_lookups_total), and the known callers' cache hit rate
# 1 - known lookups / known requests (known requests: the upstream's 2xx answers, as the
# flood's are all 401s from the gateway). Gateway RSS before and after everything.
#
# The issue's target is a 100 k/s flood; one gateway core here does far less, and wrk shares
# CLIENT_CPU with the probes: the summary says what was reached. Unless RT_PRIO=0 the probes
# run at SCHED_FIFO (root only) so that wrk does not delay their sends. The servers stay at
# normal priority unless SERVER_RT=1: then the mock and redis-server run at SCHED_FIFO
# RT_PRIO+1 and the gateway at RT_PRIO (the upstream must preempt a gateway that a flood keeps
# busy), which keeps other work on SERVER_CPU out of the probes' tail but, while a flood runs,
# leaves that CPU to everyone else only through the kernel's RT throttling (5%).
#
# Usage: bench/key_flood.sh     (expects build/kallglot-gateway and build/bench/rate_probe)
# Env:   GW_BINARY, RATE_PROBE, BACKENDS ("memory redis"), RUNS (3), DURATION (10, s),
#        WARMUP (2, s), KNOWN (4), PROBE_RATE (1000, req/s in all), PROBE_CONNS (4 per
#        account), FLOOD_CONNS (128), RT_PRIO (1), SERVER_RT (0), SERVER_CPU (0), CLIENT_CPU (1),
#        BENCH_PATH (/v1/sessions/sess_bench/transcript)
# Output: a Markdown table on stdout and in bench/results/keyflood-<timestamp>/summary.md,
#         with every raw rate_probe JSON line, wrk output and metrics delta beside it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
PROBE=${RATE_PROBE:-$ROOT/build/bench/rate_probe}
BACKENDS=${BACKENDS:-memory redis}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
KNOWN=${KNOWN:-4}
PROBE_RATE=${PROBE_RATE:-1000}
PROBE_CONNS=${PROBE_CONNS:-4}
FLOOD_CONNS=${FLOOD_CONNS:-128}
RT_PRIO=${RT_PRIO:-1}
SERVER_RT=${SERVER_RT:-0}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_PATH=${BENCH_PATH:-/v1/sessions/sess_bench/transcript}
PHASES="alone flood malformed"
PY=/usr/bin/python3
ADMIN_TOKEN=bench-admin-token

for tool in wrk taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "key_flood: $tool is required" >&2; exit 1; }
done
if [[ " $BACKENDS " == *" redis "* ]]; then
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "key_flood: $tool is required" >&2; exit 1; }
  done
fi
[[ -x $BIN ]] || { echo "key_flood: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }
[[ -x $PROBE ]] || { echo "key_flood: $PROBE not found (build it, or set RATE_PROBE)" >&2; exit 1; }

STAMP=$(date +%Y%m%dT%H%M%S)
OUT=$ROOT/bench/results/keyflood-$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-keyflood-bench.XXXXXX)
chmod 755 "$WORK"

source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

PROBE_PREFIX=()
if [[ $RT_PRIO != 0 ]]; then
  if chrt -f "$RT_PRIO" true 2>/dev/null; then
    PROBE_PREFIX=(chrt -f "$RT_PRIO")
  else
    echo "key_flood: SCHED_FIFO not allowed (not root?): probes at normal priority" >&2
    RT_PRIO=0 SERVER_RT=0
  fi
fi
[[ $RT_PRIO == 0 ]] && SERVER_RT=0
# set_rt PID PRIO: every thread of a server at SCHED_FIFO PRIO (SERVER_RT=1 only).
set_rt() {
  [[ $SERVER_RT == 1 ]] && chrt -a -f -p "$2" "$1" >/dev/null
  return 0
}

# metrics_snapshot ADMIN_PORT GATEWAY_PID FILE: the counters this benchmark reads and the
# gateway's CPU time, one "name value" a line.
metrics_snapshot() {
  {
    echo "wall_s $(date +%s.%N)"
    echo "cpu_s $(awk '{print ($14 + $15) / 100}' "/proc/$2/stat")"
    admin "$1" GET /metrics
  } | awk '
    /^kallglot_gateway_key_lookups_total\{/ { match($0, /result="[a-z]*"/);
      print "lookups_" substr($0, RSTART + 8, RLENGTH - 9), $NF }
    /^kallglot_gateway_upstream_responses_total\{/ && /2xx/ { ok += $NF }
    /^kallglot_gateway_unauthenticated_total/ { print "unauthenticated", $NF }
    /^kallglot_gateway_store_errors_total/ { print "store_errors", $NF }
    /^(wall_s|cpu_s) / { print }
    END { print "upstream_2xx", ok + 0 }' >"$3"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
start_mock
set_rt "${NAMED_PIDS[mock]}" $((RT_PRIO + 1))
for backend in $BACKENDS; do
  case $backend in
    memory) store_yaml="store:
  backend: memory
accounts:
  path: $WORK/accounts-$backend.db" ;;
    redis) start_redis
      set_rt "${NAMED_PIDS[redis]}" $((RT_PRIO + 1))
      store_yaml="store:
  backend: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT
    timeout_ms: 50" ;;
    *) echo "key_flood: unknown backend $backend (memory|redis)" >&2; exit 1 ;;
  esac
  start_gateway "gateway-$backend" "$store_yaml"
  port=$GW_PORT admin_port=$GW_ADMIN_PORT
  gw_pid=${NAMED_PIDS[gateway-$backend]}
  set_rt "$gw_pid" "$RT_PRIO"
  keys=()
  for i in $(seq 1 "$KNOWN"); do
    keys+=("$(new_key "$admin_port" "known_$i" "$ADMIT_ACCOUNT")")
  done
  for k in "${keys[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $k" \
           "http://127.0.0.1:$port$BENCH_PATH")
    [[ $code == 200 ]] || { echo "key_flood: a known key got $code" >&2; report_dead; exit 1; }
  done
  rss_kib "$gw_pid" >"$OUT/$backend-rss-before.txt"

  for run in $(seq 1 "$RUNS"); do
    for phase in $PHASES; do
      tag=$backend-$phase-$run
      echo "key_flood: $backend run $run/$RUNS $phase (${WARMUP}s + ${DURATION}s)" >&2
      flood_pid=
      if [[ $phase != alone ]]; then
        prefix=sk_live_
        [[ $phase == malformed ]] && prefix=sk_fake_
        # The flood outlasts the probes by a second on each side.
        FLOOD_PREFIX=$prefix taskset -c "$CLIENT_CPU" wrk -t1 -c"$FLOOD_CONNS" \
          -d"$((WARMUP + DURATION + 2))s" --latency -s "$ROOT/bench/key_flood.lua" \
          "http://127.0.0.1:$port$BENCH_PATH" >"$OUT/$tag.wrk.txt" 2>&1 &
        flood_pid=$!
        sleep 1
      fi
      metrics_snapshot "$admin_port" "$gw_pid" "$OUT/$tag.metrics-before"
      probe_pids=()
      for i in $(seq 1 "$KNOWN"); do
        taskset -c "$CLIENT_CPU" "${PROBE_PREFIX[@]}" "$PROBE" --port "$port" --path "$BENCH_PATH" \
          -H "Authorization: Bearer ${keys[$((i - 1))]}" --rate "$((PROBE_RATE / KNOWN))" \
          --connections "$PROBE_CONNS" --duration "$DURATION" --warmup "$WARMUP" \
          >"$OUT/$tag.probe$i.json" 2>"$OUT/$tag.probe$i.err" &
        probe_pids+=($!)
      done
      for pid in "${probe_pids[@]}"; do wait "$pid" || true; done
      metrics_snapshot "$admin_port" "$gw_pid" "$OUT/$tag.metrics-after"
      for i in $(seq 1 "$KNOWN"); do
        grep -q '"p99_us"' "$OUT/$tag.probe$i.json" || {
          echo "key_flood: rate_probe $i failed:" >&2; cat "$OUT/$tag.probe$i."* >&2
          report_dead; exit 1; }
        rm -f "$OUT/$tag.probe$i.err"
      done
      if [[ -n $flood_pid ]]; then
        wait "$flood_pid" || true
        grep -q "Requests/sec" "$OUT/$tag.wrk.txt" || {
          echo "key_flood: wrk failed:" >&2; cat "$OUT/$tag.wrk.txt" >&2; report_dead; exit 1; }
      fi
      rss_kib "$gw_pid" >"$OUT/$tag.rss"
    done
  done
  rss_kib "$gw_pid" >"$OUT/$backend-rss-after.txt"
  kill -0 "$gw_pid" 2>/dev/null || { echo "key_flood: the gateway died" >&2; report_dead; exit 1; }
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary --------------------------------------------------------------------------
{
  echo "# Known callers under a key flood $STAMP"
  echo
  echo "$KNOWN known accounts, each probed by rate_probe at $((PROBE_RATE / KNOWN)) req/s" \
       "($PROBE_RATE req/s in all, $PROBE_CONNS connections each, open loop," \
       "${WARMUP} s warm-up + ${DURATION} s measured$([[ $RT_PRIO != 0 ]] && echo ", SCHED_FIFO $RT_PRIO"));" \
       "servers at $([[ $SERVER_RT == 1 ]] && echo "SCHED_FIFO (mock/redis $((RT_PRIO + 1)), gateway $RT_PRIO)" || echo "normal priority");" \
       "flood: wrk -t1 -c$FLOOD_CONNS, a fresh key per request. Probes and wrk on CPU" \
       "$CLIENT_CPU; gateway (one worker) and mock upstream on CPU $SERVER_CPU; path" \
       "$BENCH_PATH; median of $RUNS interleaved runs. Load average before / after:" \
       "$LOAD_BEFORE / $LOAD_AFTER. Host: $(nproc) CPUs, $(uname -r)."
  echo
  PYTHONPATH="$ROOT/bench" "$PY" - "$OUT" "$RUNS" "$KNOWN" "$BACKENDS" $PHASES <<'PYEOF'
import json, statistics, sys
import wrk_results
out, runs, known, backends, phases = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4].split(), sys.argv[5:]
med = statistics.median

def counters(path):
    return {k: float(v) for k, v in (line.split() for line in open(path))}

def rss(path):
    return int(open(path).read()) / 1024

print("| backend | phase | probe p50 µs | probe p99 µs | p99 / alone | flood req/s (runs) "
      "| known lookups / known requests | known-caller hit rate | unknown lookups | "
      "lookup errors | probe failures | gateway CPU | RSS MiB after |")
print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for b in backends:
    p99_alone = None
    for ph in phases:
        p50s, p99s, floods, cpus, known_l, known_r, unknown_l, errors, bad = \
            [], [], [], [], 0, 0, 0, 0, 0
        for r in range(1, runs + 1):
            tag = f"{out}/{b}-{ph}-{r}"
            probes = [json.loads(open(f"{tag}.probe{i}.json").read()) for i in range(1, known + 1)]
            p50s.append(med(p["p50_us"] for p in probes))
            p99s.append(max(p["p99_us"] for p in probes))
            bad += sum(p["non2xx"] + p["errors"] + p["unfinished"] for p in probes)
            if ph != "alone":
                floods.append(wrk_results.parse(f"{tag}.wrk.txt")["rps"])
            before, after = counters(f"{tag}.metrics-before"), counters(f"{tag}.metrics-after")
            d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            cpus.append(d["cpu_s"] / d["wall_s"])
            known_l += d.get("lookups_known", 0)
            known_r += d.get("upstream_2xx", 0)
            unknown_l += d.get("lookups_unknown", 0)
            errors += d.get("lookups_error", 0) + d.get("store_errors", 0)
        p50, p99 = med(p50s), med(p99s)
        if ph == "alone":
            p99_alone = p99
        ratio = f"{p99 / p99_alone:.2f}x" if p99_alone else ""
        flood = (f"{med(floods):,.0f} ({', '.join(f'{x:,.0f}' for x in floods)})"
                 if floods else "")
        hit = 1 - known_l / known_r if known_r else float("nan")
        last_rss = rss(f"{out}/{b}-{ph}-{runs}.rss")
        print(f"| {b} | {ph} | {p50:,.0f} | {p99:,.0f} | {ratio} | {flood} | "
              f"{known_l:,.0f} / {known_r:,.0f} | {hit:.4%} | {unknown_l:,.0f} | {errors:,.0f} | "
              f"{bad} | {med(cpus):.0%} | {last_rss:.1f} |")
print()
for b in backends:
    print(f"- {b}: gateway RSS {rss(f'{out}/{b}-rss-before.txt'):.1f} MiB before the first"
          f" phase, {rss(f'{out}/{b}-rss-after.txt'):.1f} MiB after the last.")
print("- probe p99: the worst of the known accounts in a run; p50: their median; both the"
      " median over runs. Lookups, requests and hit rate: summed over the runs' measured"
      " windows (warm-up included). Gateway CPU: its CPU time over the probes' wall time"
      " (median over runs; 100% = the whole of its one core).")
PYEOF
} | tee "$OUT/summary.md"
echo "key_flood: raw outputs in $OUT" >&2

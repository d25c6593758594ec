#!/usr/bin/env bash
# Instructions per proxied request in the gateway's worker thread, under callgrind: the
# before/after measure of BENCHMARKS.md's profile table (deterministic, unlike req/s on
# this noisy machine).
#
# The gateway runs under `valgrind --tool=callgrind` (one worker, CPU 0) in front of the
# mock upstream; `wrk -t1 -c16` drives the admit path for DURATION; the worker thread's
# inclusive instruction count (callgrind) is divided by the requests wrk completed.
# `check` measures POST /v1/check on the admin listener instead (memory store, wrk -t1 -c8
# with bench/check_post.lua, as decision_bench.sh): callgrind counts from the end of a 2 s
# warm-up to the end of the run, the whole process (the workers idle meanwhile).
#
# Usage: bench/callgrind_request.sh [memory|redis|check]     (default memory)
# Env:   GW_BINARY (build/kallglot-gateway), DURATION (8s)
# Output: the figure on stdout; callgrind.out and wrk output in bench/results/callgrind-<stamp>/
#         (callgrind_annotate callgrind.out for the functions).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BACKEND=${1:-memory}
BIN=${GW_BINARY:-$ROOT/build/kallglot-gateway}
DURATION=${DURATION:-8s}
PY=/usr/bin/python3
SERVER_CPU=0
ADMIN_TOKEN=bench-admin-token
for tool in valgrind callgrind_annotate callgrind_control wrk taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "callgrind_request: $tool is required" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "callgrind_request: $BIN not found (build it first, or set GW_BINARY)" >&2; exit 1; }

OUT=$ROOT/bench/results/callgrind-$(date +%Y%m%dT%H%M%S)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gw-callgrind.XXXXXX)
chmod 755 "$WORK"
source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

start_mock
case $BACKEND in
  memory|check) STORE="store:
  backend: memory
accounts:
  path: $WORK/accounts.db" ;;
  redis)
    start_redis
    STORE="store:
  backend: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT
    timeout_ms: 50" ;;
  *) echo "callgrind_request: the mode is memory, redis or check" >&2; exit 1 ;;
esac

# Keys are made on a gateway run normally (valgrind makes its start slow), which is then
# restarted under callgrind on the same configuration and accounts.
start_gateway plain "$STORE"
KEY=$(new_key "$GW_ADMIN_PORT" bench_admit "$ADMIT_ACCOUNT")
kill -TERM "${NAMED_PIDS[plain]}"
wait "${NAMED_PIDS[plain]}" 2>/dev/null || true
if [[ $BACKEND == check ]]; then
  KALLGLOT_GATEWAY_ADMIN_TOKEN=$ADMIN_TOKEN taskset -c "$SERVER_CPU" \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out" \
    "$BIN" serve --config "$WORK/plain.yaml" >"$OUT/gateway.log" 2>&1 &
  VG=$!
  track callgrind "$VG"
  wait_http "http://127.0.0.1:$GW_ADMIN_PORT/healthz"
  export ADMIN_TOKEN CHECK_BODY="{\"api_key\":\"$KEY\",\"method\":\"GET\",\"path\":\"/v1/sessions/sess_bench/transcript\"}"
  check_url="http://127.0.0.1:$GW_ADMIN_PORT/v1/check"
  taskset -c 1 wrk -t1 -c8 -d2s -s "$ROOT/bench/check_post.lua" "$check_url" >"$OUT/warmup.txt"
  callgrind_control -i on "$VG" >/dev/null
  taskset -c 1 wrk -t1 -c8 -d"$DURATION" -s "$ROOT/bench/check_post.lua" "$check_url" >"$OUT/wrk.txt"
  callgrind_control -i off "$VG" >/dev/null
  kill -TERM "$VG"
  wait "$VG" 2>/dev/null || true
  requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
  total=$(callgrind_annotate "$OUT/callgrind.out" 2>/dev/null |
    awk '!found && /PROGRAM TOTALS/ {gsub(",", "", $1); print $1; found = 1}')
  [[ -n $total && $requests -gt 0 ]] || { echo "callgrind_request: no figure (see $OUT)" >&2; exit 1; }
  grep -q "Non-2xx" "$OUT/wrk.txt" && { echo "callgrind_request: refused checks (see $OUT)" >&2; exit 1; }
  echo "check: $((total / requests)) instructions per POST /v1/check in the gateway" \
    "($total over $requests checks); $OUT"
  exit 0
fi

KALLGLOT_GATEWAY_ADMIN_TOKEN=$ADMIN_TOKEN taskset -c "$SERVER_CPU" \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
  "$BIN" serve --config "$WORK/plain.yaml" >"$OUT/gateway.log" 2>&1 &
VG=$!
track callgrind "$VG"
wait_http "http://127.0.0.1:$GW_ADMIN_PORT/healthz"
wait_http "http://127.0.0.1:$GW_PORT/"

taskset -c 1 wrk -t1 -c16 -d"$DURATION" -H "Authorization: Bearer $KEY" \
  "http://127.0.0.1:$GW_PORT/v1/sessions/sess_bench/transcript" >"$OUT/wrk.txt"
kill -TERM "$VG"
wait "$VG" 2>/dev/null || true  # callgrind writes its file as the gateway exits

requests=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
worker=$(callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
  awk '!found && /Worker::start\(\)::\{lambda\(\)#1\}/ {gsub(",", "", $1); print $1; found = 1}')
[[ -n $worker && $requests -gt 0 ]] || { echo "callgrind_request: no figure (see $OUT)" >&2; exit 1; }
echo "$BACKEND: $((worker / requests)) instructions per request in the worker thread" \
  "($worker over $requests requests); $OUT"

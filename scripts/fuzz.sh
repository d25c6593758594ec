#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, into build-fuzz/) and runs each for a bounded
# time on a copy of its seed corpus, FUZZ_PARALLEL of them at once. Exits non-zero when a
# fuzzer finds a crash, a sanitizer report, a trapped invariant, a timeout or an OOM.
#
#   FUZZ_SECONDS    how long to fuzz each target (default 30)
#   FUZZ_TARGETS    which targets, space-separated (default: all of them, see below)
#   FUZZ_PARALLEL   how many targets fuzz at once (default: the number of CPUs, at most 4)
#   FUZZ_JOBS       fuzzing processes per target (default 1; each gets FUZZ_SECONDS)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   CXX_FUZZ        the clang++ to use (default clang++-14)
#
# Target NAME is build-fuzz/NAME_fuzzer, from fuzz/NAME_fuzzer.cpp, with its seed corpus in
# fuzz/corpus/NAME/ and, if there is one, its dictionary fuzz/NAME.dict. New corpus entries
# and crash reproducers go to $FUZZ_BUILD_DIR/run/NAME/ (never into the repository):
# fuzz/corpus/ stays the committed seed corpus (add a reproducer there once it is fixed).
set -euo pipefail

cd "$(dirname "$0")/.."
ALL_TARGETS="request_head config_loader route_table audio_meter ws_frames resp_reply rls_request check_body"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
cpus="$(nproc)"
FUZZ_PARALLEL="${FUZZ_PARALLEL:-$((cpus < 4 ? cpus : 4))}"
FUZZ_JOBS="${FUZZ_JOBS:-1}"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
CXX_FUZZ="${CXX_FUZZ:-clang++-14}"

# The longest input worth trying per target: a request head with a small body, a config
# file, a route table with requests, one client message, a few frames, a few replies.
max_len() {
  case "$1" in
    config_loader | audio_meter) echo 8192 ;;
    ws_frames) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

targets=()
for t in $FUZZ_TARGETS; do
  case " $ALL_TARGETS " in
    *" $t "*) targets+=("$t") ;;
    *) echo "fuzz: no such target: $t (targets: $ALL_TARGETS)" >&2; exit 2 ;;
  esac
done

cmake -S fuzz -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_CXX_COMPILER="$CXX_FUZZ" >/dev/null
cmake --build "$FUZZ_BUILD_DIR" --target "${targets[@]/%/_fuzzer}"

# Runs one target in the background; its output goes to run/NAME/fuzz.log.
start() {
  local name="$1" run_dir="$FUZZ_BUILD_DIR/run/$1"
  rm -rf "$run_dir"
  mkdir -p "$run_dir/corpus" "$run_dir/artifacts"
  cp fuzz/corpus/"$name"/* "$run_dir/corpus/"
  local args=(
    -max_total_time="$FUZZ_SECONDS"
    -timeout=5
    -rss_limit_mb=2048
    -max_len="$(max_len "$name")"
    -artifact_prefix="$run_dir/artifacts/"
    -print_final_stats=1
  )
  if [ -f "fuzz/$name.dict" ]; then args+=(-dict="fuzz/$name.dict"); fi
  if [ "$FUZZ_JOBS" -gt 1 ]; then
    # -fork runs the jobs under one supervisor that merges their findings into the corpus.
    args+=(-fork="$FUZZ_JOBS")
  fi
  echo "fuzz: ${name}_fuzzer for ${FUZZ_SECONDS}s (corpus and artifacts in $run_dir)"
  "$FUZZ_BUILD_DIR/${name}_fuzzer" "${args[@]}" "$run_dir/corpus" >"$run_dir/fuzz.log" 2>&1 &
  pids[$!]="$name"
}

# Reports one finished target; returns non-zero on a finding.
finish() {
  local name="$1" status="$2" run_dir="$FUZZ_BUILD_DIR/run/$1"
  # libFuzzer exits non-zero on every finding; an artifact is proof of one even if not.
  if [ "$status" -eq 0 ] && ! compgen -G "$run_dir/artifacts/*" >/dev/null; then
    echo "fuzz: $name: no findings in ${FUZZ_SECONDS}s ($(grep -ao 'stat::number_of_executed_units: [0-9]*' "$run_dir/fuzz.log" | grep -o '[0-9]*$' || echo '?') runs)"
    return 0
  fi
  echo "fuzz: $name FAILED (exit $status); its log:" >&2
  grep -av '^#[0-9]' "$run_dir/fuzz.log" | tail -n 80 >&2
  if compgen -G "$run_dir/artifacts/*" >/dev/null; then
    echo "fuzz: $name reproducers (replay with $FUZZ_BUILD_DIR/${name}_fuzzer <file>):" >&2
    ls -l "$run_dir/artifacts" >&2
  fi
  return 1
}

declare -A pids=()
failed=0
next=0
while [ "$next" -lt "${#targets[@]}" ] || [ "${#pids[@]}" -gt 0 ]; do
  while [ "$next" -lt "${#targets[@]}" ] && [ "${#pids[@]}" -lt "$FUZZ_PARALLEL" ]; do
    start "${targets[$next]}"
    next=$((next + 1))
  done
  status=0
  wait -n -p done_pid "${!pids[@]}" || status=$?
  name="${pids[$done_pid]}"
  unset "pids[$done_pid]"
  finish "$name" "$status" || failed=1
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED" >&2
  exit 1
fi
echo "fuzz: no findings (${#targets[@]} targets, ${FUZZ_SECONDS}s each)"

#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, into build-fuzz/) and runs
# request_head_fuzzer for a bounded time on a copy of its seed corpus. Exits non-zero when
# the fuzzer finds a crash, a sanitizer report, a trapped invariant, a timeout or an OOM.
#
#   FUZZ_SECONDS  how long to fuzz (default 60)
#   FUZZ_JOBS     parallel fuzzing processes (default 1; each gets FUZZ_SECONDS)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   CXX_FUZZ      the clang++ to use (default clang++-14)
#
# New corpus entries and crash reproducers go to $FUZZ_BUILD_DIR/run/ (never into the
# repository): fuzz/corpus/ stays the hand-written seed corpus.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_JOBS="${FUZZ_JOBS:-1}"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
CXX_FUZZ="${CXX_FUZZ:-clang++-14}"

cmake -S fuzz -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_CXX_COMPILER="$CXX_FUZZ" >/dev/null
cmake --build "$FUZZ_BUILD_DIR"

run_dir="$FUZZ_BUILD_DIR/run/request_head"
rm -rf "$run_dir"
mkdir -p "$run_dir/corpus" "$run_dir/artifacts"
cp fuzz/corpus/request_head/* "$run_dir/corpus/"

echo "fuzz: request_head_fuzzer for ${FUZZ_SECONDS}s (corpus and artifacts in $run_dir)"
status=0
args=(
  -max_total_time="$FUZZ_SECONDS"
  -timeout=5
  -rss_limit_mb=2048
  -max_len=4096
  -dict=fuzz/request_head.dict
  -artifact_prefix="$run_dir/artifacts/"
  -print_final_stats=1
)
if [ "$FUZZ_JOBS" -gt 1 ]; then
  # -fork runs the jobs under one supervisor that merges their findings into the corpus.
  args+=(-fork="$FUZZ_JOBS")
fi
"$FUZZ_BUILD_DIR/request_head_fuzzer" "${args[@]}" "$run_dir/corpus" \
  2>&1 | tee "$run_dir/fuzz.log" || status=$?
# libFuzzer exits non-zero on every finding; an artifact is proof of one even if not.
if compgen -G "$run_dir/artifacts/*" >/dev/null; then
  echo "fuzz: FAILED, reproducers:" >&2
  ls -l "$run_dir/artifacts" >&2
  echo "fuzz: replay with $FUZZ_BUILD_DIR/request_head_fuzzer <file>" >&2
  [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status)" >&2
  exit "$status"
fi
echo "fuzz: no findings in ${FUZZ_SECONDS}s"

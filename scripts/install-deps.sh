#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the benchmarks need.
# Idempotent and non-interactive: packages already present are skipped without apt-get.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build make pkg-config
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libhiredis-dev libyaml-cpp-dev libsqlite3-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev prometheus-cpp-dev
  libsimdjson-dev libjemalloc-dev libsodium-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # the decision service: Envoy's rate limit API over gRPC
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # fuzzing (libFuzzer: make fuzz-test)
  clang-14 libclang-rt-14-dev
  # integration tests and benchmarks
  python3 python3-pytest python3-websockets python3-aiohttp python3-yaml
  curl wrk nginx-light haproxy redis-server
  # independent gRPC clients of the decision service (Python stubs from our protos; Node)
  python3-grpcio python3-protobuf
)
# Node and npm: Debian's, unless the machine already has a Node that carries its own npm
# (NodeSource's nodejs conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged nginx, haproxy and redis services are not ours to run: tests and benchmarks start
# their own instances on loopback ports.
for svc in nginx haproxy redis-server; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done

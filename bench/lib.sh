# Shared by the benchmark scripts (sourced): process bookkeeping, ports, waiting for
# servers, the upstreams (mock or nginx), redis-server, and gateways with their admin helpers.
# The sourcing script sets ROOT, BIN, OUT, WORK, PY, SERVER_CPU and ADMIN_TOKEN first.

# The upstream start_upstream starts: nginx (`return 200`, the faster here; figures in
# http_bench.sh) or mock. Only http_bench.sh uses it; the other scripts call start_mock.
UPSTREAM=${UPSTREAM:-nginx}
UPSTREAM_PORT=  # set by start_upstream; start_gateway/start_nginx fall back to MOCK_PORT

PIDS=()
declare -A NAMED_PIDS=()
bench_cleanup() {
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

track() {  # track NAME PID: stopped by bench_cleanup, named by report_dead
  PIDS+=("$2")
  NAMED_PIDS[$1]=$2
}

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
  echo "bench: $url did not come up" >&2
  return 1
}

report_dead() {  # says which of our processes died (another user's pkill, a crash...)
  local name pid
  for name in "${!NAMED_PIDS[@]}"; do
    pid=${NAMED_PIDS[$name]}
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: $name (pid $pid) is not running; last lines of $OUT/$name.log:" >&2
      tail -5 "$OUT/$name.log" >&2 || true
    fi
  done
}

# start_mock: the mock upstream on SERVER_CPU; sets MOCK_PORT.
start_mock() {
  taskset -c "$SERVER_CPU" "$BIN" mock-upstream --listen 127.0.0.1:0 >"$OUT/mock.log" 2>&1 &
  track mock $!
  MOCK_PORT=
  for _ in $(seq 1 300); do
    MOCK_PORT=$(sed -n 's/^mock-upstream listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/mock.log")
    [[ -n $MOCK_PORT ]] && break
    sleep 0.05
  done
  [[ -n $MOCK_PORT ]] || { echo "bench: mock upstream did not start:" >&2; cat "$OUT/mock.log" >&2; exit 1; }
  wait_http "http://127.0.0.1:$MOCK_PORT/__mock/stats"
}

# run_nginx NAME HTTP_DIRECTIVES: an nginx on SERVER_CPU (one worker, no access log, its
# files under $WORK/NAME) with HTTP_DIRECTIVES inside its http { } block; tracked as NAME.
run_nginx() {
  local name=$1 ngx=$WORK/$1 user_line=""
  mkdir -p "$ngx/logs" "$ngx/tmp"
  if [[ $(id -u) -eq 0 ]]; then user_line="user $(id -un) $(id -gn);"; fi
  cat >"$ngx/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  keepalive_requests 1000000;
$2
}
EOF
  taskset -c "$SERVER_CPU" nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" \
    >"$OUT/$name.log" 2>&1 &
  track "$name" $!
}

# start_nginx_upstream: an nginx answering every request with a 200 and a small JSON body
# (no proxying). Sets NGINX_UPSTREAM_PORT.
start_nginx_upstream() {
  NGINX_UPSTREAM_PORT=$(free_port)
  run_nginx nginx-upstream "  keepalive_timeout 75s;
  default_type application/json;
  server {
    listen 127.0.0.1:$NGINX_UPSTREAM_PORT backlog=4096;
    location / { return 200 '{\"ok\":true}'; }
  }"
  wait_http "http://127.0.0.1:$NGINX_UPSTREAM_PORT/"
}

# start_upstream: the upstream every contender proxies to, chosen by UPSTREAM (mock|nginx).
# Sets UPSTREAM_PORT (used by start_gateway and start_nginx) and UPSTREAM_PROC (its
# track name). Scripts that call start_mock alone stay on the mock.
start_upstream() {
  case $UPSTREAM in
    mock)  start_mock; UPSTREAM_PORT=$MOCK_PORT; UPSTREAM_PROC=mock ;;
    nginx) start_nginx_upstream; UPSTREAM_PORT=$NGINX_UPSTREAM_PORT; UPSTREAM_PROC=nginx-upstream ;;
    *) echo "bench: UPSTREAM must be mock or nginx, not '$UPSTREAM'" >&2; exit 1 ;;
  esac
}

# start_gateway NAME STORE_YAML: a gateway on SERVER_CPU in front of the upstream,
# its `store:`/`accounts:` keys from STORE_YAML. Sets GW_PORT and GW_ADMIN_PORT.
start_gateway() {
  local name=$1 store_yaml=$2
  GW_PORT=$(free_port)
  GW_ADMIN_PORT=$(free_port)
  printf 'listen: 127.0.0.1:%s\nadmin:\n  listen: 127.0.0.1:%s\nupstream:\n  url: http://127.0.0.1:%s\n%s\n' \
    "$GW_PORT" "$GW_ADMIN_PORT" "${UPSTREAM_PORT:-$MOCK_PORT}" "$store_yaml" >"$WORK/$name.yaml"
  KALLGLOT_GATEWAY_ADMIN_TOKEN=$ADMIN_TOKEN taskset -c "$SERVER_CPU" \
    "$BIN" serve --config "$WORK/$name.yaml" >"$OUT/$name.log" 2>&1 &
  track "$name" $!
  wait_http "http://127.0.0.1:$GW_ADMIN_PORT/healthz"
  wait_http "http://127.0.0.1:$GW_PORT/"
}

# start_nginx: the nginx baseline on SERVER_CPU in front of the upstream (one worker,
# config in $WORK/nginx): `limit_req` keyed by the Authorization header, always admitting
# on `/` and 1 r/m on `/reject/`; upstream keep-alive 64; three static X-RateLimit-*
# headers. Sets NGINX_PORT.
start_nginx() {
  NGINX_PORT=$(free_port)
  run_nginx nginx "  limit_req_zone \$http_authorization zone=api:10m rate=1000000r/s;
  limit_req_zone \$http_authorization zone=tiny:10m rate=1r/m;
  limit_req_status 429;
  upstream kallglot {
    server 127.0.0.1:${UPSTREAM_PORT:-$MOCK_PORT};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      limit_req zone=api burst=1000000 nodelay;
      proxy_pass http://kallglot;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      add_header X-RateLimit-Limit 600 always;
      add_header X-RateLimit-Remaining 599 always;
      add_header X-RateLimit-Reset 1700000000 always;
    }
    location /reject/ {
      limit_req zone=tiny;
      proxy_pass http://kallglot;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      add_header X-RateLimit-Limit 1 always;
      add_header X-RateLimit-Remaining 0 always;
      add_header X-RateLimit-Reset 1700000000 always;
    }
  }"
  wait_http "http://127.0.0.1:$NGINX_PORT/__mock/stats"
}

# haproxy_head: the global and defaults sections of every HAProxy contender (one thread,
# HTTP keep-alive); the caller appends its frontend.
haproxy_head() {
  cat <<'EOF'
global
  maxconn 8192
  nbthread 1
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
EOF
}

# start_redis: a redis-server on SERVER_CPU without persistence, files in $WORK, log in
# $OUT/redis.log. Sets REDIS_PORT.
start_redis() {
  REDIS_PORT=$(free_port)
  taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$WORK" --logfile "$OUT/redis.log" &
  track redis $!
  for _ in $(seq 1 300); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench: redis-server did not come up:" >&2; tail -5 "$OUT/redis.log" >&2; exit 1
}

admin() {  # admin ADMIN_PORT METHOD PATH [JSON]
  curl -sS --fail-with-body --max-time 5 -X "$2" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' ${4:+--data "$4"} "http://127.0.0.1:$1$3"
}

new_key() {  # new_key ADMIN_PORT ACCOUNT_ID ACCOUNT_JSON -> prints the live key
  admin "$1" PUT "/admin/v1/accounts/$2" "$3" >/dev/null
  admin "$1" POST "/admin/v1/accounts/$2/keys" '{"environment":"live"}' |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# An account whose limits always admit, and one limited to one request a minute.
BIG=1000000000
ADMIT_ACCOUNT="{\"plan\":\"pro\",\"overrides\":{\"api_requests_per_minute\":$BIG,
  \"groups\":{\"sessions_write\":$BIG,\"sessions_read\":$BIG,\"recordings\":$BIG,\"analysis\":$BIG,\"webhooks\":$BIG}}}"
REJECT_ACCOUNT='{"plan":"free","overrides":{"api_requests_per_minute":1}}'

# rss_kib PID: VmRSS of the process and its children (nginx's workers), in KiB.
rss_kib() {
  local total=0 pid rss
  for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + ${rss:-0}))
  done
  echo "$total"
}

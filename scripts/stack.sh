#!/usr/bin/env bash
# Starts the local stack on loopback: Redis, Dapr placement and scheduler,
# daprd (with components/) and the service. Every process's log lines are
# streamed marked with its name. Ctrl-C or SIGTERM stops everything; so does
# the exit of the service or daprd, or of STACK_PARENT_PID when set (a test).
#
# Used by `make run`, `make demo` and the end-to-end tests, which set other
# ports. Each setting below is an environment variable with its default.
#
# The stack starts empty: Redis keeps nothing on disk and the scheduler's
# data directory is wiped, so a run never sees jobs of an earlier one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

: "${APP_ID:=order-outbox}"
: "${APP_PORT:=30080}"
# Not 6379: that is where the Redis of `dapr init` and the one apt starts
# as a system service (on hosts with systemd) usually listen.
: "${REDIS_PORT:=6380}"
# A separate Redis for the order store when different (the failure test
# stops it while the workflow store keeps working).
: "${ORDER_STORE_REDIS_PORT:=$REDIS_PORT}"
: "${DAPR_HTTP_PORT:=3500}"
: "${DAPR_GRPC_PORT:=50001}"
: "${DAPR_INTERNAL_GRPC_PORT:=50002}"
: "${PLACEMENT_PORT:=50005}"
: "${PLACEMENT_HEALTH_PORT:=58080}"
: "${PLACEMENT_RAFT_PORT:=8201}"
: "${SCHEDULER_PORT:=50006}"
: "${SCHEDULER_HEALTH_PORT:=58081}"
: "${SCHEDULER_ETCD_CLIENT_PORT:=52379}"
: "${SCHEDULER_ETCD_PEER_PORT:=52380}"
: "${DAPR_LOG_LEVEL:=info}"
: "${RUN_DIR:=$root/.run/local}"
: "${APP_BIN:=$root/target/debug/order-outbox}"
: "${STACK_READY_TIMEOUT:=120}"
: "${STACK_PARENT_PID:=}"
# Seconds each process gets to stop on SIGTERM before SIGKILL (the
# service's own drain takes at most 24 s, usually well under one).
: "${STOP_TIMEOUT:=30}"
# 1: remove RUN_DIR when the stack stops (the tests' stacks). Otherwise
# only the scheduler's data goes (it is wiped at the next start anyway).
: "${REMOVE_RUN_DIR_ON_EXIT:=0}"

# Logging must never stop the script: when a test that reads this output
# has gone, writes fail (EPIPE) instead of killing the script before it
# has stopped what it started.
trap '' PIPE
log() { printf '%-10s | %s\n' stack "$*" 2>/dev/null || true; }
die() { log "error: $*"; exit 1; }

command -v redis-server >/dev/null || die "redis-server not found; run scripts/setup.sh"
[ -x "$APP_BIN" ] || die "$APP_BIN not built; run cargo build"
dapr_bin=$("$root/runtime/build.sh")

# A port already taken (often by a stack left over from an earlier run)
# would make the new process exit while the old one answers the health
# checks in its place: refuse to start, naming the variable to change.
port_vars=(APP_PORT REDIS_PORT ORDER_STORE_REDIS_PORT DAPR_HTTP_PORT DAPR_GRPC_PORT
  DAPR_INTERNAL_GRPC_PORT PLACEMENT_PORT PLACEMENT_HEALTH_PORT PLACEMENT_RAFT_PORT
  SCHEDULER_PORT SCHEDULER_HEALTH_PORT SCHEDULER_ETCD_CLIENT_PORT SCHEDULER_ETCD_PEER_PORT)
for var in "${port_vars[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${!var}") 2>/dev/null; then
    die "port ${!var} ($var) is taken by another process (an earlier stack still running?); stop it, or run with $var set to a free port"
  fi
done

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/pids"

pids=()
names=()

# start <name> <command...>: runs it in the background, its output marked.
#
# Each process gets a session of its own (setsid), so a Ctrl-C in the
# terminal reaches only this script, which then stops the processes in
# order: the service drains while daprd still serves it. The marking sed
# ignores INT, TERM and HUP and ends when its process closes its output, so the
# last lines of a shutdown are not lost.
start() {
  local name=$1
  shift
  local mark
  mark=$(printf '%-10s | ' "$name")
  # sed -u: unbuffered, so lines appear as they are written (mawk would
  # hold them back in blocks).
  setsid "$@" > >(trap '' INT TERM HUP; exec sed -u "s/^/$mark/" 2>/dev/null) 2>&1 &
  local pid=$!
  pids+=("$pid")
  names+=("$name")
  echo "$pid" >"$RUN_DIR/pids/$name.pid"
}

stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # A second Ctrl-C (or SIGTERM) while stopping must not cut the stop
  # short, which would leave processes running; the stop is bounded anyway.
  # (A handler here would not do: bash exits after running it inside
  # this EXIT trap.)
  trap '' INT TERM HUP
  log "stopping (up to ${STOP_TIMEOUT}s a process; Ctrl-C again changes nothing)"
  # One at a time, in reverse start order: the service first (it drains
  # its requests and workflow work items through daprd), Redis last. Each
  # gets STOP_TIMEOUT seconds after SIGTERM, then SIGKILL.
  local i deadline
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || continue
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "${pids[$i]}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "${pids[$i]}" 2>/dev/null || true
  done
  if [ "$REMOVE_RUN_DIR_ON_EXIT" = 1 ]; then
    rm -rf "$RUN_DIR"
  else
    rm -rf "$RUN_DIR/scheduler"
  fi
  log "stopped everything"
}
trap stop_all EXIT
# A requested stop (Ctrl-C, SIGTERM, a closed terminal) is a normal end,
# not a failure.
trap 'exit 0' INT TERM HUP

# all_alive: fails the start-up, naming the process, when one of those
# started has already exited (a port taken, a bad flag, a crash), instead
# of waiting for the deadline.
all_alive() {
  local i status
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      status=0
      wait "${pids[$i]}" 2>/dev/null || status=$?
      die "${names[$i]} exited during start-up (status $status); its last lines are above"
    fi
  done
}

# wait_until <what> <command...>: polls the command until it succeeds, or
# fails the start-up at the deadline or when a started process has exited.
deadline=$((SECONDS + STACK_READY_TIMEOUT))
wait_until() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    all_alive
    [ $SECONDS -lt $deadline ] || die "$what not ready within ${STACK_READY_TIMEOUT}s"
    sleep 0.2
  done
  log "$what ready"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

start_redis() { # start_redis <name> <port>
  mkdir -p "$RUN_DIR/$1"
  start "$1" redis-server --bind 127.0.0.1 --port "$2" --save '' --appendonly no \
    --dir "$RUN_DIR/$1" --daemonize no
}

start_redis redis "$REDIS_PORT"
if [ "$ORDER_STORE_REDIS_PORT" != "$REDIS_PORT" ]; then
  start_redis redis-orders "$ORDER_STORE_REDIS_PORT"
fi

start placement "$dapr_bin/placement" \
  --listen-address 127.0.0.1 --port "$PLACEMENT_PORT" \
  --healthz-listen-address 127.0.0.1 --healthz-port "$PLACEMENT_HEALTH_PORT" \
  --id dapr-placement-0 --initial-cluster "dapr-placement-0=127.0.0.1:$PLACEMENT_RAFT_PORT" \
  --enable-metrics=false --log-level "$DAPR_LOG_LEVEL"

start scheduler "$dapr_bin/scheduler" \
  --listen-address 127.0.0.1 --port "$SCHEDULER_PORT" \
  --healthz-listen-address 127.0.0.1 --healthz-port "$SCHEDULER_HEALTH_PORT" \
  --enable-metrics=false --log-level "$DAPR_LOG_LEVEL" \
  --etcd-data-dir "$RUN_DIR/scheduler" \
  --etcd-client-listen-address 127.0.0.1 --etcd-client-port "$SCHEDULER_ETCD_CLIENT_PORT" \
  --id dapr-scheduler-server-0 \
  --etcd-initial-cluster "dapr-scheduler-server-0=http://127.0.0.1:$SCHEDULER_ETCD_PEER_PORT"

wait_until "redis :$REDIS_PORT" redis_up "$REDIS_PORT"
if [ "$ORDER_STORE_REDIS_PORT" != "$REDIS_PORT" ]; then
  wait_until "order store redis :$ORDER_STORE_REDIS_PORT" redis_up "$ORDER_STORE_REDIS_PORT"
fi
wait_until placement http_ok "http://127.0.0.1:$PLACEMENT_HEALTH_PORT/healthz"
wait_until scheduler http_ok "http://127.0.0.1:$SCHEDULER_HEALTH_PORT/healthz"

# Same flags as `dapr run`, on loopback, without mDNS name resolution.
DAPR_HOST_IP=127.0.0.1 \
  ORDER_STORE_REDIS_HOST="127.0.0.1:$ORDER_STORE_REDIS_PORT" \
  WORKFLOW_STORE_REDIS_HOST="127.0.0.1:$REDIS_PORT" \
  PUBSUB_REDIS_HOST="127.0.0.1:$REDIS_PORT" \
  start daprd "$dapr_bin/daprd" \
  --app-id "$APP_ID" --app-port "$APP_PORT" --app-protocol http \
  --app-channel-address 127.0.0.1 --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 \
  --dapr-http-port "$DAPR_HTTP_PORT" --dapr-grpc-port "$DAPR_GRPC_PORT" \
  --dapr-internal-grpc-port "$DAPR_INTERNAL_GRPC_PORT" \
  --placement-host-address "127.0.0.1:$PLACEMENT_PORT" \
  --scheduler-host-address "127.0.0.1:$SCHEDULER_PORT" \
  --resources-path "$root/components" --config "$root/components/configuration.yaml" \
  --enable-metrics=false --log-level "$DAPR_LOG_LEVEL" --max-body-size 4Mi

APP_HOST=127.0.0.1 APP_PORT="$APP_PORT" APP_ID="$APP_ID" \
  DAPR_GRPC_PORT="$DAPR_GRPC_PORT" DAPR_HTTP_PORT="$DAPR_HTTP_PORT" \
  start app "$APP_BIN"

wait_until "daprd" http_ok "http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/healthz/outbound"
wait_until "order-outbox" http_ok "http://127.0.0.1:$APP_PORT/readyz"

cat <<EOF
$(log "all up")
$(log "API      http://localhost:$APP_PORT/process-order-with-outbox")
$(log "Swagger  http://localhost:$APP_PORT/docs/")
$(log "try:     curl -i -X POST http://localhost:$APP_PORT/process-order-with-outbox -H 'Content-Type: application/json' -d '{\"orderId\": \"order001\", \"item\": \"DaprBook\", \"quantity\": 1}'")
$(log "status:  curl http://localhost:$APP_PORT/workflows/order-order001")
$(log "stored:  redis-cli -p $ORDER_STORE_REDIS_PORT HGET '$APP_ID||order001' data")
$(log "Ctrl-C stops everything")
EOF
echo "$APP_PORT" >"$RUN_DIR/ready"

# Watch: the service and daprd are the stack; when one exits, stop all.
app_pid=$(cat "$RUN_DIR/pids/app.pid")
daprd_pid=$(cat "$RUN_DIR/pids/daprd.pid")
while kill -0 "$app_pid" 2>/dev/null && kill -0 "$daprd_pid" 2>/dev/null; do
  if [ -n "$STACK_PARENT_PID" ] && ! kill -0 "$STACK_PARENT_PID" 2>/dev/null; then
    exit 0
  fi
  sleep 0.5
done
die "the service or daprd exited"

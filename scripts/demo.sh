#!/usr/bin/env bash
# `make demo`: starts the stack on free ports, posts one sample order, waits
# (with a deadline) until the subscriber has logged its event, then prints
# the workflow status, the stored order and the received event, and stops
# everything. Exits 0, or non-zero with the reason.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/order-outbox-demo.XXXXXX")
log="$work/stack.log"
stack_pid=""
keep=0

fail() {
  echo "demo failed: $*" >&2
  keep=1
  echo "--- last lines of the stack's log ($log) ---" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

cleanup() {
  if [ -n "$stack_pid" ]; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  # Keep the logs and data of a failed demo for a look; drop them otherwise.
  if [ "$keep" = 1 ]; then
    echo "logs and data kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Free ports for every part, so the demo never meets a running `make run`.
# All are picked at once, each socket held until the last is bound, so no
# two parts get the same port.
port_vars=(APP_PORT REDIS_PORT DAPR_HTTP_PORT DAPR_GRPC_PORT DAPR_INTERNAL_GRPC_PORT
  PLACEMENT_PORT PLACEMENT_HEALTH_PORT PLACEMENT_RAFT_PORT SCHEDULER_PORT
  SCHEDULER_HEALTH_PORT SCHEDULER_ETCD_CLIENT_PORT SCHEDULER_ETCD_PEER_PORT)
mapfile -t ports < <(python3 - "${#port_vars[@]}" <<'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
for s in held:
    print(s.getsockname()[1])
PY
)
[ "${#ports[@]}" = "${#port_vars[@]}" ] || { echo "demo: could not pick free ports" >&2; exit 1; }
for i in "${!port_vars[@]}"; do
  printf -v "${port_vars[$i]}" '%s' "${ports[$i]}"
  export "${port_vars[$i]?}"
done
# Debug for the subscriber only: it then logs each event's data as well.
export RUN_DIR="$work/stack" STACK_PARENT_PID=$$ LOG_FORMAT=text \
  RUST_LOG="info,order_outbox::api::events=debug"

echo "starting the stack (logs: $log, kept if the demo fails)"
"$root/scripts/stack.sh" >"$log" 2>&1 &
stack_pid=$!

# wait_for <seconds> <what> <command...>
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    kill -0 "$stack_pid" 2>/dev/null || fail "the stack exited while waiting for $what"
    [ $SECONDS -lt $deadline ] || fail "$what not seen within $1 seconds"
    sleep 0.3
  done
}

wait_for 180 "the stack" test -f "$RUN_DIR/ready"

api="http://127.0.0.1:$APP_PORT"
order_id="demo-$(date +%s)"
order="{\"orderId\": \"$order_id\", \"item\": \"DaprBook\", \"quantity\": 1}"

echo
echo "POST /process-order-with-outbox $order"
curl -sS --fail-with-body -X POST "$api/process-order-with-outbox" \
  -H 'Content-Type: application/json' -d "$order" || fail "the order was not accepted"
echo

received() { grep -a "order event received" "$log" | grep -q "order_id=$order_id"; }
wait_for 60 "the subscriber's line for $order_id" received

echo
echo "GET /workflows/order-$order_id"
status=$(curl -sS "$api/workflows/order-$order_id")
echo "$status"
echo "$status" | grep -q '"runtimeStatus":"COMPLETED"' || fail "the workflow did not complete"

echo
echo "stored: redis-cli -p $REDIS_PORT HGET 'order-outbox||$order_id' data"
stored=$(redis-cli -p "$REDIS_PORT" HGET "order-outbox||$order_id" data)
echo "$stored"
[ -n "$stored" ] || fail "nothing stored under order-outbox||$order_id"

echo
echo "received by the subscriber (attributes, then data):"
grep -a -E "order event (received|data)" "$log" | grep "order_id=$order_id"

echo
echo "demo passed; stopping the stack"

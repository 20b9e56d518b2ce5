#!/usr/bin/env bash
# The broker's CPU per gRPC exhook call, measured two ways (see docs/performance.md, "Hook
# drivers"):
#   1. call_load: message.publish through ExhookManager and the hook registry, no MQTT
#      (crates/exhook/examples/call_load.rs), CPU of that process only;
#   2. p2p: hookmq with the server as its [[exhook.servers]] under hookmq-bench p2p-50-50 QoS 1
#      (--addr/--pid mode), broker CPU per message.
# The server is the Rust no-op server (crates/exhook/examples/noop_server.rs; it does not limit
# calls/s) or the Python grpcio one (bench/exhook_noop_server.py). The server and the generator
# run on core 0, the broker (or call_load) on core 1.
#
#   bench/exhook_grpc_perf.sh [rust|python] [rounds]
#
# Binaries come from $CARGO_TARGET_DIR/release (or BIN_DIR); build them with
#   cargo build --release -p hookmq -p hookmq-bench && cargo build --release -p hookmq-exhook --examples
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-rust}
ROUNDS=${2:-5}
BIN_DIR=${BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}
PORT_GRPC=${PORT_GRPC:-19100}
PORT_MQTT=${PORT_MQTT:-19883}
DURATION=${DURATION:-3}
WORK=$(mktemp -d /tmp/exhook-grpc-perf.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

case "$SERVER" in
  rust) taskset -c 0 "$BIN_DIR/examples/noop_server" "127.0.0.1:$PORT_GRPC" message.publish \
          >"$WORK/server.log" 2>&1 & ;;
  python) taskset -c 0 "${PYTHON:-.venv/bin/python}" bench/exhook_noop_server.py --port "$PORT_GRPC" \
          --hooks message.publish >"$WORK/server.log" 2>&1 & ;;
  *) echo "server: rust or python" >&2; exit 2 ;;
esac
pids+=($!)
for _ in $(seq 100); do
  grep -q "on 127.0.0.1" "$WORK/server.log" 2>/dev/null && break
  sleep 0.1
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== call_load ($SERVER server), $ROUNDS rounds of ${DURATION}s"
for _ in $(seq "$ROUNDS"); do
  taskset -c 1 "$BIN_DIR/examples/call_load" --url "http://127.0.0.1:$PORT_GRPC" \
    --seconds "$DURATION" 2>&1 | tail -1
done

cat >"$WORK/hookmq.toml" <<EOF
[listeners.tcp.default]
bind = "127.0.0.1:$PORT_MQTT"

[mqtt]
max_inflight = 32
max_queue_len = 1000

[sys]
enable = false

[api]
enable = false

[log]
level = "warn"

[[exhook.servers]]
name = "bench"
url = "http://127.0.0.1:$PORT_GRPC"
EOF
taskset -c 1 "$BIN_DIR/hookmq" start --config "$WORK/hookmq.toml" >"$WORK/hookmq.log" 2>&1 &
BROKER=$!
pids+=("$BROKER")
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT_MQTT") 2>/dev/null && break
  sleep 0.1
done
echo "== hookmq-bench p2p-50-50 QoS 1 against hookmq with the $SERVER server, $ROUNDS rounds"
taskset -c 0 "$BIN_DIR/hookmq-bench" p2p --addr "127.0.0.1:$PORT_MQTT" --pid "$BROKER" \
  --publishers 50 --qos 1 --payload 128 --rounds "$ROUNDS" --duration "$DURATION" --warmup 1 \
  --out "$WORK/runs.jsonl" 2>&1 | grep -E '^\[|^\| hookmq'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

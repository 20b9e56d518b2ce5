#!/usr/bin/env bash
# A hookmq cluster on this machine: three clustered NATS servers with JetStream and three hookmq
# nodes joined to them, all on 127.0.0.1 with free ports. Prints how to connect, then runs until
# Ctrl-C (or SIGTERM), which stops every process it started and removes its work directory.
#
# Usage: scripts/cluster-demo.sh            (uses target/debug/hookmq, building it if missing)
#        HOOKMQ_BIN=/path/to/hookmq scripts/cluster-demo.sh
# Installs Debian's nats-server with apt-get when it is not on PATH (root or sudo needed).
# Design and guarantees: docs/cluster.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${HOOKMQ_BIN:-$root/target/debug/hookmq}"

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
    echo "installing nats-server (Debian package)..."
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq nats-server >/dev/null
fi
nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"

if [ ! -x "$bin" ]; then
    echo "building hookmq..."
    (cd "$root" && cargo build -p hookmq)
fi

work="$(mktemp -d -t hookmq-cluster-demo.XXXXXX)"
pids=()
stop() {
    local rc=$?
    trap - INT TERM EXIT
    echo
    echo "stopping..."
    # hookmq nodes first (they give up their leases while NATS is still there), then NATS.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
        wait "${pids[$i]}" 2>/dev/null || true
    done
    rm -rf "$work"
    echo "stopped; removed $work"
    exit "$rc"
}
trap stop INT TERM EXIT

# Free loopback ports, asked of the OS (held only for the moment it takes to read them).
free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}
read -r -a ports <<<"$(free_ports 15)"
nats_client=("${ports[@]:0:3}")
nats_route=("${ports[@]:3:3}")
mqtt=("${ports[@]:6:3}")
api=("${ports[@]:9:3}")

wait_for_line() { # file pattern seconds
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "$1" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "timed out waiting for '$2' in $1:" >&2
            tail -n 20 "$1" >&2
            exit 1
        fi
        sleep 0.2
    done
}

routes=""
for p in "${nats_route[@]}"; do routes+="nats-route://127.0.0.1:$p, "; done
for i in 0 1 2; do
    dir="$work/nats$i"
    mkdir -p "$dir"
    cat >"$dir/nats.conf" <<EOF
server_name: "nats$i"
listen: 127.0.0.1:${nats_client[$i]}
jetstream { store_dir: "$dir/js", max_memory_store: 64MB, max_file_store: 256MB }
cluster { name: "demo", listen: 127.0.0.1:${nats_route[$i]}, routes: [${routes%, }] }
EOF
    "$nats_bin" -c "$dir/nats.conf" >"$dir/log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do wait_for_line "$work/nats$i/log" "Server is ready" 30; done

urls=""
for p in "${nats_client[@]}"; do urls+="\"nats://127.0.0.1:$p\", "; done
for i in 0 1 2; do
    dir="$work/hookmq$i"
    mkdir -p "$dir"
    cat >"$dir/hookmq.toml" <<EOF
[node]
name = "n$i@127.0.0.1"
[listeners.tcp.default]
bind = "127.0.0.1:${mqtt[$i]}"
[api]
bind = "127.0.0.1:${api[$i]}"
[cluster]
enable = true
name = "demo"
nats = [${urls%, }]
replicas = 3
EOF
    "$bin" start --config "$dir/hookmq.toml" >"$dir/log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do wait_for_line "$work/hookmq$i/log" "hookmq started" 60; done

cat <<EOF

hookmq cluster "demo" is up: 3 NATS servers (JetStream, clustered) and 3 hookmq nodes.

  node          MQTT                  management API
  n0@127.0.0.1  127.0.0.1:${mqtt[0]}  http://127.0.0.1:${api[0]}
  n1@127.0.0.1  127.0.0.1:${mqtt[1]}  http://127.0.0.1:${api[1]}
  n2@127.0.0.1  127.0.0.1:${mqtt[2]}  http://127.0.0.1:${api[2]}

Try it:
  mosquitto_sub -h 127.0.0.1 -p ${mqtt[2]} -t 'demo/#' -v -q 1 &
  mosquitto_pub -h 127.0.0.1 -p ${mqtt[0]} -t demo/hello -m 'from n0' -q 1
  $bin ctl --url http://127.0.0.1:${api[1]} cluster
  $bin ctl --url http://127.0.0.1:${api[1]} clients list --cluster

Logs and data: $work (removed on exit). Ctrl-C stops everything.
EOF

# Runs until interrupted, or until one of the processes exits on its own.
wait -n "${pids[@]}"
echo "a process of the demo exited on its own; see the logs above" >&2

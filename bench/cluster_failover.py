#!/usr/bin/env python3
"""Cluster failover times (issue 14's numbers), measured with real processes on loopback.

Starts one nats-server (JetStream) and three hookmq nodes (`HOOKMQ_BIN`, the release build by
default) and measures, with paho-mqtt clients:

- **takeover**: a client with a persistent session on node 1 connects again with the same client
  id to node 2 (cross-node) or to node 1 (local, the baseline); the time from CONNECT to CONNACK,
  p50 / p99 / max over `--takeovers` tries, and how many resumed their session;
- **node loss**: `--clients` persistent clients on node 1, `kill -9` of node 1, every client
  reconnects at once to node 2 or 3 (retrying on refusal or a closed socket); the time from the
  kill until each is served again (CONNACK accepted), p50 / p99 / max, and how many found their
  session.

Everything is bounded (each wait has a timeout) and every process is stopped at the end.

    .venv/bin/python bench/cluster_failover.py --takeovers 200 --clients 200
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("HOOKMQ_BIN", str(ROOT / "target" / "release" / "hookmq"))
sys.path.insert(0, str(ROOT / "tests"))

from cluster_support import NatsServer, RawClient, start_nodes  # noqa: E402
from harness import BrokerProcess, Client  # noqa: E402


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def summary(name, times_ms, extra=""):
    return (
        f"| {name} | {len(times_ms)} | {statistics.median(times_ms):.1f} | {pct(times_ms, 99):.1f} "
        f"| {max(times_ms):.1f} | {extra} |"
    )


def takeovers(first, second, n, tag):
    """Connect on `first`, then the same client id on `second`; CONNECT→CONNACK times (ms).

    Bare sockets (`RawClient`), not paho: the old client never reads again, as a client that
    lost its network would not, and the loop pays no client-side cost. (With paho, stopping a
    client's network thread takes up to a second, its select timeout, and a taken-over paho
    client reconnects on its own after a second and takes the session back; 200 sequential
    takeovers then took minutes, which looked like a broker stall.)"""
    times, resumed, olds = [], 0, []
    for i in range(n):
        cid = f"{tag}-{os.getpid()}-{i}"
        a = RawClient(first, cid)
        a.connect()
        a.subscribe(f"failover/{cid}", qos=1)
        olds.append(a)
        b = RawClient(second, cid, timeout=30)
        t0 = time.perf_counter()
        present, rc = b.connect()
        times.append(1000 * (time.perf_counter() - t0))
        assert rc == 0, f"takeover refused: {rc}"
        resumed += bool(present)
        b.close()
    for a in olds:
        a.close()
    return times, resumed


def node_loss(nodes, n, lease_s):
    """`n` persistent clients on nodes[0]; kill -9 it; times (ms) until each is served again."""
    clients = []
    for i in range(n):
        c = Client(nodes[0], client_id=f"loss-{os.getpid()}-{i}", clean=False)
        c.connect()
        c.subscribe(f"failover/loss/{i}", qos=1)
        clients.append(c)
    survivors = nodes[1:]
    served = [None] * n
    present = [False] * n
    deadline_s = 10 * lease_s + 30

    def reconnect(i, t0):
        old = clients[i]
        old.c.loop_stop()
        while time.monotonic() - t0 < deadline_s:
            target = survivors[i % len(survivors)]
            c = Client(target, client_id=old.client_id, clean=False)
            try:
                sp, rc, _ = c.connect(timeout=15)
            except Exception:  # refused socket, no CONNACK in time
                c.c.loop_stop()
                time.sleep(0.05)
                continue
            if rc == 0:
                served[i] = 1000 * (time.monotonic() - t0)
                present[i] = bool(sp)
                c.disconnect()
                return
            c.c.loop_stop()
            time.sleep(0.05)

    nodes[0].proc.kill()
    t0 = time.monotonic()
    threads = [threading.Thread(target=reconnect, args=(i, t0), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(deadline_s + 20)
    times = [t for t in served if t is not None]
    return times, sum(present), n - len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--takeovers", type=int, default=200)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--lease", default="3s", help="cluster.lease of the nodes")
    args = ap.parse_args()
    lease_s = float(args.lease.rstrip("s"))
    work = pathlib.Path(tempfile.mkdtemp(prefix="hookmq-failover-"))
    nats = NatsServer(work / "nats").start()
    brokers = []

    def factory(cfg):
        b = BrokerProcess(work / f"node{len(brokers)}", cfg + '\n[log]\nlevel = "info"\n')
        brokers.append(b)
        return b.start()

    try:
        nodes = start_nodes(factory, [nats.url], 3, lease=args.lease)
        print(f"hookmq {os.environ['HOOKMQ_BIN']}, 3 nodes on one nats-server, lease {args.lease}")
        print()
        print("| measurement | count | p50 ms | p99 ms | max ms | notes |")
        print("|---|---:|---:|---:|---:|---|")
        t, r = takeovers(nodes[0], nodes[0], args.takeovers, "local")
        print(summary("takeover, same node (baseline)", t, f"{r} sessions resumed"))
        t, r = takeovers(nodes[0], nodes[1], args.takeovers, "cross")
        print(summary("takeover, across nodes", t, f"{r} sessions resumed"))
        t, r, failed = node_loss(nodes, args.clients, lease_s)
        print(summary(f"served again after `kill -9` of their node ({args.clients} clients)", t,
                      f"{r} sessions resumed, {failed} not served"))
    finally:
        for b in brokers:
            b.stop()
        nats.stop()


if __name__ == "__main__":
    main()

"""Support for the port-driver tests (no tests here): brokers with Python or Java drivers,
the management API and `hookmq ctl`, javac, and bounded waits on driver state.

The broker runs the test venv's python (first on PATH), which has the real
`emqx-extension-sdk==0.2` from tests/requirements.txt. hookmq finds its runtimes next to its
executable in a build tree; HOOKMQ_RUNTIMES is set only when the binary lives elsewhere
(HOOKMQ_BIN pointing outside the repository).
"""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from harness import BIN, ROOT, Client

# The seed sits beside the repository (../shared/seed); HOOKMQ_SEED points elsewhere (a worktree).
SEED = pathlib.Path(os.environ.get("HOOKMQ_SEED") or ROOT.parent / "shared" / "seed")
RUNTIMES = ROOT / "runtimes"
JAVA_BUILD = RUNTIMES / "java" / "build"
VENV_BIN = pathlib.Path(sys.executable).parent
WAIT = 30.0


def broker_env(extra=None):
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not pathlib.Path(BIN).resolve().is_relative_to(ROOT):
        env["HOOKMQ_RUNTIMES"] = str(RUNTIMES)
    env.update(extra or {})
    return env


def driver_toml(name="python3", **settings):
    """A `[exhook.drivers.<name>]` table; values are written as TOML literals."""
    lines = [f"[exhook.drivers.{name}]"]
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


API = '[api]\nbind = "127.0.0.1:0"\n'


def start(broker_factory, workdir, config="", files=None, env=None):
    """Writes `files` ({relative path: text}) under `workdir` and starts a broker there with
    the management API on a free port."""
    workdir = pathlib.Path(workdir)
    for rel, text in (files or {}).items():
        path = workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return broker_factory(API + config, env=broker_env(env), workdir=workdir)


def url(b):
    host, port = b.listeners["api"]
    return f"http://{host}:{port}"


def ctl(b, *args):
    return subprocess.run([BIN, "ctl", "--url", url(b), *args], capture_output=True, text=True, timeout=120)


def api(b, method, path):
    req = urllib.request.Request(url(b) + path, method=method)
    data = b"null" if method == "POST" else None
    if data:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=120) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def metrics_text(b):
    with urllib.request.urlopen(url(b) + "/metrics", timeout=30) as r:
        return r.read().decode()


def driver(b, name="python3"):
    status, body = api(b, "GET", f"/api/v1/exhook/drivers/{name}/stats")
    assert status == 200, body
    return body


def wait_driver(b, name="python3", restarts=0, timeout=WAIT):
    """Waits until every worker of the driver runs and their restarts add up to `restarts` or
    more; returns the driver's stats."""
    deadline = time.monotonic() + timeout
    while True:
        d = driver(b, name)
        workers = d["workers"]
        if (d["state"] == "running" and workers and all(w["state"] == "running" for w in workers)
                and d["restarts"] >= restarts):
            return d
        if time.monotonic() > deadline:
            raise AssertionError(f"driver {name} not running with {restarts} restarts: {d}")
        time.sleep(0.05)


def metric(b, name, hook):
    """The registry's counters of driver `name` at `hook` (e.g. client.authorize)."""
    for m in driver(b, name)["metrics"]:
        if m["hook"] == hook:
            return m
    raise AssertionError(f"no metrics for {hook}")


def kill9(pid):
    os.kill(pid, 9)


def ensure_java_runtime():
    """Builds runtimes/java when its jars are missing (scripts/test.sh builds them first)."""
    if not (JAVA_BUILD / "erlport.jar").exists() or not (JAVA_BUILD / "hookmq-sdk.jar").exists():
        subprocess.run([str(RUNTIMES / "java" / "build.sh")], check=True, timeout=600)


def javac(sources, out_dir, extra_classpath=()):
    """Compiles Java `sources` into `out_dir` against erlport.jar and hookmq-sdk.jar."""
    ensure_java_runtime()
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cp = os.pathsep.join([str(JAVA_BUILD / "erlport.jar"), str(JAVA_BUILD / "hookmq-sdk.jar"), *map(str, extra_classpath)])
    done = subprocess.run(["javac", "--release", "17", "-cp", cp, "-d", str(out_dir), *map(str, sources)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out_dir


class Events:
    """The events a recording handler appends to a JSON-lines file, one {"hook", "args"} each."""

    def __init__(self, path):
        self.path = path

    def all(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.endswith("}")]

    def wait(self, hook, pred=lambda args: True, timeout=15.0):
        """The args of the first `hook` event matching `pred`, polling the file until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.all():
                if e["hook"] == hook and pred(e["args"]):
                    return e["args"]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {hook} event matching; got {[e['hook'] for e in self.all()]}")
            time.sleep(0.05)


def cid(clientid):
    """An Events.wait predicate: the event's first argument is about `clientid`."""
    return lambda args: args[0].get("clientid") == clientid


def kill9_under_qos1_load(b, pid, prefix, total=600):
    """Publishes `total` QoS 1 messages from one client to a subscriber at a steady pace, sends
    SIGKILL to the worker `pid` a third of the way through, and asserts that every publish was
    acknowledged and every message delivered."""
    sub = Client(b, client_id=f"{prefix}-sub")
    sub.connect()
    sub.subscribe("load/#", 1)
    pub = Client(b, client_id=f"{prefix}-pub")
    pub.connect()
    third = threading.Event()
    infos = []

    def publish():
        for i in range(total):
            infos.append(pub.publish("load/t", str(i).encode(), qos=1, wait=False))
            if i == total // 3:
                third.set()
            if i % 20 == 0:
                infos[-1].wait_for_publish(15)  # keep a steady pace rather than one burst

    t = threading.Thread(target=publish)
    t.start()
    assert third.wait(30)
    kill9(pid)
    t.join(60)
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()
    got = set()
    while len(got) < total:
        got.add(int(sub.expect(timeout=30).payload))
    assert got == set(range(total))
    sub.disconnect()
    pub.disconnect()


def recorded(path):
    """The `who payload` lines an observer test hook wrote to `path`, as (who, payload) pairs."""
    if not path.exists():
        return []
    return [tuple(line.split(" ")) for line in path.read_text().splitlines()]


def wait_for(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def observer_sees_each_client_in_order(b, log, prefix, per=600):
    """Three clients publish `per` QoS 0 messages each, then "end"; the observer that writes
    `log` must have seen every one of each client's messages, in order."""
    pubs = [Client(b, client_id=f"{prefix}-{i}") for i in range(3)]
    for p in pubs:
        p.connect()
    for n in range(per):
        for p in pubs:
            p.publish("load/x", str(n).encode(), qos=0, wait=False)
    for p in pubs:
        p.publish("load/end", b"end", qos=1)
    wait_for(lambda: len(recorded(log)) >= 3 * (per + 1))
    seen = recorded(log)
    for p in pubs:
        mine = [payload for who, payload in seen if who == p.client_id]
        assert mine == [str(n) for n in range(per)] + ["end"], p.client_id

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
import time
import urllib.error
import urllib.request

from harness import BIN, ROOT

SEED = ROOT.parent / "shared" / "seed"
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

"""Support for the extension-protocol tests (no tests here): extension processes built with the
Python SDK (sdk/python/examples) or the Rust SDK (sdk/rust/examples, built by `cargo build
--workspace --examples`), each printing `hookmq extension listening on port N` when it serves,
and TOML for `[[ext.servers]]`."""

import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from harness import BIN, ROOT, TIMEOUT

PY_EXAMPLES = ROOT / "sdk" / "python" / "examples"
RUST_EXAMPLES = pathlib.Path(os.environ.get("HOOKMQ_EXAMPLES", pathlib.Path(BIN).parent / "examples"))
LISTENING = re.compile(r"hookmq extension listening on port (\d+)")


class ExtProcess:
    """One extension server process; its output lines are kept for waiting on."""

    def __init__(self, cmd, cwd=None):
        self.cmd = list(cmd)
        self.cwd = cwd
        self.proc = None
        self.port = None
        self.lines = queue.Queue()
        self.all = []

    def start(self, timeout=30.0):
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError(f"{self.cmd}: not listening within {timeout}s: {self.all[-20:]}") from None
            if line is None:
                raise AssertionError(f"{self.cmd} exited: {self.all[-20:]}")
            m = LISTENING.search(line)
            if m:
                self.port = int(m.group(1))
                return self

    def _pump(self):
        for line in self.proc.stdout:
            self.all.append(line.rstrip("\n"))
            self.lines.put(line)
        self.lines.put(None)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kill(self):
        """kill -9."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def example_cmd(sdk, name, *args):
    """The command line of example `name` of `sdk` ("python" or "rust")."""
    if sdk == "python":
        return [sys.executable, str(PY_EXAMPLES / f"{name}.py"), *args]
    binary = RUST_EXAMPLES / name
    if not binary.exists():
        pytest.skip(f"{binary} is not built (cargo build --workspace --examples)")
    return [str(binary), *args]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ext_toml(*servers, api=False):
    """`[[ext.servers]]` tables from dicts (name, url, and any other keys)."""
    out = [] if api else ["[api]", "enable = false", ""]
    for s in servers:
        out.append("[[ext.servers]]")
        out.extend(f"{k} = {toml_value(v)}" for k, v in s.items())
        out.append("")
    return "\n".join(out)


def ext_loaded(broker, name, since=0, timeout=TIMEOUT):
    """Waits for the log line saying extension `name` was loaded; returns it."""
    return broker.wait_log(rf"extension loaded.*server={name}\b", timeout=timeout, start=since)

"""Support for the exhook tests (no tests here): Python stubs generated from the project's own
protos with grpc_tools.protoc, a grpcio `HookProvider` server written the way EMQX's example
servers are (run as its own process, so tests can kill and restart it), and TOML for
`[[exhook.servers]]`.

The server's behaviour comes from a JSON document: which hooks it lists in `LoadedResponse`, and
per hook the answer for a username / topic prefix. Every request it receives is printed as one
JSON line, which `HookServer` collects so tests wait for requests with bounded timeouts.
"""

import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "crates" / "exhook" / "proto"
TIMEOUT = 10.0

# The server program, written to the stub directory of its version as exhook_server.py.
SERVER_SOURCE = r'''
import json
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf.json_format import MessageToDict

import exhook_pb2
import exhook_pb2_grpc

CONFIG = json.loads(sys.argv[1])
PORT = int(sys.argv[2])
LOCK = threading.Lock()


def record(rpc, request):
    body = MessageToDict(request, preserving_proto_field_name=True,
                         always_print_fields_with_no_presence=True)
    with LOCK:
        print(json.dumps({"rpc": rpc, "req": body}), flush=True)


def first(rules, key):
    for prefix, *answer in rules:
        if key.startswith(prefix):
            return answer
    return None


class HookProvider(exhook_pb2_grpc.HookProviderServicer):

    def OnProviderLoaded(self, request, context):
        record("OnProviderLoaded", request)
        if CONFIG.get("hang_loaded"):
            time.sleep(3600)
        hooks = [exhook_pb2.HookSpec(name=name, topics=topics) for name, topics in CONFIG["hooks"]]
        return exhook_pb2.LoadedResponse(hooks=hooks)

    def OnProviderUnloaded(self, request, context):
        record("OnProviderUnloaded", request)
        return exhook_pb2.EmptySuccess()

    def OnClientAuthenticate(self, request, context):
        record("OnClientAuthenticate", request)
        time.sleep(CONFIG.get("auth_sleep", 0))
        ci = request.clientinfo
        users = CONFIG.get("users")
        if users is not None:
            ok = users.get(ci.username) == ci.password
            return exhook_pb2.ValuedResponse(type="STOP_AND_RETURN", bool_result=ok)
        answer = first(CONFIG.get("auth_rules", []), ci.username)
        if answer is None:
            return exhook_pb2.ValuedResponse(type="IGNORE")
        kind, result = answer
        return exhook_pb2.ValuedResponse(type=kind, bool_result=result)

    def _acl(self, rpc, request):
        record(rpc, request)
        answer = first(CONFIG.get("acl", []), request.topic)
        if answer is None:
            return exhook_pb2.ValuedResponse(type="IGNORE")
        kind, result = answer
        return exhook_pb2.ValuedResponse(type=kind, bool_result=result)

    def OnClientAuthorize(self, request, context):
        return self._acl("OnClientAuthorize", request)

    def OnClientCheckAcl(self, request, context):
        return self._acl("OnClientCheckAcl", request)

    def OnMessagePublish(self, request, context):
        record("OnMessagePublish", request)
        answer = first(CONFIG.get("publish", []), request.message.topic)
        if answer is None:
            return exhook_pb2.ValuedResponse(type="IGNORE")
        rule = answer[0]
        nmsg = request.message
        nmsg.payload = nmsg.payload + rule.get("suffix", "").encode()
        if "topic" in rule:
            nmsg.topic = rule["topic"]
        if "qos" in rule:
            nmsg.qos = rule["qos"]
        if rule.get("drop"):
            nmsg.headers["allow_publish"] = "false"
        return exhook_pb2.ValuedResponse(type=rule.get("type", "CONTINUE"), message=nmsg)


def notification(rpc):
    def handle(self, request, context):
        record(rpc, request)
        return exhook_pb2.EmptySuccess()
    return handle


for _rpc in ["OnClientConnect", "OnClientConnack", "OnClientConnected", "OnClientDisconnected",
             "OnClientSubscribe", "OnClientUnsubscribe", "OnSessionCreated", "OnSessionSubscribed",
             "OnSessionUnsubscribed", "OnSessionResumed", "OnSessionDiscarded", "OnSessionTakenover",
             "OnSessionTakeovered", "OnSessionTerminated", "OnMessageDelivered", "OnMessageDropped",
             "OnMessageAcked"]:
    setattr(HookProvider, _rpc, notification(_rpc))


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    exhook_pb2_grpc.add_HookProviderServicer_to_server(HookProvider(), server)
    tls = CONFIG.get("tls")
    if tls:
        read = lambda path: open(path, "rb").read()  # noqa: E731
        creds = grpc.ssl_server_credentials(
            [(read(tls["key"]), read(tls["cert"]))],
            root_certificates=read(tls["client_ca"]) if tls.get("client_ca") else None,
            require_client_auth=bool(tls.get("client_ca")),
        )
        port = server.add_secure_port(f"127.0.0.1:{PORT}", creds)
    else:
        port = server.add_insecure_port(f"127.0.0.1:{PORT}")
    server.start()
    print(json.dumps({"ready": port}), flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    serve()
'''

# Every hook name, in the spelling of each version.
NOTIFICATIONS_V3 = [
    "client.connect", "client.connack", "client.connected", "client.disconnected",
    "client.subscribe", "client.unsubscribe", "session.created", "session.subscribed",
    "session.unsubscribed", "session.resumed", "session.discarded", "session.takenover",
    "session.terminated", "message.delivered", "message.acked", "message.dropped",
]
NOTIFICATIONS_V1 = [n.replace("session.takenover", "session.takeovered") for n in NOTIFICATIONS_V3]
AUTHZ = {"v1": "client.check_acl", "v2": "client.authorize", "v3": "client.authorize"}
AUTHZ_RPC = {"v1": "OnClientCheckAcl", "v2": "OnClientAuthorize", "v3": "OnClientAuthorize"}


def generate_stubs(root, version):
    """exhook_pb2.py / exhook_pb2_grpc.py for one version, made the way EMQX's Python example does
    (the proto copied as exhook.proto), plus the server program."""
    d = pathlib.Path(root) / version
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTO_DIR / f"exhook_{version}.proto", d / "exhook.proto")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{d}", f"--python_out={d}",
         f"--grpc_python_out={d}", str(d / "exhook.proto")],
        check=True,
    )
    (d / "exhook_server.py").write_text(SERVER_SOURCE)
    return d


@pytest.fixture(scope="session")
def exhook_stubs(tmp_path_factory):
    """Stub directories per version: {"v1": path, "v2": path, "v3": path}."""
    root = tmp_path_factory.mktemp("exhook-stubs")
    return {v: generate_stubs(root, v) for v in ("v1", "v2", "v3")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HookServer:
    """One grpcio HookProvider server process and the requests it has received."""

    def __init__(self, stub_dir, config, port=0):
        self.stub_dir = pathlib.Path(stub_dir)
        self.config = config
        self.port = port
        self.requests = []
        self.cond = threading.Condition()
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, config=None, timeout=TIMEOUT):
        if config is not None:
            self.config = config
        env = dict(os.environ, PYTHONPATH=str(self.stub_dir), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(self.stub_dir / "exhook_server.py"), json.dumps(self.config), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env,
        )
        ready = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, ready), daemon=True).start()
        try:
            self.port = ready.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError("exhook test server did not start") from None
        return self

    def _pump(self, proc, ready):
        for line in proc.stdout:
            msg = json.loads(line)
            if "ready" in msg:
                ready.put(msg["ready"])
                continue
            with self.cond:
                self.requests.append((msg["rpc"], msg["req"]))
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.requests)

    def calls(self, rpc, since=0):
        with self.cond:
            return [r for name, r in self.requests[since:] if name == rpc]

    def wait(self, rpc, pred=lambda r: True, since=0, timeout=TIMEOUT):
        """The first request of `rpc` after position `since` for which `pred` holds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for name, r in self.requests[since:]:
                    if name == rpc and pred(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [name for name, _ in self.requests[since:]]
                    raise AssertionError(f"no {rpc} request within {timeout}s; got {seen}")
                self.cond.wait(min(left, 0.2))

    def wait_count(self, rpc, pred, n, timeout=TIMEOUT):
        """Waits until `n` requests of `rpc` satisfy `pred`; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [r for name, r in self.requests if name == rpc and pred(r)]
                if len(hits) >= n:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(hits)} of {n} {rpc} requests within {timeout}s")
                self.cond.wait(min(left, 0.2))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self, config=None):
        self.kill()
        return self.start(config)


@pytest.fixture
def hook_servers(exhook_stubs):
    """Starts HookServer processes (per version); kills them after the test."""
    started = []

    def make(version="v3", config=None, port=0, start=True, **behaviour):
        s = HookServer(exhook_stubs[version], config or behaviour, port)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        s.kill()


def toml_value(v):
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)


def exhook_toml(*servers):
    """`[[exhook.servers]]` tables from dicts (name, url, and any other keys). The management
    API is switched off: these tests do not use it, and its fixed port may be taken."""
    out = ["[api]", "enable = false", ""]
    for s in servers:
        out.append("[[exhook.servers]]")
        out.extend(f"{k} = {toml_value(v)}" for k, v in s.items())
        out.append("")
    return "\n".join(out)


def loaded(broker, name, since=0, timeout=TIMEOUT):
    """Waits for the broker's log line saying server `name` was loaded; returns it."""
    return broker.wait_log(rf"exhook server loaded.*server={name}\b", timeout=timeout, start=since)


def rc_value(rc):
    """A CONNACK / SUBACK reason as a number (paho gives ReasonCode objects or ints)."""
    return rc.value if hasattr(rc, "value") else rc

"""The example gRPC exhook server in examples/grpc/ (authentication, ACL, rewrite) against the
broker, with stubs generated from the project's proto as its README says."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from harness import Client, ROOT, barrier
from test_exhook_support import PROTO_DIR, exhook_toml, free_port, loaded, rc_value

EXAMPLE = ROOT / "examples" / "grpc" / "exhook_server.py"


@pytest.fixture
def example_server(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={tmp_path}",
         f"--grpc_python_out={tmp_path}", str(PROTO_DIR / "exhook_v3.proto")],
        check=True,
    )
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert "listening" in line, line
    yield port
    proc.kill()
    proc.wait(10)


def test_example_server_authenticates_authorizes_and_rewrites(broker_factory, example_server):
    b = broker_factory(exhook_toml({"name": "example", "url": f"http://127.0.0.1:{example_server}"}))
    loaded(b, "example")
    assert rc_value(Client(b, username="bob", password="wrong").connect()[1]) in (5, 0x87)
    assert rc_value(Client(b, username="nobody", password="x").connect()[1]) in (5, 0x87)

    alice = Client(b, protocol=5, username="alice", password="alice-secret")
    alice.connect()
    assert [rc_value(r) for r in alice.subscribe("sensors/#", 1)] == [1]
    assert [rc_value(r) for r in alice.subscribe("admin/#", 1)] == [1]
    assert [rc_value(r) for r in alice.subscribe("users/bob/#", 1)] == [0x87]
    alice.subscribe("users/alice/inbox", 1)

    bob = Client(b, protocol=5, username="bob", password="bob-secret")
    bob.connect()
    assert rc_value(bob.publish("sensors/t1", b"21.5", qos=1)) == 0
    assert rc_value(bob.publish("admin/reboot", b"now", qos=1)) == 0x87
    bob_to_alice = Client(b, protocol=5, username="alice", password="alice-secret")
    bob_to_alice.connect()
    got = barrier(bob_to_alice, alice, topic="users/alice/inbox")
    assert len(got) == 1 and got[0].topic == "sensors/t1"
    envelope = json.loads(got[0].payload)
    assert envelope["from"] == bob.client_id and envelope["data"] == "21.5" and envelope["at"] > 0

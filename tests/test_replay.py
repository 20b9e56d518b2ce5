"""`hookmq hooks replay` without a broker: the Java example handler, the example gRPC exhook
server and the Python stream SDK's ACL example answer the shipped event files as expected (and a
wrong expectation fails), bad lines are reported by number and skipped or stop the run, and a
handler that fails or hangs is reported with its deadline while the run goes on. The seed's hooks.py is driven by the example in
examples/replay/test_seed_hooks.py."""

import os
import pathlib
import subprocess
import sys

import pytest

from harness import BIN, ROOT
from ext_support import ExtProcess, example_cmd
from test_exhook_support import PROTO_DIR, free_port
from test_port_support import driver_toml, javac

EXAMPLES = ROOT / "examples" / "replay"


def replay(*args, cwd=None, env=None):
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               **(env or {}))
    return subprocess.run([BIN, "hooks", "replay", *map(str, args)], capture_output=True, text=True,
                          timeout=180, cwd=cwd, env=env)


def test_java_example_handler(tmp_path):
    classes = javac([ROOT / "examples" / "java" / "DeviceHooks.java"], tmp_path / "classes")
    (tmp_path / "hookmq.toml").write_text(driver_toml("java", path=str(classes), init_module="DeviceHooks",
                                                      init_timeout="60s"))
    env = {"HOOKMQ_DEVICES": str(ROOT / "examples" / "java" / "devices.properties")}
    events = EXAMPLES / "java" / "devices.jsonl"
    out = replay(events, "--config", tmp_path / "hookmq.toml", "--expect",
                 EXAMPLES / "java" / "devices.expected.jsonl", env=env)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert "message.publish [java] -> " in out.stdout and "telemetry/dev-1" in out.stdout

    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"answer": {"verdict": "stop", "value": {"allow": false}}}\n')
    out = replay(events, "--config", tmp_path / "hookmq.toml", "--expect", wrong, env=env)
    assert out.returncode == 1
    assert "expected" in out.stderr and "answers but 1 expected" in out.stderr, out.stderr


@pytest.fixture
def grpc_example(tmp_path):
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={tmp_path}",
                    f"--grpc_python_out={tmp_path}", str(PROTO_DIR / "exhook_v3.proto")], check=True)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "grpc" / "exhook_server.py"),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert "listening" in proc.stdout.readline()
    yield f"http://127.0.0.1:{port}"
    proc.kill()
    proc.wait(10)


def test_grpc_example_server(grpc_example, tmp_path):
    events = EXAMPLES / "grpc" / "example.jsonl"
    out = replay(events, "--grpc", grpc_example, "--expect", EXAMPLES / "grpc" / "example.expected.jsonl")
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    wrong = tmp_path / "wrong.jsonl"
    lines = (EXAMPLES / "grpc" / "example.expected.jsonl").read_text().splitlines()
    lines[0] = '{"answer": {"verdict": "stop", "value": {"allow": false}}}'
    wrong.write_text("\n".join(lines) + "\n")
    out = replay(events, "--grpc", grpc_example, "--expect", wrong, "--json")
    assert out.returncode == 1
    assert "answer 1 (events line 3, client.authenticate [exhook:replay])" in out.stderr, out.stderr


FLAKY_HOOK = '''
import time
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Flaky(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        if clientinfo.clientid == "hang":
            time.sleep(1.5)  # past the 1 s deadline, but the worker is free again before the next deadline
        if clientinfo.clientid == "crash":
            raise RuntimeError("boom")
        return True


emqx_hook = Flaky(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()
'''


def auth(clientid):
    return ('{"point": "client.authenticate", "event": {"clientinfo": {"clientid": "%s"}, '
            '"result": {"allow": false}}}' % clientid)


def test_bad_lines_and_a_failing_or_hanging_handler(tmp_path):
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "flaky.py").write_text(FLAKY_HOOK)
    (tmp_path / "hookmq.toml").write_text(driver_toml("python3", path="ext", init_module="flaky",
                                                      call_timeout="1s", pool_size=2))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        auth("ok-1"),
        "{this is not json",
        '{"point": "client.nothing", "event": {}}',
        '{"point": "message.publish", "event": {"message": {"topic": "a/#"}}}',
        auth("crash"),
        auth("hang"),
        auth("ok-2"),
    ]) + "\n")
    out = replay(events, "--config", tmp_path / "hookmq.toml")
    assert out.returncode == 65, f"{out.stdout}\n{out.stderr}"
    err, lines = out.stderr, out.stdout.splitlines()
    assert f"{events}:2: not JSON" in err
    assert f'{events}:3: unknown hook point "client.nothing"' in err
    assert f"{events}:4: event.message.topic: bad topic name" in err
    assert lines[0].startswith("line 1 client.authenticate [python3] -> stop")
    assert lines[1].startswith("line 5 client.authenticate [python3] -> error"), lines
    assert lines[2].startswith("line 6 client.authenticate [python3] -> error timeout: no answer within the 1000 ms deadline"), lines
    assert lines[3].startswith("line 7 client.authenticate [python3] -> stop"), lines

    out = replay(events, "--config", tmp_path / "hookmq.toml", "--on-bad-line", "stop")
    assert out.returncode == 65
    assert [l.split(" (")[0] for l in out.stdout.splitlines()] == [lines[0].split(" (")[0]]
    assert ":3:" not in out.stderr


def test_usage_errors(tmp_path):
    missing = replay(tmp_path / "nope.jsonl", "--grpc", "http://127.0.0.1:1")
    assert missing.returncode == 64 and "cannot read" in missing.stderr
    events = tmp_path / "e.jsonl"
    events.write_text(auth("x") + "\n")
    bad_url = replay(events, "--grpc", "ftp://x")
    assert bad_url.returncode == 64 and "url" in bad_url.stderr.lower()
    nothing = replay(events, cwd=tmp_path)
    assert nothing.returncode == 1 and "no handler loaded" in nothing.stderr


def test_stream_sdk_example(tmp_path):
    """The Python SDK's ACL example, a server of hookmq's extension protocol, loaded with
    --stream: the expected answers pass, a wrong one fails naming the answer, and a bad URL is a
    usage error."""
    ext = ExtProcess(example_cmd("python", "acl", "--listen", "127.0.0.1:0")).start()
    try:
        events = EXAMPLES / "stream" / "acl.jsonl"
        expected = EXAMPLES / "stream" / "acl.expected.jsonl"
        out = replay(events, "--stream", ext.url, "--expect", expected)
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
        assert "client.authorize [ext:stream] -> stop" in out.stdout, out.stdout
        lines = expected.read_text().splitlines()
        lines[-1] = '{"answer": {"verdict": "stop", "value": {"allow": true}}}'
        wrong = tmp_path / "wrong.jsonl"
        wrong.write_text("\n".join(lines) + "\n")
        out = replay(events, "--stream", ext.url, "--expect", wrong)
        assert out.returncode == 1, f"{out.stdout}\n{out.stderr}"
        assert "(events line 7, client.authorize [ext:stream])" in out.stderr, out.stderr
    finally:
        ext.stop()
    out = replay(EXAMPLES / "stream" / "acl.jsonl", "--stream", "ftp://nowhere")
    assert out.returncode == 64 and "--stream" in out.stderr, out.stderr

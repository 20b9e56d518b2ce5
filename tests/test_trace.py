"""The hook trace with real clients: a Python hook that rewrites messages, traced through the
API's server-sent event stream and `hookmq ctl trace`: the `message.publish` call with the
event, the rewrite and the decision, the traced client's packets in both directions, filters
that leave other clients out, the rate limit counting drops, bad filters refused, and passwords
never recorded."""

import json
import subprocess
import threading
import urllib.error
import urllib.request

from harness import BIN, Client, barrier
from test_port_support import driver_toml, start, url, wait_driver

REWRITER = '''
from emqx_extension.hooks import EmqxHookSdk, hooks_handler
from erlport.erlterms import Atom


class Rewriter(EmqxHookSdk):
    @hooks_handler()
    def on_message_publish(self, message, state):
        if message.topic.startswith("up/"):
            return (0, [(Atom(b"payload"), message.payload.upper().encode())])
        return None

    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        return True


emqx_hook = Rewriter(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()
'''


def traced_broker(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path, files={"ext/rewriter.py": REWRITER},
              config=driver_toml("python3", path="ext", init_module="rewriter"))
    wait_driver(b)
    return b


def call(b, method, path, body=None):
    req = urllib.request.Request(url(b) + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else text


class Stream:
    """Reads a trace's server-sent event stream on a thread; records arrive in a list."""

    def __init__(self, b, trace_id):
        self.resp = urllib.request.urlopen(url(b) + f"/api/v1/traces/{trace_id}/stream", timeout=20)
        assert self.resp.headers.get_content_type() == "text/event-stream"
        self.records, self.lost, self.cond = [], [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            self._lines()
        except (OSError, ValueError, AttributeError):
            pass  # closed by the test

    def _lines(self):
        event = ""
        for raw in self.resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                v = json.loads(line[5:])
                with self.cond:
                    (self.lost if event == "lost" else self.records).append(v)
                    self.cond.notify_all()
            elif not line:
                event = ""

    def wait(self, pred, timeout=15.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(pred(r) for r in self.records), timeout)
            assert ok, f"no matching record in {json.dumps(self.records)[:3000]}"
            return next(r for r in self.records if pred(r))

    def close(self):
        self.resp.close()


def hook(point):
    return lambda r: r.get("type") == "hook" and r["point"] == point


def test_api_stream_shows_the_publish_call_with_the_rewrite_and_the_packets(broker_factory, tmp_path):
    b = traced_broker(broker_factory, tmp_path)
    status, t = call(b, "POST", "/api/v1/traces", {"clientid": "tr-pub", "max_rate": 1000, "duration": "60s"})
    assert status == 201 and t["selection"] == "clientid=tr-pub"
    stream = Stream(b, t["id"])
    sub = Client(b, client_id="tr-sub")
    sub.connect()
    sub.subscribe("up/#", 1)
    pub = Client(b, client_id="tr-pub", username="alice", password="hunter2")
    pub.connect()
    pub.publish("up/x", b"hello", qos=1)
    assert sub.expect().payload == b"HELLO"

    rec = stream.wait(hook("message.publish"))
    assert rec["handler"] == "python3" and rec["clientid"] == "tr-pub"
    assert rec["event"]["message"]["topic"] == "up/x"
    assert rec["event"]["message"]["payload"] == "hello"
    # The port protocol's answer to message.publish ends the chain with the rewrite.
    assert rec["answer"]["verdict"] == "stop" and rec["decision"] == "stop"
    assert rec["answer"]["value"]["message"]["payload"] == "HELLO"
    assert rec["latency_us"] > 0

    auth = stream.wait(hook("client.authenticate"))
    # The password reached the hook but never the trace.
    assert auth["event"]["clientinfo"]["password"] == {"redacted": True}
    assert "hunter2" not in json.dumps(stream.records)
    connect = stream.wait(lambda r: r.get("type") == "packet" and r["packet"]["type"] == "CONNECT")
    assert connect["direction"] == "in" and connect["packet"]["password"] == {"redacted": True}
    stream.wait(lambda r: r.get("type") == "packet" and r["direction"] == "in"
                and r["packet"]["type"] == "PUBLISH" and r["packet"]["payload"] == "hello")
    stream.wait(lambda r: r.get("type") == "packet" and r["direction"] == "out"
                and r["packet"]["type"] == "PUBACK")
    # The subscriber is not selected: none of its packets or calls.
    assert not [r for r in stream.records if r.get("clientid") == "tr-sub"]
    seqs = [r["seq"] for r in stream.records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    status, stopped = call(b, "DELETE", f"/api/v1/traces/{t['id']}")
    assert status == 200 and stopped["ended"] and stopped["recorded"] >= 5
    end = stream.wait(lambda r: r.get("type") == "end")
    assert end["reason"] == "stopped"
    stream.close()
    assert call(b, "GET", f"/api/v1/traces/{t['id']}")[0] == 404
    sub.disconnect()
    pub.disconnect()


def test_topic_and_point_filters_and_the_rate_limit(broker_factory, tmp_path):
    b = traced_broker(broker_factory, tmp_path)
    _, t = call(b, "POST", "/api/v1/traces",
                {"topic": "up/+", "points": ["message.publish"], "packets": False, "max_rate": 1})
    stream = Stream(b, t["id"])
    sub = Client(b, client_id="rl-sub")
    sub.connect()
    sub.subscribe("#", 0)
    pub = Client(b, client_id="rl-pub")
    pub.connect()
    pub.publish("other/x", b"skip", qos=1)
    for i in range(20):
        pub.publish("up/x", f"m{i}".encode(), qos=1)
    barrier(pub, sub)
    first = stream.wait(hook("message.publish"))
    assert first["event"]["message"]["topic"] == "up/x"
    _, info = call(b, "GET", f"/api/v1/traces/{t['id']}")
    # One record per second at most: the burst was counted, not recorded.
    assert info["recorded"] <= 3 and info["dropped"] >= 17, info
    assert all(r.get("type") == "hook" and r["point"] == "message.publish"
               and r["event"]["message"]["topic"].startswith("up/") for r in stream.records)
    call(b, "DELETE", f"/api/v1/traces/{t['id']}")
    stream.close()
    sub.disconnect()
    pub.disconnect()


def test_bad_trace_requests_are_refused(broker_factory, tmp_path):
    b = start(broker_factory, tmp_path)
    for body, why in [({"topic": "a/#/b"}, "bad topic filter"),
                      ({"points": ["message.nope"]}, "unknown hook point"),
                      ({"max_rate": 0}, "max_rate"),
                      ({"duration": "2d"}, "duration"),
                      ({"clientid": "x", "colour": "red"}, "unknown field")]:
        status, ans = call(b, "POST", "/api/v1/traces", body)
        assert status in (400, 422) and why in json.dumps(ans).replace("`", ""), (body, status, ans)
    assert call(b, "GET", "/api/v1/traces/999/stream")[0] == 404
    assert call(b, "DELETE", "/api/v1/traces/999")[0] == 404
    assert call(b, "GET", "/api/v1/traces")[1] == {"data": []}


def ctl(b, *args, timeout=30):
    return subprocess.run([BIN, "ctl", "--url", url(b), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_ctl_trace_follow_prints_json_lines_and_text(broker_factory, tmp_path):
    b = traced_broker(broker_factory, tmp_path)
    pub = Client(b, client_id="ctl-pub")
    pub.connect()
    # JSON lines: a follower started by ctl itself, stopped after 1 record.
    follower = subprocess.Popen(
        [BIN, "ctl", "--url", url(b), "--json", "trace", "follow", "--client", "ctl-pub",
         "--point", "message.publish", "--max", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = follower.stderr.readline()
        assert "trace" in started and "started" in started, started
        pub.publish("up/ctl", b"abc", qos=1)
        out, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    rec = json.loads(out.strip().splitlines()[0])
    assert rec["point"] == "message.publish"
    assert rec["answer"]["value"]["message"]["payload"] == "ABC"
    # The trace ctl started was stopped when it exited.
    assert json.loads(ctl(b, "--json", "trace", "list").stdout)["data"] == []

    # start / list / follow by id in text / stop.
    out = ctl(b, "trace", "start", "--client", "ctl-pub", "--no-packets", "--rate", "50")
    assert out.returncode == 0 and "trace" in out.stdout, out.stderr
    tid = out.stdout.split()[1]
    listing = ctl(b, "trace", "list").stdout
    assert "clientid=ctl-pub" in listing and "50/s" in listing
    follower = subprocess.Popen([BIN, "ctl", "--url", url(b), "trace", "follow", tid, "--max", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pub.publish("up/text", b"xyz", qos=1)
        out, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert "ctl-pub message.publish [python3] -> stop" in out and "=> stop" in out, out
    stop = ctl(b, "trace", "stop", tid)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    missing = ctl(b, "trace", "stop", tid)
    assert missing.returncode == 1 and "no running trace" in missing.stderr
    bad = ctl(b, "trace", "start", "--topic", "a/#/b")
    assert bad.returncode == 1 and "bad topic filter" in bad.stderr
    pub.disconnect()

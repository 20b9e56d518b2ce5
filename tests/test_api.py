"""The management API and `hookmq ctl` against a running broker with real clients connected:
status, clients (list, show, kick — the client sees the disconnect), subscriptions, retained
(list, show, delete), publish, hooks, log level, Prometheus /metrics, token auth, exit codes."""

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from harness import BIN, Client, barrier

TOKEN = "s3cret"


@pytest.fixture
def api_broker(broker_factory):
    return broker_factory(f'[api]\nbind = "127.0.0.1:0"\ntoken = "{TOKEN}"\n')


def url(b):
    host, port = b.listeners["api"]
    return f"http://{host}:{port}"


def http(b, method, path, body=None, token=TOKEN):
    req = urllib.request.Request(url(b) + path, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=10) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text and r.headers.get_content_type() == "application/json" else text)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, json.loads(text) if text.startswith("{") else text


def ctl(b, *args, token=TOKEN):
    cmd = [BIN, "ctl", "--url", url(b)]
    if token:
        cmd += ["--token", token]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)


def test_token_is_required(api_broker):
    assert http(api_broker, "GET", "/api/v1/status", token=None)[0] == 401
    assert http(api_broker, "GET", "/api/v1/status", token="wrong")[0] == 401
    assert http(api_broker, "GET", "/metrics", token=None)[0] == 401
    out = ctl(api_broker, "status", token="wrong")
    assert out.returncode == 1 and "401" in out.stderr
    status, body = http(api_broker, "GET", "/api/v1/status")
    assert status == 200 and body["node"] == "hookmq@127.0.0.1"


def test_clients_list_show_and_kick(api_broker):
    c = Client(api_broker, client_id="api-c1", protocol=5, username="alice")
    c.connect()
    c.subscribe("api/#", 1)
    status, body = http(api_broker, "GET", "/api/v1/clients?connected=true&username=alice")
    assert status == 200
    assert [x["clientid"] for x in body["data"]] == ["api-c1"]
    assert body["data"][0]["subscriptions"] == 1 and body["data"][0]["proto_ver"] == 5
    out = ctl(api_broker, "clients", "list")
    assert out.returncode == 0 and "api-c1" in out.stdout and "alice" in out.stdout
    out = ctl(api_broker, "--json", "clients", "show", "api-c1")
    assert out.returncode == 0 and json.loads(out.stdout)["username"] == "alice"
    assert ctl(api_broker, "clients", "show", "nobody").returncode == 1
    out = ctl(api_broker, "clients", "kick", "api-c1")
    assert out.returncode == 0, out.stderr
    assert c.expect_disconnect() == 0x98
    assert ctl(api_broker, "clients", "kick", "api-c1").returncode == 1


def test_subscriptions_listed(api_broker):
    c = Client(api_broker, client_id="api-s1", protocol=5)
    c.connect()
    c.subscribe("a/+", 1)
    c.subscribe("$share/g/b/#", 0)
    status, body = http(api_broker, "GET", "/api/v1/clients/api-s1/subscriptions")
    assert status == 200
    assert sorted((s["topic"], s["qos"]) for s in body["data"]) == [("$share/g/b/#", 0), ("a/+", 1)]
    out = ctl(api_broker, "subscriptions", "list", "--clientid", "api-s1")
    assert out.returncode == 0 and "$share/g/b/#" in out.stdout


def test_retained_list_show_delete_and_publish(api_broker):
    c = Client(api_broker)
    c.connect()
    c.subscribe("ret/#", 1)
    out = ctl(api_broker, "publish", "ret/a/b", "via ctl", "--qos", "1", "--retain")
    assert out.returncode == 0, out.stderr
    m = c.expect()
    assert (m.topic, m.payload) == ("ret/a/b", b"via ctl")
    status, body = http(api_broker, "GET", "/api/v1/retained")
    assert [r["topic"] for r in body["data"] if not r["topic"].startswith("$SYS")] == ["ret/a/b"]
    status, body = http(api_broker, "GET", "/api/v1/retained/ret/a/b")
    assert status == 200 and body["payload"] == "via ctl" and body["qos"] == 1
    out = ctl(api_broker, "retained", "delete", "ret/a/b")
    assert out.returncode == 0
    assert http(api_broker, "GET", "/api/v1/retained/ret/a/b")[0] == 404
    assert ctl(api_broker, "retained", "delete", "ret/a/b").returncode == 1
    # A new subscriber gets no retained message now.
    d = Client(api_broker)
    d.connect()
    d.subscribe("ret/#", 1)
    d.subscribe("barrier/x", 1)
    assert barrier(c, d) == []
    status, body = http(api_broker, "POST", "/api/v1/publish", {"topic": "ret/x", "payload": "aGk=", "payload_encoding": "base64"})
    assert status == 200 and body["delivered_to"] == 2
    assert d.expect().payload == b"hi"
    assert http(api_broker, "POST", "/api/v1/publish", {"topic": "bad/#"})[0] == 400


def test_metrics_move_with_traffic(api_broker):
    def scrape():
        status, text = http(api_broker, "GET", "/metrics")
        assert status == 200
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    before = scrape()
    c = Client(api_broker)
    c.connect()
    c.subscribe("m/t", 1)
    for _ in range(5):
        c.publish("m/t", b"x", qos=1)
        c.expect()
    c.publish("m/none", b"x", qos=1)
    after = scrape()
    assert after["hookmq_connections"] >= 1
    assert after["hookmq_messages_received_total"] - before["hookmq_messages_received_total"] == 6
    assert after["hookmq_messages_sent_total"] - before["hookmq_messages_sent_total"] >= 5
    key = 'hookmq_messages_dropped_total{reason="no_subscribers"}'
    assert after[key] - before.get(key, 0) >= 1
    assert ctl(api_broker, "metrics").stdout.count("# TYPE") > 10


def test_log_level_changes_at_runtime(api_broker):
    out = ctl(api_broker, "log", "debug")
    assert out.returncode == 0 and "debug" in out.stdout
    assert http(api_broker, "GET", "/api/v1/log/level")[1]["level"] == "debug"
    assert ctl(api_broker, "log", "hookmq=notalevel").returncode == 1


def test_ctl_exit_codes():
    out = subprocess.run([BIN, "ctl", "--url", "http://127.0.0.1:9", "status"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    out = subprocess.run([BIN, "ctl", "frobnicate"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64

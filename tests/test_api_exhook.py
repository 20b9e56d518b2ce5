"""gRPC exhook servers managed at runtime through the management API and `hookmq ctl exhook
servers ...`, with a real grpcio server and real clients: add (the hook takes effect), list,
stats, move, disable (the hook stops), enable, reload, remove, and the error exit codes."""

import json

from harness import Client
from test_api import ctl, http
from test_exhook_support import exhook_stubs, hook_servers, rc_value  # noqa: F401

TOKEN = "s3cret"


def test_servers_are_managed_at_runtime(broker_factory, hook_servers):
    b = broker_factory(f'[api]\nbind = "127.0.0.1:0"\ntoken = "{TOKEN}"\n')
    srv = hook_servers("v3", hooks=[["client.authenticate", []]], users={"alice": "pw"})
    # Nothing registered yet: anyone gets in.
    assert rc_value(Client(b, username="mallory", password="x").connect()[1]) == 0

    out = ctl(b, "exhook", "servers", "add", "--name", "auth", "--url", srv.url, "--request-timeout", "2s")
    assert out.returncode == 0, out.stderr
    assert "connected" in out.stdout and "client.authenticate" in out.stdout
    assert rc_value(Client(b, username="mallory", password="x").connect()[1]) in (5, 0x87)
    assert rc_value(Client(b, username="alice", password="pw").connect()[1]) == 0

    out = ctl(b, "--json", "exhook", "servers", "list")
    servers = json.loads(out.stdout)["data"]
    assert [(s["name"], s["status"], s["proto"]) for s in servers] == [("auth", "connected", "v3")]
    status, body = http(b, "GET", "/api/v1/exhook/stats")
    calls = {h["name"]: h["metrics"]["calls"] for h in body["data"][0]["hooks"]}
    assert calls["client.authenticate"] >= 2
    out = ctl(b, "exhook", "servers", "stats")
    assert out.returncode == 0 and "client.authenticate" in out.stdout

    # A second server, moved in front of the first.
    other = hook_servers("v3", hooks=[["client.connected", []]])
    assert ctl(b, "exhook", "servers", "add", "--name", "audit", "--url", other.url).returncode == 0
    out = ctl(b, "exhook", "servers", "move", "audit", "front")
    assert out.returncode == 0 and "audit, auth" in out.stdout
    assert [h["name"] for h in http(b, "GET", "/api/v1/hooks")[1]["data"]] == ["exhook:audit", "exhook:auth"]

    # Disable: its hooks are gone and OnProviderUnloaded reached it.
    assert ctl(b, "exhook", "servers", "disable", "auth").returncode == 0
    srv.wait("OnProviderUnloaded")
    assert rc_value(Client(b, username="mallory", password="x").connect()[1]) == 0
    assert ctl(b, "exhook", "servers", "enable", "auth").returncode == 0
    assert rc_value(Client(b, username="mallory", password="x").connect()[1]) in (5, 0x87)
    mark = srv.mark()
    assert ctl(b, "exhook", "servers", "reload", "auth").returncode == 0
    srv.wait("OnProviderLoaded", since=mark)

    # Errors: unknown name 1, duplicate 1, bad position 1.
    assert ctl(b, "exhook", "servers", "show", "nope").returncode == 1
    assert ctl(b, "exhook", "servers", "add", "--name", "auth", "--url", srv.url).returncode == 1
    assert ctl(b, "exhook", "servers", "move", "auth", "sideways").returncode == 1
    assert http(b, "POST", "/api/v1/exhook/servers", {"name": "bad name!", "url": srv.url})[0] in (400, 422)

    assert ctl(b, "exhook", "servers", "remove", "auth").returncode == 0
    assert rc_value(Client(b, username="mallory", password="x").connect()[1]) == 0
    assert [s["name"] for s in http(b, "GET", "/api/v1/exhook/servers")[1]["data"]] == ["audit"]

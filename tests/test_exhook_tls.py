"""TLS to gRPC exhook servers: a grpcio server with a certificate from a test CA, checked by
the broker (verify_peer with ssl.cacertfile, SNI), not checked (verify_none), and a server that
requires a client certificate."""

import trustme

from harness import Client
from test_exhook_support import exhook_stubs, exhook_toml, hook_servers, rc_value  # noqa: F401

AUTH = {"hooks": [["client.authenticate", []]], "users": {"alice": "pw"}}


def pki(tmp_path):
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "hooks.test")
    client = ca.issue_cert("hookmq-client")
    files = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "server.pem",
        "key": tmp_path / "server.key",
        "client_cert": tmp_path / "client.pem",
        "client_key": tmp_path / "client.key",
    }
    ca.cert_pem.write_to_path(files["ca"])
    server.private_key_pem.write_to_path(files["key"])
    server.cert_chain_pems[0].write_to_path(files["cert"])
    client.private_key_pem.write_to_path(files["client_key"])
    client.cert_chain_pems[0].write_to_path(files["client_cert"])
    return {k: str(v) for k, v in files.items()}


def logins(broker):
    ok = Client(broker, username="alice", password="pw")
    bad = Client(broker, username="alice", password="no")
    return rc_value(ok.connect()[1]), rc_value(bad.connect()[1])


def test_tls_verified_unverified_and_mutual(broker_factory, hook_servers, tmp_path):
    f = pki(tmp_path)
    srv = hook_servers("v3", config={**AUTH, "tls": {"cert": f["cert"], "key": f["key"]}})
    url = f"https://127.0.0.1:{srv.port}"
    mtls = hook_servers("v3", config={**AUTH, "tls": {"cert": f["cert"], "key": f["key"], "client_ca": f["ca"]}})
    b = broker_factory(exhook_toml(
        {"name": "checked", "url": url, "ssl": {"cacertfile": f["ca"]}},
        {"name": "sni", "url": url, "ssl": {"cacertfile": f["ca"], "server_name_indication": "hooks.test"}},
        {"name": "unchecked", "url": url, "ssl": {"verify": "verify_none"}},
        {"name": "wrongname", "url": url, "auto_reconnect": False,
         "ssl": {"cacertfile": f["ca"], "server_name_indication": "other.test"}},
        {"name": "mutual", "url": f"https://127.0.0.1:{mtls.port}",
         "ssl": {"cacertfile": f["ca"], "certfile": f["client_cert"], "keyfile": f["client_key"]}},
        {"name": "nocert", "url": f"https://127.0.0.1:{mtls.port}", "auto_reconnect": False,
         "ssl": {"cacertfile": f["ca"]}},
    ))
    for name in ("checked", "sni", "unchecked", "mutual"):
        b.wait_log(rf"exhook server loaded.*server={name}\b")
    b.wait_log(r"exhook server load failed.*server=wrongname")
    b.wait_log(r"exhook server load failed.*server=nocert")
    ok, bad = logins(b)
    assert ok == 0 and bad in (5, 0x87)
    # Every loaded server was asked (the first one stops the chain, so count the load calls).
    assert len(srv.calls("OnProviderLoaded")) >= 3 and len(mtls.calls("OnProviderLoaded")) == 1

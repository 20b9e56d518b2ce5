"""The JWT source ([auth.jwt]) with real clients: HS256 secret, RS256 public key, ES256 and RS256
from a JWKS file and a JWKS URL, exp / nbf / verify_claims, forged and `none` tokens, ACL claims
with placeholders that identities cannot widen, and the expiry disconnect a paho MQTT 5 client
observes (DISCONNECT 0xA0) while a 3.1.1 client is closed."""

import json
import time

import pytest

import auth_support
from auth_support import HttpServer, ec_key, jwk, jwt, now, public_pem, rsa_key
from harness import Client
from test_exhook_support import rc_value

BAD_CREDENTIALS = 0x86
NOT_AUTHORIZED = 0x87
MAX_CONNECT_TIME = 0xA0


def jwt_config(extra):
    return f"[mqtt]\nallow_anonymous = false\n[auth.jwt]\nenable = true\n{extra}"


def pub(c, topic):
    """0 when the publish was accepted (0x10 "no matching subscribers" included), else the code."""
    rc = rc_value(c.publish(topic, b"x", qos=1))
    return 0 if rc < 0x80 else rc


def login(b, token, user="u1", cid=None, protocol=5):
    return auth_support.login(b, user, token, cid, protocol)


def test_hs256_secret_exp_nbf_and_forgeries(broker_factory):
    b = broker_factory(jwt_config('secret = "s3cret"\n[auth.jwt.verify_claims]\nsub = "${username}"\n'))
    good = {"sub": "u1", "exp": now() + 300}
    assert isinstance(login(b, jwt(good, key=b"s3cret")), Client)
    assert isinstance(login(b, jwt({"sub": "u1"}, key=b"s3cret"), protocol=4), Client)
    assert login(b, jwt(good, key=b"other")) == BAD_CREDENTIALS
    assert login(b, jwt({"sub": "u1", "exp": now() - 5}, key=b"s3cret")) == BAD_CREDENTIALS
    assert login(b, jwt({"sub": "u1", "nbf": now() + 300}, key=b"s3cret")) == BAD_CREDENTIALS
    assert login(b, jwt(good, key=b"s3cret"), user="u2") == BAD_CREDENTIALS  # sub != username
    assert login(b, jwt(good, alg="none")) == BAD_CREDENTIALS
    # A tampered payload with the original signature.
    h, _, s = jwt(good, key=b"s3cret").split(".")
    p = jwt({"sub": "u1", "exp": now() + 9999}, key=b"x").split(".")[1]
    assert login(b, f"{h}.{p}.{s}") == BAD_CREDENTIALS
    # Not a JWT at all: left to others, and nobody else lets it in.
    assert login(b, "just-a-password") == NOT_AUTHORIZED


def test_rs256_public_key_and_jwks_file(broker_factory, tmp_path):
    rsa, es = rsa_key(), ec_key()
    (tmp_path / "pub.pem").write_bytes(public_pem(rsa))
    b = broker_factory(jwt_config(f'public_key = "{tmp_path / "pub.pem"}"\n'))
    assert isinstance(login(b, jwt({"exp": now() + 60}, alg="RS256", key=rsa)), Client)
    assert login(b, jwt({"exp": now() + 60}, alg="RS256", key=rsa_key())) == BAD_CREDENTIALS
    # An HS256 token "signed" with the public key itself must not pass (algorithm confusion).
    assert login(b, jwt({}, alg="HS256", key=public_pem(rsa))) == BAD_CREDENTIALS

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk(rsa, "r1"), jwk(es, "e1")]}))
    b2 = broker_factory(jwt_config(f'jwks_file = "{jwks}"\nreload_interval = "100ms"\n'))
    assert isinstance(login(b2, jwt({}, alg="ES256", key=es, kid="e1")), Client)
    assert isinstance(login(b2, jwt({}, alg="RS256", key=rsa, kid="r1")), Client)
    assert login(b2, jwt({}, alg="ES256", key=ec_key(), kid="e1")) == BAD_CREDENTIALS
    # Key rotation: a new key in the file is used after the reload.
    es2 = ec_key()
    mark = b2.mark()
    jwks.write_text(json.dumps({"keys": [jwk(es2, "e2")]}))
    b2.wait_log("JWKS file reloaded", start=mark)
    assert isinstance(login(b2, jwt({}, alg="ES256", key=es2, kid="e2")), Client)
    assert login(b2, jwt({}, alg="ES256", key=es, kid="e1")) == BAD_CREDENTIALS


def test_jwks_url(broker_factory):
    rsa = rsa_key()
    doc = {"keys": [jwk(rsa, "k1")]}
    server = HttpServer(lambda path, fields: (200, doc, 0) if path == "/jwks" else (404, None, 0))
    try:
        b = broker_factory(jwt_config(f'jwks_url = "{server.url}/jwks"\n'))
        b.wait_log("JWKS fetched")
        assert isinstance(login(b, jwt({}, alg="RS256", key=rsa, kid="k1")), Client)
        assert login(b, jwt({}, alg="RS256", key=rsa_key(), kid="k1")) == BAD_CREDENTIALS
    finally:
        server.close()


def test_acl_claim(broker_factory):
    b = broker_factory(jwt_config('secret = "k"\n'))
    acl = {"pub": ["up/${clientid}"], "sub": ["down/%u/#"]}
    c = login(b, jwt({"acl": acl}, key=b"k"), user="alice", cid="dev1")
    assert pub(c, "up/dev1") == 0
    assert pub(c, "up/dev2") == NOT_AUTHORIZED
    assert rc_value(c.subscribe("down/alice/#", qos=1)[0]) == 1
    assert rc_value(c.subscribe("down/+/#", qos=1)[0]) == NOT_AUTHORIZED
    assert rc_value(c.subscribe("#", qos=1)[0]) == NOT_AUTHORIZED
    # The same claims for a user named like a wildcard grant nothing wider.
    for name in ["+", "#", "a/b"]:
        m = login(b, jwt({"acl": acl}, key=b"k"), user=name, cid="dev9")
        assert rc_value(m.subscribe("down/+/#", qos=1)[0]) == NOT_AUTHORIZED, name
        assert rc_value(m.subscribe("down/#", qos=1)[0]) == NOT_AUTHORIZED, name
    # The list form, with a deny first.
    rules = [{"permission": "deny", "action": "publish", "topic": "t/secret"},
             {"permission": "allow", "action": "all", "topic": "t/#"}]
    d = login(b, jwt({"acl": rules}, key=b"k"))
    assert pub(d, "t/a") == 0
    assert pub(d, "t/secret") == NOT_AUTHORIZED


@pytest.mark.parametrize("protocol", [5, 4])
def test_expired_token_disconnects_the_client(broker_factory, protocol):
    b = broker_factory(jwt_config('secret = "k"\n'))
    exp = now() + 3
    c = login(b, jwt({"exp": exp}, key=b"k"), protocol=protocol)
    assert isinstance(c, Client)
    stays = login(b, jwt({"exp": now() + 600}, key=b"k"))
    rc = c.expect_disconnect(timeout=15)
    assert time.time() >= exp - 1
    if protocol == 5:
        assert rc_value(rc) == MAX_CONNECT_TIME
    b.wait_log("credentials expired")
    # The other client, whose token is still valid, is still served.
    stays.subscribe("e/x", qos=1)
    stays.publish("e/x", b"1", qos=1)
    assert stays.expect().payload == b"1"
    # And the expired token cannot log in again.
    assert login(b, jwt({"exp": exp}, key=b"k")) == BAD_CREDENTIALS

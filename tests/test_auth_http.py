"""The HTTP sources ([auth.http_authn], [auth.http_authz]) against a real local HTTP server:
allow / deny / ignore answers, 204, templates in the URL and body, a timeout and a 500 turned
into the failure policy, the answer cache, and an expiry from the HTTP answer disconnecting the
client (the generic grant expiry, not only JWT)."""

import time

import pytest

import auth_support
from auth_support import HttpServer, now
from harness import Client
from test_exhook_support import rc_value

NOT_AUTHORIZED = 0x87
MAX_CONNECT_TIME = 0xA0


def authn_answer(path, f):
    user = f.get("username", "")
    if user == "slow":
        return 200, {"result": "allow"}, 3
    if user == "e500":
        return 500, {"result": "allow"}, 0
    if user == "garbage":
        return 200, b"not json", 0
    if user == "nocontent":
        return 204, None, 0
    if user == "short":
        return 200, {"result": "allow", "expire_at": now() + 2}, 0
    result = {"allow-u": "allow", "deny-u": "deny"}.get(user, "ignore")
    if f.get("password") != "pw":
        result = "deny"
    return 200, {"result": result, "is_superuser": user == "root"}, 0


def authz_answer(path, f):
    topic = f.get("topic", "")
    if topic.startswith("ok/"):
        return 200, {"result": "allow"}, 0
    if topic.startswith("no/"):
        return 200, {"result": "deny"}, 0
    if topic.startswith("slow/"):
        return 200, {"result": "allow"}, 3
    return 200, {"result": "ignore"}, 0


@pytest.fixture
def server():
    s = HttpServer(lambda path, f: authn_answer(path, f) if path.startswith("/authn")
                   else authz_answer(path, f))
    yield s
    s.close()


def login(b, user, password="pw"):
    return auth_support.login(b, user, password)


def authn(server, extra=""):
    return (f'[auth.http_authn]\nenable = true\nurl = "{server.url}/authn/${{clientid}}"\n'
            f'timeout = "1s"\n{extra}\n[auth.http_authn.headers]\nx-api-key = "k1"\n')


def test_authn_answers_and_templates(broker_factory, server):
    b = broker_factory("[mqtt]\nallow_anonymous = false\n" + authn(server))
    c = Client(b, username="allow-u", password="pw", client_id="a b/c", protocol=5)
    assert rc_value(c.connect()[1]) == 0
    method, path, fields, headers = server.seen()[-1]
    assert method == "POST" and path == "/authn/a%20b%2Fc"   # the URL value is percent-encoded
    assert fields == {"clientid": "a b/c", "username": "allow-u", "password": "pw",
                      "peerhost": "127.0.0.1"}
    assert headers.get("x-api-key") == "k1"
    assert login(b, "deny-u") == NOT_AUTHORIZED
    assert login(b, "allow-u", "wrong") == NOT_AUTHORIZED
    assert login(b, "someone") == NOT_AUTHORIZED           # ignore, then allow_anonymous = false
    assert isinstance(login(b, "nocontent"), Client)       # 204
    # Failures apply failed_action = deny: a timeout, a 500, an unreadable body.
    for user in ["slow", "e500", "garbage"]:
        assert login(b, user) == NOT_AUTHORIZED, user


def test_failed_action_ignore_and_get_method(broker_factory, server):
    cfg = authn(server, 'failed_action = "ignore"\nmethod = "get"\n')
    b = broker_factory("[mqtt]\nallow_anonymous = true\n" + cfg)
    # The server times out: ignored, so allow_anonymous lets the client in.
    assert isinstance(login(b, "slow"), Client)
    assert login(b, "deny-u") == NOT_AUTHORIZED
    method, path, fields, _ = server.seen()[-1]
    assert method == "GET" and fields["username"] == "deny-u"


def test_authn_cache(broker_factory, server):
    b = broker_factory(authn(server, 'cache_ttl = "1m"\n'))
    for _ in range(3):
        c = Client(b, username="allow-u", password="pw", client_id="same", protocol=5)
        assert rc_value(c.connect()[1]) == 0
        c.disconnect(wait=True)
    assert len([r for r in server.seen() if r[2].get("username") == "allow-u"]) == 1
    # A different password is a different request: asked, and denied.
    assert login(b, "allow-u", "other") == NOT_AUTHORIZED


def test_authz(broker_factory, server):
    cfg = (f'[authorization]\nno_match = "deny"\n[authorization.cache]\nenable = false\n'
           f'[auth.http_authz]\nenable = true\nurl = "{server.url}/authz"\ntimeout = "1s"\n')
    b = broker_factory(cfg)
    c = Client(b, client_id="z1", protocol=5)
    assert rc_value(c.connect()[1]) == 0
    assert rc_value(c.subscribe("ok/#", qos=1)[0]) == 1
    assert rc_value(c.publish("ok/1", b"x", qos=1)) == 0
    assert c.expect().topic == "ok/1"
    assert rc_value(c.publish("no/1", b"x", qos=1)) == NOT_AUTHORIZED
    assert rc_value(c.publish("other/1", b"x", qos=1)) == NOT_AUTHORIZED  # ignore → no_match
    assert rc_value(c.publish("slow/1", b"x", qos=1)) == NOT_AUTHORIZED   # timeout → deny
    req = [r for r in server.seen("/authz") if r[2]["topic"] == "ok/1"][0]
    assert req[2]["action"] == "publish" and req[2]["clientid"] == "z1"
    sub = [r for r in server.seen("/authz") if r[2]["topic"] == "ok/#"][0]
    assert sub[2]["action"] == "subscribe"


def test_expiry_from_an_http_answer_disconnects(broker_factory, server):
    b = broker_factory(authn(server))
    c = login(b, "short")
    assert isinstance(c, Client)
    start = time.time()
    assert rc_value(c.expect_disconnect(timeout=15)) == MAX_CONNECT_TIME
    assert time.time() - start < 14

"""Identity never flows unescaped into a topic (the CVE-2017-7650 class). With a listener
`mountpoint = "t/${username}/"`, a user named `+` subscribing to `#` must not read tenant `a`'s
topics: a user name or client id that would put `+`, `#`, U+0000 or (by default) `/` into a
mount point is refused with CONNACK 0x85 (MQTT 3.x: return code 2), as is an empty one and a `$`
at the start of a topic."""

import pytest

from harness import Client, barrier
from test_malformed import Raw, connect_v4

TENANTS = """
[mqtt]
allow_anonymous = true
[listeners.tcp.default]
bind = "127.0.0.1:0"
mountpoint = "t/${username}/"
[listeners.tcp.byid]
bind = "127.0.0.1:0"
mountpoint = "${clientid}/"
"""


@pytest.fixture
def tenants(broker_factory):
    return broker_factory(TENANTS)


def connect(b, protocol=4, listener="tcp:default", **kw):
    c = Client(b, protocol=protocol, port=b.listeners[listener][1], **kw)
    _, rc, _ = c.connect()
    return c, rc


def test_a_wildcard_user_name_cannot_read_another_tenant(tenants):
    a, rc = connect(tenants, username="a")
    assert rc == 0
    a.publish("secret", b"tenant a only", qos=1, retain=True)
    # (paho reports MQTT 3.x return code 2 as 0x85 too; the raw test below reads the byte.)
    for proto in (3, 4, 5):
        for name in ["+", "#", "a/+", "x#"]:
            c, rc = connect(tenants, protocol=proto, username=name)
            assert rc == 0x85, (proto, name, rc)
    # A well-behaved tenant still works and sees only its own tree.
    b, rc = connect(tenants, username="b")
    assert rc == 0
    b.subscribe("#", 1)
    b.subscribe("barrier/x", 1)
    assert barrier(b, b) == []


@pytest.mark.parametrize("name", ["a/b", ""])
def test_slash_and_empty_user_names_are_refused(tenants, name):
    # (U+0000 cannot arrive in a CONNECT string, which the codec refuses as malformed
    # [MQTT-1.5.4-2], only from a certificate's CN or DN: a unit test covers it.)
    c, rc = connect(tenants, protocol=5, username=name)
    assert rc == 0x85


def test_a_user_name_like_sys_stays_inside_its_tenant(tenants):
    # "t/$SYS/" is an ordinary topic level: not refused, and its '#' reads only its own tree.
    sysname, rc = connect(tenants, username="$SYS")
    assert rc == 0
    sysname.subscribe("#", 1)
    sysname.publish("mine", b"1", qos=1)
    m = sysname.expect()
    assert (m.topic, m.payload) == ("mine", b"1")


@pytest.mark.parametrize("cid,ok", [("dev1", True), ("+", False), ("#", False), ("a/b", False),
                                    ("$SYS", False), ("$share", False)])
def test_client_ids_in_a_mountpoint(tenants, cid, ok):
    # Here the identity starts the topic, so a leading '$' would reach $SYS or $share.
    c, rc = connect(tenants, protocol=5, listener="tcp:byid", client_id=cid)
    assert (rc == 0) is ok, (cid, rc)


def test_slash_can_be_allowed(broker_factory):
    b = broker_factory(TENANTS.replace("allow_anonymous = true", "allow_anonymous = true\ntopic_template_allow_slash = true"))
    c, rc = connect(b, username="a/b")
    assert rc == 0
    c, rc = connect(b, username="+")
    assert rc == 0x85


def test_mqtt_3_gets_return_code_2(tenants):
    r = Raw(tenants.listeners["tcp:byid"][1])
    r.send(connect_v4(client_id="+"))
    assert r.expect_closed() == [(0x20, b"\x00\x02")]

"""Revocation reaches delivery (the CVE-2021-34434 / CVE-2018-12546 class). alice's persistent
`shared/#` is granted, then the ACL hook starts denying it. With `authorization.recheck`:
`resume` (default) re-checks her subscriptions when she comes back and when her authorization is
invalidated (API, `hookmq ctl clients reauthorize`); `deliver` checks every message through her
cache; `subscribe` keeps the old behaviour. Retained messages sent on subscribe are read-checked."""

import json

import pytest

from harness import BIN, Client
from security_support import (ACL, login, nothing_before_barrier, reauthorize, secure_broker,
                              set_acl)
from test_port_support import ctl

REVOKED = dict(ACL, alice=["alice/#"])


def alice_on_shared(b):
    """alice subscribed to shared/# (granted) and alice/barrier; returns (alice, svc)."""
    alice, _ = login(b, "alice", client_id="alice-dev")
    assert alice.subscribe("shared/#", 1) == [1]
    assert alice.subscribe("alice/barrier", 1) == [1]
    svc, _ = login(b, "svc", clean=True)
    svc.publish("shared/granted", b"granted", qos=1)
    assert nothing_before_barrier(svc, alice, "alice/barrier") == [("shared/granted", b"granted")]
    return alice, svc


def test_a_revoked_subscription_stops_at_reconnect(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path)
    alice, svc = alice_on_shared(b)
    alice.disconnect(wait=True)
    svc.publish("shared/retained", b"retained", qos=1, retain=True)
    svc.publish("shared/queued", b"queued", qos=1)
    set_acl(tmp_path, REVOKED)
    alice, present = login(b, "alice", client_id="alice-dev")
    assert present is True
    svc.publish("shared/new", b"new", qos=1)
    assert nothing_before_barrier(svc, alice, "alice/barrier") == []
    b.events.wait("session_unsubscribed", lambda e: e["clientid"] == "alice-dev" and e["topic"] == "shared/#")
    # Subscribing again is refused, so the retained message is not sent either.
    assert alice.subscribe("shared/#", 1) == [128]
    assert nothing_before_barrier(svc, alice, "alice/barrier") == []


def test_a_revoked_subscription_stops_while_connected_once_reauthorized(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path)
    alice, svc = alice_on_shared(b)
    set_acl(tmp_path, REVOKED)
    status, body = reauthorize(b, "alice-dev")
    assert status == 200, body
    assert body["unsubscribed"] == ["shared/#"]
    svc.publish("shared/new", b"new", qos=1)
    assert nothing_before_barrier(svc, alice, "alice/barrier") == []


def test_ctl_reauthorizes_every_session(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path)
    alice, svc = alice_on_shared(b)
    # An offline session is re-checked too.
    carol, _ = login(b, "alice", client_id="alice-2")
    assert carol.subscribe("shared/x", 1) == [1]
    carol.disconnect(wait=True)
    set_acl(tmp_path, REVOKED)
    out = ctl(b, "clients", "reauthorize", "--all")
    assert out.returncode == 0, out.stderr
    assert "alice-dev" in out.stdout and "alice-2" in out.stdout
    svc.publish("shared/x", b"new", qos=1)
    assert nothing_before_barrier(svc, alice, "alice/barrier") == []
    status, body = reauthorize(b, "nobody")
    assert status == 404


def test_recheck_subscribe_keeps_granted_subscriptions(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path, recheck="subscribe")
    alice, svc = alice_on_shared(b)
    alice.disconnect(wait=True)
    set_acl(tmp_path, REVOKED)
    svc.publish("shared/queued", b"queued", qos=1)
    alice, _ = login(b, "alice", client_id="alice-dev")
    assert nothing_before_barrier(svc, alice, "alice/barrier") == [("shared/queued", b"queued")]


def test_recheck_deliver_checks_every_message(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path, recheck="deliver", cache="enable = false")
    alice, svc = alice_on_shared(b)
    set_acl(tmp_path, dict(ACL, alice=["!shared/secret", "alice/#", "shared/#"]))
    svc.publish("shared/secret", b"secret", qos=1)
    svc.publish("shared/open", b"open", qos=1)
    assert nothing_before_barrier(svc, alice, "alice/barrier") == [("shared/open", b"open")]
    b.events.wait("message_dropped", lambda e: e["payload"] == "secret" and e["reason"] == "not_authorized")


def test_retained_messages_are_read_checked_on_subscribe(broker_factory, tmp_path):
    b = secure_broker(broker_factory, tmp_path)
    set_acl(tmp_path, dict(ACL, alice=["!shared/secret", "alice/#", "shared/#"]))
    svc, _ = login(b, "svc", clean=True)
    svc.publish("shared/secret", b"secret", qos=1, retain=True)
    svc.publish("shared/open", b"open", qos=1, retain=True)
    alice, _ = login(b, "alice", clean=True)
    assert alice.subscribe("alice/barrier", 1) == [1]
    assert alice.subscribe("shared/#", 1) == [1]
    assert nothing_before_barrier(svc, alice, "alice/barrier") == [("shared/open", b"open")]

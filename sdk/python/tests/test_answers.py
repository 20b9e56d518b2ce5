"""Handler results become the protocol replies the broker expects."""

import asyncio

from hookmq_ext import Auth, Continue, Extension, Fail, Publish, Stop, hook
from hookmq_ext._pb import event_pb2, reply_pb2
from hookmq_ext.answers import reply


def test_bare_values_stop_and_edits_continue():
    r = reply(7, True)
    assert (r.id, r.outcome, r.WhichOneof("value"), r.allow) == (7, reply_pb2.STOP, "allow", True)
    r = reply(8, Auth.BAD_CREDENTIALS)
    assert (r.outcome, r.auth.allow, r.auth.reason_code) == (reply_pb2.STOP, False, 0x86)
    r = reply(9, Publish(topic="a/b", payload="x"))
    assert (r.outcome, r.message.topic, r.message.payload) == (reply_pb2.CONTINUE, "a/b", b"x")
    assert not r.message.HasField("qos")
    r = reply(10, Publish.DROP)
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.STOP, "drop")
    assert reply(11, None).outcome == reply_pb2.IGNORE
    assert reply(12, Continue(False)).outcome == reply_pb2.CONTINUE
    assert reply(13, Stop(Auth.SUPERUSER)).auth.superuser
    r = reply(14, Fail("db down"))
    assert (r.outcome, r.error) == (reply_pb2.FAIL, "db down")


class Two(Extension):
    @hook("client.authorize")
    def acl(self, event):
        return not event.topic.startswith("secret/")

    @hook("message.publish", topics=["t/#"], observe=True)
    async def record(self, event):
        self.seen.append(event.message.topic)
        return Publish.DROP  # ignored by the broker: observe-only

    @hook("client.connected")
    def boom(self, event):
        raise RuntimeError("no")

    seen = []


def test_registration_and_batch_handling():
    ext = Two()
    reg = ext.register()
    got = {(h.point, tuple(h.topics), h.observe) for h in reg.hooks}
    assert got == {("client.authorize", (), False), ("message.publish", ("t/#",), True),
                   ("client.connected", (), False)}
    events = [
        event_pb2.Event(id=1, client_authorize=event_pb2.ClientAuthorize(topic="secret/x")),
        event_pb2.Event(id=2, no_reply=True, message_publish=event_pb2.MessagePublish(
            message=event_pb2.Message(topic="t/1"))),
        event_pb2.Event(id=3, client_authorize=event_pb2.ClientAuthorize(topic="ok")),
        event_pb2.Event(id=4, no_reply=True, client_connected=event_pb2.ClientConnected()),
        event_pb2.Event(id=5, session_created=event_pb2.SessionEvent()),
    ]
    replies = asyncio.run(ext.handle_batch(events, ext._handlers()))
    assert [(r.id, r.outcome, r.allow) for r in replies] == [
        (1, reply_pb2.STOP, False), (3, reply_pb2.STOP, True), (5, reply_pb2.IGNORE, False)]
    assert Two.seen == ["t/1"]


def test_enhanced_authentication_answers():
    from hookmq_ext import AuthContinue, AuthFailure, AuthSuccess

    r = reply(20, AuthContinue(b"server-first", state="s1"))
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.STOP, "enhanced_auth")
    c = r.enhanced_auth.continue_auth
    assert (c.data, c.state) == (b"server-first", b"s1")
    r = reply(21, AuthSuccess("v=sig", superuser=True))
    ok = r.enhanced_auth.success
    assert (r.enhanced_auth.WhichOneof("answer"), ok.data, ok.superuser) == ("success", b"v=sig", True)
    r = reply(22, AuthFailure(0x86, "bad proof"))
    f = r.enhanced_auth.failure
    assert (f.reason_code, f.reason_string) == (0x86, "bad proof")
    # No data is no field at all, not empty data.
    r = reply(23, AuthContinue())
    assert r.enhanced_auth.WhichOneof("answer") == "continue_auth"
    assert not r.enhanced_auth.continue_auth.HasField("data")


def test_modify_rights_answers():
    from hookmq_ext import Filter, Publish

    r = reply(30, Publish(retain=True, properties={
        "content_type": "text/plain", "correlation_data": "c",
        "user_properties": {"k": "v"}}))
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.CONTINUE, "message")
    e = r.message
    assert e.retain and e.properties.content_type == "text/plain"
    assert e.properties.correlation_data == b"c"
    assert [(u.key, u.value) for u in e.properties.user_properties] == [("k", "v")]
    assert not e.HasField("topic")
    r = reply(31, Publish.CONSUME)
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.STOP, "consume")
    r = reply(33, Publish.HOLD)
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.CONTINUE, "hold")
    assert not r.hold.HasField("message")
    r = reply(34, Publish(topic="held/x", hold=True))
    assert (r.WhichOneof("value"), r.hold.message.topic) == ("hold", "held/x")
    r = reply(32, [Filter.KEEP, Filter(filter="a/#", qos=2), Filter(refuse=0x87)])
    assert (r.outcome, r.WhichOneof("value")) == (reply_pb2.CONTINUE, "filters")
    keep, rewrite, refuse = r.filters.filters
    assert not keep.HasField("filter") and not keep.HasField("refuse")
    assert (rewrite.filter, rewrite.qos) == ("a/#", 2)
    assert refuse.refuse == 0x87

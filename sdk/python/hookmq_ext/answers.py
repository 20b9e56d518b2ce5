"""What a handler returns at a valued point, and how it becomes a protocol reply.

A handler may return:

- ``None``: no opinion (IGNORE); the next handler sees the same value;
- a bare value, which ends the chain (STOP) for ``True`` / ``False`` and the ``Auth`` values,
  and lets the next handler see it (CONTINUE) for a ``Publish`` edit; ``Publish.DROP`` stops;
- ``Stop(value)`` or ``Continue(value)`` to say it explicitly;
- ``Fail("why")``: the handler failed; the broker applies the extension's ``failed_action``.

Values: ``client.authenticate`` takes ``True`` / ``False`` or an ``Auth``; ``client.authorize``
takes ``True`` / ``False``; ``message.publish`` takes a ``Publish``;
``client.enhanced_authenticate`` takes ``AuthContinue(data, state)``,
``AuthSuccess(data, superuser=False)``, ``AuthFailure(code, reason)`` or ``True`` / ``False``.
"""

from ._pb import event_pb2, reply_pb2

IGNORE = reply_pb2.IGNORE
CONTINUE = reply_pb2.CONTINUE
STOP = reply_pb2.STOP
FAIL = reply_pb2.FAIL


class Stop:
    """End the chain with this value."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Continue:
    """Replace the value and let the next handler see it."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Fail:
    """The handler failed: the broker applies the extension's failure policy."""

    __slots__ = ("reason",)

    def __init__(self, reason="failed"):
        self.reason = str(reason)


class Auth:
    """A ``client.authenticate`` value."""

    __slots__ = ("allow", "superuser", "reason_code")

    def __init__(self, allow, superuser=False, reason_code=0):
        self.allow = allow
        self.superuser = superuser
        self.reason_code = reason_code

    def proto(self):
        return event_pb2.AuthResult(allow=self.allow, superuser=self.superuser,
                                    reason_code=self.reason_code)


Auth.ALLOW = Auth(True)
Auth.SUPERUSER = Auth(True, superuser=True)
# CONNACK 0x87 Not authorized (MQTT 3.x return code 5).
Auth.DENY = Auth(False, reason_code=0x87)
# CONNACK 0x86 Bad user name or password (MQTT 3.x return code 4).
Auth.BAD_CREDENTIALS = Auth(False, reason_code=0x86)


class AuthContinue:
    """``client.enhanced_authenticate``: send the client AUTH 0x18 with ``data``; ``state``
    (bytes) comes back as ``event.state`` at the client's next step."""

    __slots__ = ("data", "state")

    def __init__(self, data=None, state=None):
        self.data = data.encode() if isinstance(data, str) else data
        self.state = state.encode() if isinstance(state, str) else state


class AuthSuccess:
    """``client.enhanced_authenticate``: let the client in (CONNACK 0x00, or AUTH 0x00 after a
    re-authentication) with final ``data``."""

    __slots__ = ("data", "superuser", "expire_at_ms")

    def __init__(self, data=None, superuser=False, expire_at_ms=0):
        self.data = data.encode() if isinstance(data, str) else data
        self.superuser = superuser
        self.expire_at_ms = expire_at_ms


class AuthFailure:
    """``client.enhanced_authenticate``: refuse with a CONNACK refusal code (0x86, 0x87, 0x8C,
    ...) and an optional reason string."""

    __slots__ = ("code", "reason")

    def __init__(self, code=0x87, reason=None):
        self.code = code
        self.reason = reason


def _enhanced(reply, value):
    e = reply.enhanced_auth
    if isinstance(value, AuthContinue):
        c = e.continue_auth
        c.SetInParent()
        if value.data is not None:
            c.data = value.data
        if value.state is not None:
            c.state = value.state
    elif isinstance(value, AuthSuccess):
        ok = e.success
        ok.SetInParent()
        if value.data is not None:
            ok.data = value.data
        ok.superuser = bool(value.superuser)
        ok.expire_at_ms = int(value.expire_at_ms)
    else:
        f = e.failure
        f.SetInParent()
        f.reason_code = int(value.code)
        if value.reason is not None:
            f.reason_string = str(value.reason)


class Publish:
    """A ``message.publish`` value: route the message with these changes (unset ones keep the
    message's), or ``Publish.DROP`` to route nothing."""

    __slots__ = ("topic", "payload", "qos", "drop")

    def __init__(self, topic=None, payload=None, qos=None, drop=False):
        self.topic = topic
        self.payload = payload.encode() if isinstance(payload, str) else payload
        self.qos = qos
        self.drop = drop


Publish.DROP = Publish(drop=True)


def _value(reply, value):
    """Puts `value` into the reply's `value` oneof."""
    if value is True or value is False:
        reply.allow = value
    elif isinstance(value, Auth):
        reply.auth.CopyFrom(value.proto())
    elif isinstance(value, (AuthContinue, AuthSuccess, AuthFailure)):
        _enhanced(reply, value)
    elif isinstance(value, Publish):
        if value.drop:
            reply.drop.SetInParent()
        else:
            edit = reply.message
            edit.SetInParent()
            if value.topic is not None:
                edit.topic = value.topic
            if value.payload is not None:
                edit.payload = value.payload
            if value.qos is not None:
                edit.qos = value.qos
    else:
        raise TypeError(f"a handler returned {value!r}, which is not a hook value")


def reply(event_id, result):
    """The protocol reply for a handler's result."""
    if result is None:
        return reply_pb2.Reply(id=event_id)
    if isinstance(result, Fail):
        return reply_pb2.Reply(id=event_id, outcome=FAIL, error=result.reason)
    if isinstance(result, Stop):
        outcome, value = STOP, result.value
    elif isinstance(result, Continue):
        outcome, value = CONTINUE, result.value
    elif isinstance(result, Publish) and not result.drop:
        outcome, value = CONTINUE, result
    else:
        outcome, value = STOP, result
    r = reply_pb2.Reply(id=event_id, outcome=outcome)
    _value(r, value)
    return r

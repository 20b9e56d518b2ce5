"""What a handler returns at a valued point, and how it becomes a protocol reply.

A handler may return:

- ``None``: no opinion (IGNORE); the next handler sees the same value;
- a bare value, which ends the chain (STOP) for ``True`` / ``False`` and the ``Auth`` values,
  and lets the next handler see it (CONTINUE) for a ``Publish`` edit; ``Publish.DROP`` stops;
- ``Stop(value)`` or ``Continue(value)`` to say it explicitly;
- ``Fail("why")``: the handler failed; the broker applies the extension's ``failed_action``.

Values: ``client.authenticate`` takes ``True`` / ``False`` or an ``Auth``; ``client.authorize``
takes ``True`` / ``False``; ``message.publish`` takes a ``Publish`` (``Publish.DROP``,
``Publish.CONSUME``); ``client.subscribe`` takes a list with one ``Filter`` per filter of the
event, in order (a bare list continues the chain);
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
    message's), ``Publish.DROP`` to route nothing (reported as dropped), or ``Publish.CONSUME``
    to acknowledge the publisher and route nothing (no drop reported). ``hold=True``
    (``Publish.HOLD`` for the message as it is) routes the message but holds the publisher's
    PUBACK / PUBREC until ``broker.confirm(event.message.id, ok)`` or the server's
    ``hold_timeout`` (docs/hooks.md, "Held acknowledgements").

    ``properties`` (a dict) replaces the message's MQTT 5 properties: ``payload_format_indicator``,
    ``message_expiry_interval``, ``content_type``, ``response_topic``, ``correlation_data``
    (bytes) and ``user_properties`` (a list of ``(key, value)`` pairs or a dict)."""

    __slots__ = ("topic", "payload", "qos", "drop", "retain", "properties", "consume", "hold")

    def __init__(self, topic=None, payload=None, qos=None, drop=False, retain=None,
                 properties=None, consume=False, hold=False):
        self.topic = topic
        self.payload = payload.encode() if isinstance(payload, str) else payload
        self.qos = qos
        self.drop = drop
        self.retain = retain
        self.properties = properties
        self.consume = consume
        self.hold = hold


Publish.DROP = Publish(drop=True)
Publish.CONSUME = Publish(consume=True)
Publish.HOLD = Publish(hold=True)


class Filter:
    """One filter of a ``client.subscribe`` answer: unset fields keep the filter's value;
    ``refuse`` refuses it with a SUBACK code (0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1,
    0xA2)."""

    __slots__ = ("filter", "qos", "no_local", "retain_as_published", "retain_handling", "refuse")

    def __init__(self, filter=None, qos=None, no_local=None, retain_as_published=None,
                 retain_handling=None, refuse=None):
        self.filter = filter
        self.qos = qos
        self.no_local = no_local
        self.retain_as_published = retain_as_published
        self.retain_handling = retain_handling
        self.refuse = refuse


Filter.KEEP = Filter()


def _properties(props, values):
    """Fills an ``event_pb2.Properties`` from a dict of message properties."""
    props.SetInParent()
    for key, value in values.items():
        if key == "user_properties":
            pairs = value.items() if isinstance(value, dict) else value
            for k, v in pairs:
                props.user_properties.add(key=str(k), value=str(v))
        elif key == "correlation_data":
            props.correlation_data = value.encode() if isinstance(value, str) else value
        else:
            setattr(props, key, value)


def _filters(reply, filters):
    answer = reply.filters
    answer.SetInParent()
    for f in filters:
        a = answer.filters.add()
        for field in Filter.__slots__:
            value = getattr(f, field)
            if value is not None:
                setattr(a, field, value)


def _value(reply, value):
    """Puts `value` into the reply's `value` oneof."""
    if value is True or value is False:
        reply.allow = value
    elif isinstance(value, Auth):
        reply.auth.CopyFrom(value.proto())
    elif isinstance(value, (AuthContinue, AuthSuccess, AuthFailure)):
        _enhanced(reply, value)
    elif isinstance(value, list):
        _filters(reply, value)
    elif isinstance(value, Publish):
        if value.drop:
            reply.drop.SetInParent()
        elif value.consume:
            reply.consume.SetInParent()
        else:
            if value.hold:
                reply.hold.SetInParent()
                if all(getattr(value, f) is None
                       for f in ("topic", "payload", "qos", "retain", "properties")):
                    return
                edit = reply.hold.message
            else:
                edit = reply.message
            edit.SetInParent()
            if value.topic is not None:
                edit.topic = value.topic
            if value.payload is not None:
                edit.payload = value.payload
            if value.qos is not None:
                edit.qos = value.qos
            if value.retain is not None:
                edit.retain = value.retain
            if value.properties is not None:
                _properties(edit.properties, value.properties)
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
    elif (isinstance(result, Publish) and not (result.drop or result.consume)) \
            or isinstance(result, list):
        outcome, value = CONTINUE, result
    else:
        outcome, value = STOP, result
    r = reply_pb2.Reply(id=event_id, outcome=outcome)
    _value(r, value)
    return r

"""Broker services for hooks that run on hookmq's Python port runtime.

hookmq puts this module on the worker's ``PYTHONPATH`` next to ``erlport`` and ``hookmq_port``,
so hook code imports it without installing anything::

    import hookmq
    from hookmq_port import hook, specs

    @hook("message_publish", topics=["ping/#"])
    def pong(message, state):
        m = dict(message)
        hookmq.publish("pong/" + m[b"from"].decode(), m[b"payload"], qos=1)
        return None

Each function sends one ``erlang.call(Atom(b"hookmq"), Atom(b"<service>"), [Args...])`` to the
broker and waits for its answer (while waiting, the runtime goes on serving the broker's calls).
Code written for erlport may make the same calls itself. A refused call raises
``ServiceError`` with a stable ``code`` (``invalid_topic``, ``unknown_client``, ``not_allowed``,
``payload_too_large``, ``loop_limit``, ``bad_argument``, ...) and the broker's message.

Call these from the thread that runs the hooks (erlport's rule). A ``publish`` made while a
``message_publish`` hook runs counts as derived from that message: with ``through_hooks=True``
it passes ``message_publish`` again, at most 8 times in a row (see docs/services.md).
"""

from erlport import erlang
from erlport.erlterms import Atom

__all__ = [
    "ServiceError", "publish", "kick", "subscribe", "unsubscribe", "client", "clients",
    "session", "retained_get", "retained_set", "retained_delete", "authz_cache_invalidate",
    "metrics", "confirm",
]

MODULE = Atom(b"hookmq")

# Keys whose values are text; the others keep their decoded type (payloads stay bytes).
_TEXT = {"clientid", "username", "peer", "topic", "filter", "id"}


class ServiceError(Exception):
    """The broker refused a service call: ``code`` names why, ``message`` says it in words."""

    def __init__(self, code, message):
        self.code = code
        self.message = message
        super().__init__("%s: %s" % (code, message))


def _b(text):
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def _is_proplist(value):
    return bool(value) and all(type(v) is tuple and len(v) == 2 and isinstance(v[0], Atom)
                               for v in value)


def _plain(value, key=None):
    """The broker's answer as Python values: proplists (``[{key, Value}]``, the port protocol
    has no maps) become dicts with str keys, text fields become str."""
    if isinstance(value, list) and _is_proplist(value):
        return {_key(k): _plain(v, _key(k)) for k, v in value}
    if isinstance(value, dict):
        return {_key(k): _plain(v, _key(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if key in _TEXT and isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(k):
    return k.decode("latin-1") if isinstance(k, bytes) else k


def _call(name, *args):
    try:
        result = erlang.call(MODULE, Atom(name.encode("ascii")), list(args))
    except erlang.ErlangError as e:
        if getattr(e, "language", None) == MODULE:
            message = e.value.decode("utf-8", "replace") if isinstance(e.value, bytes) else str(e.value)
            raise ServiceError(_key(e.type), message) from None
        raise
    return _plain(result)


def _options(**values):
    return [(Atom(k.encode("ascii")), v) for k, v in values.items() if v is not None]


def _properties(properties):
    """``{"user_properties": [(k, v)] or {k: v}, "content_type": ..., "response_topic": ...,
    "correlation_data": bytes, "message_expiry_interval": int, "payload_format_indicator": 0|1}``
    as options."""
    if not properties:
        return []
    out = []
    for key, value in properties.items():
        if key == "user_properties":
            pairs = value.items() if isinstance(value, dict) else value
            value = [(_b(k), _b(v)) for k, v in pairs]
        elif key in ("content_type", "response_topic", "correlation_data"):
            value = _b(value)
        out.append((Atom(key.encode("ascii")), value))
    return out


def publish(topic, payload=b"", qos=0, retain=False, through_hooks=False, properties=None):
    """Publishes a message as the broker. Returns ``{"id": str, "receivers": int or None}``
    (``None`` with ``through_hooks``: the message is accepted before ``message_publish`` runs)."""
    opts = _options(qos=qos, retain=retain, through_hooks=through_hooks) + _properties(properties)
    return _call("publish", _b(topic), _b(payload), opts)


def kick(clientid, reason=0x98):
    """Disconnects a client; MQTT 5 clients get DISCONNECT with ``reason``."""
    _call("kick", _b(clientid), reason)


def subscribe(clientid, topic_filter, qos=0, no_local=False, retain_as_published=False,
              retain_handling=0):
    """Subscribes a connected client or a persistent session; returns the granted QoS."""
    opts = _options(qos=qos, no_local=no_local, retain_as_published=retain_as_published,
                    retain_handling=retain_handling)
    return _call("subscribe", _b(clientid), _b(topic_filter), opts)


def unsubscribe(clientid, topic_filter):
    """Removes a client's subscription; returns whether it existed."""
    return _call("unsubscribe", _b(clientid), _b(topic_filter))


def client(clientid):
    """``{"clientid", "username", "connected", "peer", "proto_ver", "expiry_interval",
    "created_at"}``."""
    return _call("client", _b(clientid))


def clients(clientid_prefix=None, username=None, connected=None, offset=0, limit=100):
    """``{"clients": [client...], "total": int}``, sorted by client id."""
    opts = _options(clientid_prefix=None if clientid_prefix is None else _b(clientid_prefix),
                    username=None if username is None else _b(username),
                    connected=connected, offset=offset, limit=limit)
    return _call("clients", opts)


def session(clientid):
    """``{"clientid", "connected", "subscriptions": [{"filter", "qos", "no_local",
    "retain_as_published", "retain_handling"}], "queue_len", "inflight", "expiry_interval"}``."""
    return _call("session", _b(clientid))


def retained_get(topic):
    """The retained message of ``topic`` (``{"topic", "payload", "qos", "retain", "timestamp",
    "user_properties"}``) or ``None``."""
    return _call("retained_get", _b(topic))


def retained_set(topic, payload, qos=0, properties=None):
    """Sets the retained message of ``topic``; an empty payload deletes it."""
    _call("retained_set", _b(topic), _b(payload), _options(qos=qos) + _properties(properties))


def retained_delete(topic):
    """Deletes the retained message of ``topic``; returns whether there was one."""
    return _call("retained_delete", _b(topic))


def authz_cache_invalidate(clientid=None):
    """Makes the broker authorize ``clientid`` (every client when ``None``) again: cached
    decisions are forgotten before the client's next packet. Returns the sessions re-checked."""
    return _call("authz_cache_invalidate", Atom(b"all") if clientid is None else _b(clientid))


def confirm(message_id, ok=True):
    """Releases the publisher's acknowledgement that a ``message_publish`` hook held by answering
    ``(0, "hold")`` (or ``(0, ("hold", Message))``) for the message ``message_id`` (its ``id``,
    32 hex digits): ``ok=True`` acknowledges with success, ``ok=False`` refuses (MQTT 5: 0x80;
    MQTT 3.x: the connection closes and the client sends the message again). An id that is not
    held (unknown, confirmed already, past the driver's ``hold_timeout``, publisher gone)
    raises ``ServiceError`` with code ``not_held``."""
    _call("confirm", _b(message_id), bool(ok))


def metrics():
    """The broker's counters: ``{"connections": int, "messages_received": int, ...}``."""
    return _call("metrics")

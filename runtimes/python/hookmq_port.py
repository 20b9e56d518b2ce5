"""Helpers for hooks that run on hookmq's Python port runtime.

hookmq puts this module on the worker's ``PYTHONPATH`` next to its ``erlport`` package, so hook
code imports it without installing anything::

    from hookmq_port import hook, observe, specs

    @hook("client_authenticate")
    def login(clientinfo, result, state):
        return (0, dict(clientinfo)[b"username"] == b"alice")

    @observe                                   # never waited for; delivered in batches
    @hook("message_publish", topics=["sensors/#"])
    def archive(message, state):
        store(dict(message))

    def init():
        return specs(__name__)

* ``auth_continue(data, state=None)``, ``auth_success(data=None, superuser=False)`` and
  ``auth_failure(code=0x87, reason=None)`` build the answers of ``client_enhanced_authenticate``
  (MQTT 5 enhanced authentication, see docs/hooks.md): send the client AUTH 0x18 with ``data``
  (``state`` comes back as the hook's ``exchange`` argument at the next step), let it in (with
  final ``data``), or refuse it with a CONNACK reason code and reason string::

    @hook("client_enhanced_authenticate")
    def scram(clientinfo, method, data, step, exchange, state):
        if method != b"SCRAM-SHA-256":
            return None                      # not ours: no opinion
        ...
        return auth_continue(server_first, exchange_state)

* ``login_allow(superuser=False, reason=None, user_properties=None, ...)`` and
  ``login_refuse(code=0x87, reason=None, user_properties=None)`` build the answers of
  ``client_authenticate`` with CONNACK terms: let the client in with a reason string, user
  properties, overrides (``session_expiry_interval``, ``server_keep_alive``, ``maximum_qos``,
  ``receive_maximum``) and an ``assigned_client_id``, or refuse it with any CONNACK refusal code
  and texts (see docs/hooks.md, "CONNACK terms")::

    @hook("client_authenticate")
    def login(clientinfo, result, state):
        info = dict(clientinfo)
        if info[b"username"] == b"banned":
            return login_refuse(0x8A, reason="banned until tomorrow")
        return login_allow(assigned_client_id="tenant-a/" + info[b"clientid"].decode(),
                           user_properties=[("tier", "gold")])

* ``hook(name, topics=None)`` registers a module-level function for a hook point
  (``message_publish`` or ``message.publish``); ``topics`` limits a message hook to those
  filters. ``specs(module_name, state=())`` builds what ``init()`` returns from the module's
  ``@hook`` functions, in the order they are defined.
* ``observe`` marks a hook observe-only: the broker never waits for it, does not ask for its
  result and ignores any value it returns (see docs/hooks.md). It works on ``@hook`` functions
  and on the methods of an ``emqx_extension.hooks.EmqxHookSdk`` class alike (above or below
  ``@hooks_handler()``): the runtime reads the mark when the broker registers the hooks.
"""

import sys

__all__ = [
    "hook", "observe", "specs", "auth_continue", "auth_success", "auth_failure", "login_allow",
    "login_refuse",
]

_HOOK = "__hookmq_hook__"
_OBSERVE = "__hookmq_observe__"  # read by erlport._batch when the broker registers the hooks


def observe(function):
    """Marks ``function`` (a hook) observe-only and returns it unchanged."""
    setattr(function, _OBSERVE, True)
    return function


def hook(name, topics=None):
    """Registers the decorated module-level function for the hook point ``name``."""
    if not isinstance(name, str) or not name:
        raise TypeError("a hook name is a str such as 'message_publish', not %r" % (name,))
    filters = list(topics or [])
    for f in filters:
        if not isinstance(f, str) or not f:
            raise TypeError("a topic filter is a non-empty str, not %r" % (f,))

    def register(function):
        setattr(function, _HOOK, (name, filters))
        return function

    return register


def specs(module_name, state=()):
    """``(0, (HookSpecs, state))`` for every ``@hook`` function of ``module_name``, in order:
    what ``init()`` returns."""
    module = sys.modules[module_name]
    found = []
    for attr, value in list(vars(module).items()):
        registered = getattr(value, _HOOK, None)
        if registered is None or not callable(value):
            continue
        name, filters = registered
        options = []
        if filters:
            options.append(("topics", filters))
        if getattr(value, _OBSERVE, False):
            options.append(("observe", True))
        found.append((name, module_name, attr, options))
    return (0, (found, state))


def auth_continue(data, state=None):
    """``client_enhanced_authenticate``: send AUTH 0x18 with ``data`` (bytes or None); ``state``
    (bytes or None) is handed back at the client's next step."""
    return (0, ("continue", data, state))


def auth_success(data=None, superuser=False):
    """``client_enhanced_authenticate``: let the client in, with final ``data`` (bytes or None)."""
    return (0, ("success", data, bool(superuser)))


def auth_failure(code=0x87, reason=None):
    """``client_enhanced_authenticate``: refuse with ``code`` (a CONNACK refusal code such as
    0x87 not authorized or 0x86 bad user name or password) and an optional reason string."""
    return (0, ("failure", int(code), reason))


def _text(value):
    """A text term: ``bytes`` as they are, anything else as UTF-8."""
    return value if isinstance(value, (bytes, bytearray)) else str(value).encode("utf-8")


def _users(user_properties):
    pairs = user_properties.items() if isinstance(user_properties, dict) else user_properties
    return [(_text(k), _text(v)) for k, v in pairs or ()]


def login_allow(superuser=False, reason=None, user_properties=None, session_expiry_interval=None,
                server_keep_alive=None, maximum_qos=None, receive_maximum=None,
                assigned_client_id=None, expire_at=None):
    """``client_authenticate``: let the client in on these CONNACK terms. ``reason`` and
    ``user_properties`` (a dict or a list of pairs) reach MQTT 5 clients; the overrides only
    tighten the broker's configuration; ``assigned_client_id`` replaces the client's id for the
    session and every hook (MQTT 3.x clients are not told); ``expire_at`` (seconds since the
    epoch) disconnects the client then."""
    terms = [("superuser", bool(superuser))]
    if reason is not None:
        terms.append(("reason_string", _text(reason)))
    if user_properties:
        terms.append(("user_properties", _users(user_properties)))
    for key, value in (("session_expiry_interval", session_expiry_interval),
                       ("server_keep_alive", server_keep_alive), ("maximum_qos", maximum_qos),
                       ("receive_maximum", receive_maximum), ("expire_at", expire_at)):
        if value is not None:
            terms.append((key, int(value)))
    if assigned_client_id is not None:
        terms.append(("assigned_client_id", _text(assigned_client_id)))
    return (0, ("allow", terms))


def login_refuse(code=0x87, reason=None, user_properties=None):
    """``client_authenticate``: refuse with ``code`` (any CONNACK refusal code, e.g. 0x8A banned,
    0x86 bad user name or password); MQTT 5 clients also get ``reason`` and
    ``user_properties``, MQTT 3.x clients the return code that maps from ``code``."""
    terms = []
    if reason is not None:
        terms.append(("reason_string", _text(reason)))
    if user_properties:
        terms.append(("user_properties", _users(user_properties)))
    return (0, ("deny", int(code), terms))

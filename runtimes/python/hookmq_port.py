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

__all__ = ["hook", "observe", "specs", "auth_continue", "auth_success", "auth_failure"]

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

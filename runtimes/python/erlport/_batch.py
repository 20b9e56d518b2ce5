"""hookmq's batched mode of the port protocol, spoken only when the broker asks for it.

The broker (hookmq) first calls ``'$hookmq':batch(Version)``; a runtime that does not know the
module (EMQX's erlport) answers with an error and the broker keeps one call per frame. This
runtime answers the version it speaks. After ``init()`` the broker registers the hooks it will
call with ``'$hookmq':targets(Targets, State)``: each target is ``{Module, Function, Shapes,
Observe}``. ``Shapes`` says, per argument, how it travels: ``[]`` as the term itself, or a list
of keys: the argument then travels as a tuple of values and arrives here as the proplist
``[(Key1, Value1), ...]`` EMQX sent, so hook code sees exactly what it always saw. ``State`` is
the state ``init()`` returned, appended to every call as before. The answer lists, per target,
whether it is observe-only: the broker said so, or the function is marked with the
``hookmq_port.observe`` decorator.

Then hook calls arrive as ``{'B', BatchId, [{Target, Args}, ...]}`` and are run in order. The
answer is one frame, ``{'R', BatchId, Results, Errors, Observed}``: ``Results`` holds the result
of every call that is not observe-only, in order (``undefined`` where the call raised);
``Errors`` holds ``{Index, Error}`` for every call that raised, ``Index`` counting all calls of
the batch, and ``Error`` the same ``{python, Class, Message, Traceback}`` a single call's error
reply carries. Observe-only calls have no result: the answer acknowledges them, and
``Observed`` holds ``{Index, Value}`` only for those that returned something other than
``None`` (the broker counts such values and ignores them).
"""

from .erlterms import Atom, List

__all__ = ["VERSION", "BadBatch", "negotiate", "register", "answer", "encodable"]

VERSION = 1
_MARK = "__hookmq_observe__"


class BadBatch(Exception):
    """A batch the broker should never send (an unknown target, a malformed item)."""


class _Target(object):
    """One registered hook: how to call it and whether the broker wants its result."""

    __slots__ = ("call", "reply")

    def __init__(self, call, reply):
        self.call = call
        self.reply = reply


_targets = {}  # index -> _Target


def negotiate(version):
    """``'$hookmq':batch(Version)``: the version both sides speak (0: none)."""
    if type(version) is not int or version < 1:
        return 0
    return min(version, VERSION)


def register(targets, state, resolve, decoder):
    """``'$hookmq':targets(Targets, State)``: prepares every target; returns their observe
    flags. ``resolve(module, function)`` finds a function as single calls do; ``decoder`` is
    the ``set_decoder`` function or None."""
    prepared, flags = {}, []
    for index, entry in enumerate(targets):
        if type(entry) is not tuple or len(entry) != 4:
            raise TypeError("a target must be {Module, Function, Shapes, Observe}, not %r"
                            % (entry,))
        module, function, shapes, observe = entry
        fn = resolve(module, function)
        observe = bool(observe) or bool(getattr(fn, _MARK, False))
        prepared[index] = _Target(_caller(fn, shapes, state, decoder), not observe)
        flags.append(observe)
    _targets.clear()
    _targets.update(prepared)
    return List(flags)


def _caller(fn, shapes, state, decoder):
    """A function of the wire arguments that calls ``fn`` as a single call would."""
    keys = [tuple(k) if k else None for k in shapes]
    if decoder is not None:
        def call(args):
            expanded = [List(zip(k, a)) if k else a for k, a in zip(keys, args)]
            return fn(*[decoder(a) for a in expanded], decoder(state))
        return call
    if not any(keys):
        return lambda args: fn(*args, state)
    if len(keys) == 1:
        (k0,) = keys
        return lambda args: fn(List(zip(k0, args[0])), state)
    if len(keys) == 2 and keys[1] is None:
        k0 = keys[0]
        return lambda args: fn(List(zip(k0, args[0])), args[1], state)
    return lambda args: fn(*[List(zip(k, a)) if k else a for k, a in zip(keys, args)], state)


def answer(request, encoder, error_term):
    """Runs the calls of ``{'B', BatchId, Items}``; returns the reply term. ``error_term(exc)``
    makes the error term of a call that raised."""
    items = request[2]
    if type(items) is not List:
        raise BadBatch("the items of a batch must be a list")
    targets = _targets
    results = []
    keep = results.append
    errors = []
    observed = []
    for index, item in enumerate(items):
        try:
            target = targets[item[0]]
        except (TypeError, KeyError):
            raise BadBatch("batch item %d names no registered target: %.100r"
                           % (index, item)) from None
        try:
            result = target.call(item[1])
            if target.reply:
                keep(result if encoder is None else encoder(result))
            elif result is not None:
                observed.append((index, result if encoder is None else encoder(result)))
        except Exception as exc:
            errors.append((index, error_term(exc)))
            if target.reply:
                keep(None)
    return (_REPLY, request[1], results, errors, observed)


def encodable(request, reply, frame, error_term):
    """``reply`` with every result that ``frame`` cannot encode replaced by ``undefined`` and
    an error for its call (a lambda, say, cannot be pickled); single calls get the same."""
    tag, batch_id, results, errors, observed = reply
    replied = [i for i, item in enumerate(request[2]) if _targets[item[0]].reply]
    errors = list(errors)
    kept = []
    for index, result in zip(replied, results):
        try:
            frame(result)
            kept.append(result)
        except Exception as exc:
            kept.append(None)
            errors.append((index, error_term(exc)))
    values = []
    for index, value in observed:
        try:
            frame(value)
            values.append((index, value))
        except Exception as exc:
            errors.append((index, error_term(exc)))
    errors.sort(key=lambda e: e[0])
    return (tag, batch_id, kept, errors, values)


_REPLY = Atom(b"R")

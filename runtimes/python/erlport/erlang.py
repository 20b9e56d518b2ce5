"""The message loop, and the API that hook code may call to talk back to the broker.

``cli`` calls ``setup(port)`` and then ``serve()``. The broker's messages:

* ``{'C', Id, Module, Function, Args}`` -- import ``Module`` (once), follow the dotted
  ``Function`` path with ``getattr``, call it with ``Args``, reply ``{'r', Id, Result}``; if it
  raises, reply ``{'e', Id, {python, 'module.Class', Message, Traceback}}`` where ``Message`` is
  ``str(exc)`` (a string, i.e. a list of code points) and ``Traceback`` is the formatted Python
  traceback as a UTF-8 binary. Calls run one at a time, so replies leave in request order.
* ``{'M', Message}`` -- given to the message handler (by default ignored).

The process sends, besides replies: ``{'P', Chars}`` (printed text, see ``stdio``),
``{'C', Id, Module, Function, Args, Context}`` (``call``) and ``{'M', Pid, Message}``
(``cast``); a failing message handler reports ``{'e', Error}``.
"""

import importlib
import itertools
import sys
import threading
import traceback
from time import monotonic

from . import _batch, stdio
from .erlproto import ProtocolError
from .erlterms import Atom, List

__all__ = [
    "ErlangError", "call", "cast", "self", "make_ref", "setup", "serve",
    "set_encoder", "set_decoder", "set_message_handler",
    "set_default_encoder", "set_default_decoder", "set_default_message_handler",
]

_C, _M, _R, _E = Atom(b"C"), Atom(b"M"), Atom(b"r"), Atom(b"e")
_PYTHON, _ERLANG = Atom(b"python"), Atom(b"erlang")
_PLAIN_CALL, _LOCAL_CALL = Atom(b"N"), Atom(b"L")

_port = None
_out = None  # the stdio.Output that sys.stdout was set to
_encoder = None
_decoder = None
_message_handler = None
_functions = {}  # (module atom, function atom) -> callable; hookmq's own calls are added below
_call_ids = itertools.count(1)
_serving_thread = None  # the thread that reads the port


class ErlangError(Exception):
    """The broker answered an ``erlang.call`` with an error.

    For the usual ``{erlang, Class, Reason, Trace}`` error term, ``language``, ``type``,
    ``value`` and ``stacktrace`` hold its parts; otherwise ``value`` is the whole term.
    """

    def __init__(self, error):
        if isinstance(error, tuple) and len(error) == 4:
            self.language, self.type, self.value, self.stacktrace = error
        else:
            self.language = self.type = self.stacktrace = None
            self.value = error
        super(ErlangError, self).__init__(error)


# ------------------------------------------------------------------------------ public API

def setup(port):
    """Serve ``port`` from this process: also points ``sys.stdout``/``sys.stdin`` at it."""
    global _port, _out, _serving_thread
    _port = port
    _out = stdio.redirect(port)
    _serving_thread = threading.get_ident()


def serve():
    """Handle the broker's messages until it closes the port (then return)."""
    read = _require_port().read
    while True:
        try:
            term = read()
        except EOFError:
            return
        _dispatch(term)


def call(module, function, args=(), context=None):
    """Call ``module:function(args...)`` in the broker and return its result.

    Raises ``ErlangError`` when the broker replies with an error. While waiting, calls from
    the broker are served as usual. Only the thread that runs the hooks may call it.
    """
    port = _require_port()
    if threading.get_ident() != _serving_thread:
        raise RuntimeError("erlang.call is only allowed from the thread that runs the hooks")
    request_id = next(_call_ids)
    encode = _encoder
    args = List(encode(a) for a in args) if encode is not None else List(args)
    request = (_C, request_id, _as_atom(module), _as_atom(function), args,
               _PLAIN_CALL if context is None else _as_atom(context))
    port.send(_out.take() + port.frame(request))
    while True:
        try:
            term = port.read()
        except EOFError:
            raise ErlangError("the broker closed the port before replying") from None
        if type(term) is tuple and len(term) == 3 and term[1] == request_id \
                and term[0] in (b"r", b"e"):
            result = term[2]
            if term[0] == b"e":
                raise ErlangError(result)
            return _decoder(result) if _decoder is not None else result
        _dispatch(term)


def cast(pid, message):
    """Send ``message`` to the Erlang process ``pid`` (``{'M', Pid, Message}``)."""
    port = _require_port()
    if _encoder is not None:
        message = _encoder(message)
    port.send(_out.take() + port.frame((_M, pid, message)))


def self():
    """The pid of the broker-side process that owns the port (asks the broker)."""
    return call(_ERLANG, Atom(b"self"), (), _LOCAL_CALL)


def make_ref():
    """A new reference made by the broker (asks the broker)."""
    return call(_ERLANG, Atom(b"make_ref"), (), _LOCAL_CALL)


def set_encoder(encoder):
    """Pass every value sent to the broker (results, call arguments, casts) through
    ``encoder(value)`` first."""
    global _encoder
    _encoder = _check_callable(encoder)


def set_decoder(decoder):
    """Pass every value received from the broker (call arguments, ``call`` results,
    messages) through ``decoder(value)`` first."""
    global _decoder
    _decoder = _check_callable(decoder)


def set_message_handler(handler):
    """Call ``handler(message)`` for each ``{'M', Message}`` the broker sends."""
    global _message_handler
    _message_handler = _check_callable(handler)


def set_default_encoder():
    """Send values as they are."""
    global _encoder
    _encoder = None


def set_default_decoder():
    """Receive values as they are."""
    global _decoder
    _decoder = None


def set_default_message_handler():
    """Ignore ``{'M', Message}``."""
    global _message_handler
    _message_handler = None


# ------------------------------------------------------------------------------ internals

def _require_port():
    if _port is None:
        raise RuntimeError("not running inside the port runtime (python -m erlport.cli)")
    return _port


def _check_callable(handler):
    if not callable(handler):
        raise TypeError("%r is not callable" % (handler,))
    return handler


def _as_atom(name):
    return name if isinstance(name, Atom) else Atom(name)


def _dispatch(term):
    if type(term) is tuple:
        n = len(term)
        if n == 5 and term[0] == b"C":
            return _answer(term)
        if n == 3 and term[0] == b"B":
            return _answer_batch(term)
    _handle_other(term)


def _answer_batch(request):
    """Run a ``{'B', BatchId, Items}`` batch and send (or queue) its one reply (``_batch``)."""
    port = _port
    started = monotonic()
    try:
        reply = _batch.answer(request, _encoder, _batch_error_term)
    except _batch.BadBatch as exc:
        raise ProtocolError(str(exc)) from None
    try:
        frame = port.frame(reply)
    except Exception:  # a result that cannot be encoded: it becomes that call's error
        reply = _batch.encodable(request, reply, port.frame, _batch_error_term)
        frame = port.frame(reply)
    if _out._parts:
        frame = _out.take() + frame
    port.queue(frame, started)


def _answer(request):
    """Run a ``{'C', Id, Module, Function, Args}`` request and send (or queue) its reply."""
    port = _port
    request_id = request[1]
    started = monotonic()
    try:
        key = (request[2], request[3])
        function = _functions.get(key)
        if function is None:
            # Resolved outside an except block, so an import error's traceback is the user's
            # own and not chained to a cache miss.
            function = _functions[key] = _resolve(request[2], request[3])
        args = request[4]
        if type(args) is not List:
            raise TypeError("the arguments of a call must be a list, not %r" % (args,))
        if _decoder is not None:
            args = [_decoder(a) for a in args]
        result = function(*args)
        if _encoder is not None:
            result = _encoder(result)
        reply = port.frame((_R, request_id, result))
    except Exception as exc:
        reply = _error_reply(port, request_id, exc)
    if _out._parts:
        reply = _out.take() + reply
    port.queue(reply, started)


def _resolve(module, function):
    names = [_text(module, "module"), _text(function, "function")]
    target = sys.modules.get(names[0])
    if target is None:
        target = importlib.import_module(names[0])
    for name in names[1].split("."):
        target = getattr(target, name)
    if not callable(target):
        raise TypeError("%s.%s is not callable" % (names[0], names[1]))
    return target


def _text(name, what):
    if isinstance(name, bytes):
        return name.decode("utf-8", "surrogateescape")
    if isinstance(name, list):
        return List(name).to_string()
    if isinstance(name, str):
        return name
    raise TypeError("the %s name must be an atom, not %r" % (what, name))


def _error_term(exc, skip=1):
    """``{python, Class, Message, Traceback}``; ``skip`` frames of the runtime's own are left
    out of the traceback."""
    cls = type(exc)
    name = "%s.%s" % (cls.__module__, cls.__qualname__)
    try:
        message = str(exc)
    except Exception:
        message = "<str() of the %s failed>" % cls.__name__
    tb = exc.__traceback__
    while skip and tb is not None and tb.tb_next is not None:
        tb = tb.tb_next  # _answer itself, or _batch.answer and its caller
        skip -= 1
    text = "".join(traceback.format_exception(cls, exc, tb))
    return (_PYTHON, Atom(name.encode("utf-8")[:255]), message,
            text.encode("utf-8", "backslashreplace"))


def _batch_error_term(exc):
    return _error_term(exc, skip=2)


def _error_reply(port, request_id, exc):
    error = _error_term(exc)
    try:
        return port.frame((_E, request_id, error))
    except ValueError:  # too big for the length prefix (--packet=1|2): keep only the class
        return port.frame((_E, request_id, (error[0], error[1], "", b"")))


def _register_targets(targets, state):
    """``'$hookmq':targets(Targets, State)`` (see ``_batch``)."""
    return _batch.register(targets, state, _resolve, _decoder)


_functions[(Atom(b"$hookmq"), Atom(b"batch"))] = _batch.negotiate
_functions[(Atom(b"$hookmq"), Atom(b"targets"))] = _register_targets


def _handle_other(term):
    """Anything but a call from the broker: messages, stale replies, unknown terms."""
    if type(term) is tuple and len(term) == 2 and term[0] == b"M":
        if _message_handler is None:
            return
        try:
            message = term[1] if _decoder is None else _decoder(term[1])
            _message_handler(message)
        except Exception as exc:
            _port.send(_out.take() + _port.frame((_E, _error_term(exc))))
        return
    if type(term) is tuple and len(term) == 3 and term[0] in (b"r", b"e"):
        return  # the reply to an erlang.call that is no longer waiting
    sys.stderr.write("erlport: ignoring an unexpected message from the broker: %.200r\n"
                     % (term,))

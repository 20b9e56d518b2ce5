"""hookmq's batched mode, driven over pipes as the broker drives it: the negotiation, the target
registration (shapes expanded back into EMQX's proplists, observe flags from the broker and from
the ``hookmq_port.observe`` decorator, on plain functions and on emqx-extension-sdk methods), one
answer per batch with results, errors and observed values, and a bad batch ending the runtime.
Every read has a deadline; nothing sleeps."""

import textwrap

import pytest

from erlport.erlterms import Atom, List
from pyrt_broker import P, Runtime

pytestmark = pytest.mark.timeout(120)

A = Atom
B, RB = A(b"B"), A(b"R")
CI_KEYS = List(A(k) for k in (b"node", b"clientid", b"username", b"password", b"peerhost",
                              b"sockport", b"protocol", b"mountpoint", b"is_superuser",
                              b"anonymous"))
MSG_KEYS = List(A(k) for k in (b"node", b"id", b"qos", b"from", b"topic", b"payload",
                               b"timestamp"))
AS_IS = List()

HOOKS = textwrap.dedent('''
    from emqx_extension.hooks import EmqxHookSdk, hooks_handler
    from hookmq_port import hook, observe, specs


    @hook("message_publish", topics=["t/#"])
    def publish(message, state):
        return (0, [(k, v) for k, v in message if k in (b"topic", b"qos")] + [("state", state)])


    @observe
    @hook("message_delivered")
    def delivered(clientinfo, message, state):
        print("delivered", dict(clientinfo)[b"clientid"].decode(), dict(message)[b"payload"].decode())


    class Sdk(EmqxHookSdk):
        @observe
        @hooks_handler()
        def on_message_acked(self, clientinfo, message, state):
            return True          # an observer's value: reported, never used

        @hooks_handler()
        def on_client_authenticate(self, clientinfo, authresult, state):
            return clientinfo.clientid == "good" and clientinfo.password == "pw"


    sdk = Sdk(hook_module=f"{__name__}.sdk")


    def boom(value, state):
        raise ValueError("no " + value.decode())


    def unencodable(value, state):
        return lambda: value


    def init():
        return specs(__name__, state=("st",))
''')


def clientinfo(clientid, password=b""):
    return (A(b"hookmq@127.0.0.1"), clientid, b"user", password, b"127.0.0.1", 1883, A(b"mqtt"),
            b"", False, True)


def message(payload, topic=b"t/1"):
    return (A(b"hookmq@127.0.0.1"), b"0" * 32, 1, b"pub", topic, payload, 1764000000000)


@pytest.fixture
def runtime(python, tmp_path, sdk_dir):
    ext = tmp_path / "data" / "extension"
    ext.mkdir(parents=True)
    (ext / "batchhooks.py").write_text(HOOKS)
    with Runtime(python, str(tmp_path), extra_path=[sdk_dir]) as rt:
        yield rt


def batch(rt, batch_id, items, timeout=10.0):
    """Sends one batch; returns its answer, collecting prints on the way."""
    rt.send((B, batch_id, List(items)))
    while True:
        term = rt.recv(timeout)
        if term[0] == P:
            rt.printed.append(List(term[1]).to_string())
            continue
        assert term[0] == RB and term[1] == batch_id, term
        return term


def targets(rt, entries, state=(A(b"st"),)):
    reply = rt.call("$hookmq", "targets", [List(entries), state])
    assert reply[0] == b"r", reply
    return reply[2]


def test_the_runtime_speaks_version_1(runtime):
    assert runtime.call("$hookmq", "batch", [1])[2] == 1
    assert runtime.call("$hookmq", "batch", [7])[2] == 1
    assert runtime.call("$hookmq", "batch", [0])[2] == 0


def test_a_batch_runs_in_order_and_answers_once(runtime):
    init = runtime.call("batchhooks", "init", [])
    specs = init[2][1][0]
    names = [(List(s[0]).to_string(), List(s[2]).to_string()) for s in specs]
    assert names == [("message_publish", "publish"), ("message_delivered", "delivered")]
    assert [List(k).to_string() for k, _ in specs[1][3]] == ["observe"]
    mod = A(b"batchhooks")
    flags = targets(runtime, [
        (mod, A(b"publish"), List([MSG_KEYS]), False),
        (mod, A(b"delivered"), List([CI_KEYS, MSG_KEYS]), False),
        (mod, A(b"sdk.on_message_acked"), List([CI_KEYS, MSG_KEYS]), False),
        (mod, A(b"sdk.on_client_authenticate"), List([CI_KEYS, AS_IS]), False),
        (mod, A(b"boom"), List([AS_IS]), True),
        (mod, A(b"unencodable"), List([AS_IS]), False),
    ])
    # The decorator marks delivered and on_message_acked; the broker marked boom.
    assert flags == [False, True, True, False, True, False]
    answer = batch(runtime, 7, [
        (0, List([message(b"a")])),
        (1, List([clientinfo(b"sub1"), message(b"first")])),
        (2, List([clientinfo(b"sub1"), message(b"x")])),
        (3, List([clientinfo(b"good", b"pw"), False])),
        (1, List([clientinfo(b"sub1"), message(b"second")])),
        (3, List([clientinfo(b"bad", b"pw"), False])),
        (4, List([b"way"])),
        (5, List([b"x"])),
    ])
    _, batch_id, results, errors, observed = answer
    assert batch_id == 7
    # The message arrived as EMQX's proplist (key order kept), the state last.
    assert results[0] == (0, [(A(b"qos"), 1), (A(b"topic"), b"t/1"), (List(b"state"), (A(b"st"),))])
    assert results[1:] == [(0, True), (0, False), None]
    assert [e[0] for e in errors] == [6, 7]
    assert errors[0][1][1] == b"builtins.ValueError" and List(errors[0][1][2]).to_string() == "no way"
    assert b"Traceback" in errors[0][1][3] and b"boom" in errors[0][1][3]
    assert observed == [(2, (0, True))]
    assert "".join(runtime.printed) == "delivered sub1 first\ndelivered sub1 second\n"


def test_a_batch_naming_no_target_ends_the_runtime(runtime):
    runtime.call("batchhooks", "init", [])
    targets(runtime, [(A(b"batchhooks"), A(b"publish"), List([MSG_KEYS]), False)])
    runtime.send((B, 1, List([(3, List([b"x"]))])))
    assert runtime.wait() == 3
    assert "names no registered target" in runtime.stderr_text()


def test_registering_a_missing_function_is_an_error_reply(runtime):
    runtime.call("batchhooks", "init", [])
    reply = runtime.call("$hookmq", "targets",
                         [List([(A(b"batchhooks"), A(b"nowhere"), List([AS_IS]), False)]), ()])
    assert reply[0] == b"e"
    assert reply[2][1] == b"builtins.AttributeError"

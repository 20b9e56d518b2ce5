"""The runtime as a process, driven over pipes exactly as the broker drives it: the seed's
hooks.py with the real emqx-extension-sdk, errors, prints, pipelining, call-backs, exit codes.
Every read has a deadline; nothing sleeps."""

import os
import select
import subprocess
import sys
import textwrap

import pytest

from erlport.erlterms import Atom, List, decode, encode
from pyrt_broker import RUNTIME_DIR, C, E, M, P, R, Runtime

pytestmark = pytest.mark.timeout(120)

INIT_CALL = bytes.fromhex(
    "83 68 05 64 0001 43 61 01 64 0005 686f6f6b73 64 0004 696e6974 6a".replace(" ", ""))

RAW_HOOKS = textwrap.dedent('''
    import os, sys, time
    from erlport import erlang
    from erlport.erlterms import Atom

    received = []

    def ok():
        return (0, True)

    def echo(*args):
        return args

    def boom(text):
        raise ValueError(text.to_string())

    def shout(text):
        print("said:", text.to_string())
        sys.stdout.write("partial")
        return None

    def lambda_result():
        return lambda: 1

    def call_back(module, function):
        return erlang.call(module, function, [1, b"two"])

    def call_back_catching(module, function):
        try:
            erlang.call(module, function, [])
        except erlang.ErlangError as exc:
            return (Atom(b"caught"), exc.language, exc.type, exc.value)

    def stray_output():
        os.write(1, b"raw write to fd 1\\n")
        sys.__stdout__.write("to sys.__stdout__\\n")
        sys.__stdout__.flush()
        os.system("echo from a child process")
        try:
            input()
        except EOFError:
            return Atom(b"stdin_at_eof")

    def slow(seconds):
        time.sleep(seconds)  # a hook that takes this long (a database query, say)
        return Atom(b"slow")

    def wait_for(path):
        with open(path.to_string(), "rb") as fifo:  # blocks until the test opens it
            return fifo.read()

    def print_from_threads(threads, lines):
        import threading

        def work(t):
            for j in range(lines):
                # one write per line: print() makes two (text, then "\\n"), which other
                # threads may come between, as with any Python stdout
                sys.stdout.write("thread %d line %d\\n" % (t, j))

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return len(workers)

    def call_from_thread():
        import threading
        seen = []

        def work():
            try:
                erlang.call("erlang", "node", [])
            except RuntimeError as exc:
                seen.append(str(exc))

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        return seen[0]

    def install_handler():
        erlang.set_message_handler(received.append)

    def messages():
        return list(received)

    class Outer:
        class Inner:
            @staticmethod
            def deep(x):
                return (Atom(b"deep"), x)

    ns = Outer()
''')


def client_info(clientid=b"c1", username=b"u1"):
    """A ClientInfo proplist as the broker sends it (10 entries, atom keys)."""
    a = Atom
    return List([
        (a(b"node"), a(b"hookmq@127.0.0.1")), (a(b"clientid"), clientid),
        (a(b"username"), username), (a(b"password"), b"pw"), (a(b"peerhost"), b"127.0.0.1"),
        (a(b"sockport"), 1883), (a(b"protocol"), a(b"mqtt")), (a(b"mountpoint"), b""),
        (a(b"is_superuser"), False), (a(b"anonymous"), True),
    ])


def spec(name):
    return (name, "hooks", "emqx_hook.on_" + name, [])


def charlists_to_text(value):
    if isinstance(value, list):
        if value and all(isinstance(x, int) for x in value):
            return List(value).to_string()
        return [charlists_to_text(x) for x in value]
    if isinstance(value, tuple):
        return tuple(charlists_to_text(x) for x in value)
    return value


@pytest.fixture
def seed_runtime(python, seed_workdir, sdk_dir):
    extra = [] if python == sys.executable else [sdk_dir]
    with Runtime(python, seed_workdir, extra_path=extra) as rt:
        yield rt


@pytest.fixture
def raw_runtime(python, tmp_path):
    ext = tmp_path / "hookdir"
    ext.mkdir()
    (ext / "rawhooks.py").write_text(RAW_HOOKS)
    with Runtime(python, str(tmp_path), hooks_path="hookdir") as rt:
        yield rt


def test_seed_init_returns_the_sdk_hook_specs(seed_runtime):
    seed_runtime.send_raw(INIT_CALL)
    reply = seed_runtime.recv_raw()
    assert len(reply) == 333  # as measured against EMQX's erlport
    assert reply.startswith(bytes.fromhex("83 68 03 64 0001 72 61 01".replace(" ", "")))
    term = charlists_to_text(decode(reply))
    assert term == (b"r", 1, (0, ([
        spec("client_connect"), spec("client_connected"), spec("client_check_acl"),
        spec("client_authenticate"), spec("message_publish"),
    ], ())))
    first = (b"\x68\x04\x6b\x00\x0eclient_connect\x6b\x00\x05hooks"
             b"\x6b\x00\x1bemqx_hook.on_client_connect\x6a")
    assert first in reply and reply.endswith(b"\x6a\x68\x00")


def test_seed_authenticate_decides_on_clientid(seed_runtime):
    state = ()
    fn = "emqx_hook.on_client_authenticate"
    assert seed_runtime.call("hooks", fn, [client_info(), False, state]) == (R, 1, (0, True))
    assert seed_runtime.call("hooks", fn, [client_info(b""), True, state]) == (R, 2, (0, False))
    assert seed_runtime.printed == [
        "[Python SDK] [on_client_authenticate] c1 authenticate\n",
        "[Python SDK] [on_client_authenticate]  authenticate\n",
    ]
    assert seed_runtime.close() == 0


def test_seed_check_acl_decides_on_username(seed_runtime):
    fn = "emqx_hook.on_client_check_acl"
    args = [client_info(), Atom(b"publish"), b"t/1", True, ()]
    assert seed_runtime.call("hooks", fn, args) == (R, 1, (0, True))
    args = [client_info(username=b""), Atom(b"subscribe"), b"t/#", True, ()]
    assert seed_runtime.call("hooks", fn, args) == (R, 2, (0, False))
    assert seed_runtime.printed[0] == \
        "[Python SDK] [on_client_check_acl] u1 check ACL: publish t/1\n"


def test_seed_notification_hook_prints_and_returns_undefined(seed_runtime):
    conninfo = List([(Atom(b"node"), Atom(b"n@h")), (Atom(b"clientid"), b"dev-7"),
                     (Atom(b"username"), b""), (Atom(b"peerhost"), b"127.0.0.1"),
                     (Atom(b"sockport"), 1883), (Atom(b"proto_name"), b"MQTT"),
                     (Atom(b"proto_ver"), 4), (Atom(b"keepalive"), 60)])
    reply = seed_runtime.call("hooks", "emqx_hook.on_client_connect", [conninfo, [], ()])
    assert reply == (R, 1, None)
    assert seed_runtime.printed == ["[Python SDK] [on_client_connect] dev-7 connecte\n"]
    assert seed_runtime.call("hooks", "deinit", []) == (R, 2, None)
    assert seed_runtime.close() == 0


def test_exception_becomes_error_reply_and_serving_goes_on(raw_runtime):
    reply = raw_runtime.call("rawhooks", "boom", ["bad \u20ac thing"])
    assert reply[0] == E and reply[1] == 1
    language, cls, message, trace = reply[2]
    assert (language, cls) == (b"python", b"builtins.ValueError")
    assert List(message).to_string() == "bad \u20ac thing"
    text = trace.decode("utf-8")
    assert text.startswith("Traceback") and "rawhooks.py" in text and "in boom" in text
    assert "ValueError: bad \u20ac thing" in text and "erlang.py" not in text
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 2, (0, True))
    missing = raw_runtime.call("rawhooks", "no_such_function", [])
    assert missing[0] == E and missing[2][1] == b"builtins.AttributeError"
    gone = raw_runtime.call("no_such_module", "f", [])
    assert gone[0] == E and gone[2][1] == b"builtins.ModuleNotFoundError"
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 5, (0, True))


def test_unencodable_result_is_an_error_reply(raw_runtime):
    reply = raw_runtime.call("rawhooks", "lambda_result", [])
    assert reply[0] == E and b"lambda" in reply[2][3]
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 2, (0, True))


def test_dotted_function_path(raw_runtime):
    assert raw_runtime.call("rawhooks", "ns.Inner.deep", [7]) == (R, 1, (b"deep", 7))
    assert raw_runtime.call("rawhooks", "Outer.Inner.deep", [8]) == (R, 2, (b"deep", 8))


def test_print_goes_out_as_p_frames_before_the_reply(raw_runtime):
    raw_runtime.send((C, 1, Atom(b"rawhooks"), Atom(b"shout"), ["h\u00e9llo \u4e16\u754c"]))
    frames = [raw_runtime.recv() for _ in range(3)]
    assert [f[0] for f in frames] == [P, P, R]
    assert List(frames[0][1]).to_string() == "said: h\u00e9llo \u4e16\u754c\n"
    assert List(frames[1][1]).to_string() == "partial"
    assert frames[2] == (R, 1, None)


def test_prints_from_threads_arrive_whole(raw_runtime):
    reply = raw_runtime.call("rawhooks", "print_from_threads", [4, 300])
    assert reply == (R, 1, 4)
    lines = "".join(raw_runtime.printed).split("\n")
    assert lines[-1] == ""
    expected = {"thread %d line %d" % (t, j) for t in range(4) for j in range(300)}
    assert len(lines) - 1 == len(expected) and set(lines[:-1]) == expected


def test_pipelined_calls_come_back_in_order(raw_runtime):
    count = 500
    burst = b"".join(
        len(t).to_bytes(4, "big") + t for t in
        (encode((C, i, Atom(b"rawhooks"), Atom(b"echo"), [i, b"x" * (i % 7)]))
         for i in range(1, count + 1)))
    raw_runtime.proc.stdin.write(burst)
    raw_runtime.proc.stdin.flush()
    replies = [raw_runtime.recv() for _ in range(count)]
    assert replies == [(R, i, (i, b"x" * (i % 7))) for i in range(1, count + 1)]


def test_a_slow_call_is_answered_before_the_next_call_runs(raw_runtime, tmp_path):
    fifo = str(tmp_path / "release")
    os.mkfifo(fifo)
    burst = b"".join(len(t).to_bytes(4, "big") + t for t in (
        encode((C, 1, Atom(b"rawhooks"), Atom(b"ok"), [])),
        encode((C, 2, Atom(b"rawhooks"), Atom(b"slow"), [0.05])),
        encode((C, 3, Atom(b"rawhooks"), Atom(b"wait_for"), [fifo]))))
    raw_runtime.proc.stdin.write(burst)
    raw_runtime.proc.stdin.flush()
    # Calls 1 and 2 must be answered while call 3 is still blocked on the FIFO.
    assert raw_runtime.recv() == (R, 1, (0, True))
    assert raw_runtime.recv() == (R, 2, b"slow")
    with open(fifo, "wb") as release:
        release.write(b"go")
    assert raw_runtime.recv() == (R, 3, b"go")


def test_frames_larger_than_the_read_buffer(raw_runtime):
    blob = os.urandom(300000)
    assert raw_runtime.call("rawhooks", "echo", [blob]) == (R, 1, (blob,))


def test_eof_exits_zero(raw_runtime):
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 1, (0, True))
    assert raw_runtime.close() == 0
    assert raw_runtime.stderr_text() == ""


def test_call_to_the_broker_raises_on_error_reply(raw_runtime):
    def refuse(rt, request):
        assert request[2:4] == (b"erlang", b"node") and request[5] == b"N"
        rt.send((E, request[1], (Atom(b"erlang"), Atom(b"error"), Atom(b"undef"), [])))

    reply = raw_runtime.call("rawhooks", "call_back_catching", [Atom(b"erlang"), Atom(b"node")],
                             on_call=refuse)
    assert reply == (R, 1, (b"caught", b"erlang", b"error", b"undef"))
    reply = raw_runtime.call("rawhooks", "call_back", [Atom(b"erlang"), Atom(b"node")],
                             on_call=refuse)
    assert reply[0] == E and reply[2][1] == b"erlport.erlang.ErlangError"


def test_call_to_the_broker_returns_its_result_and_serves_nested_calls(raw_runtime):
    def answer(rt, request):
        assert request[4] == [1, b"two"]
        nested = rt.call("rawhooks", "echo", [b"nested"])  # the broker calls in meanwhile
        assert nested[0] == R and nested[2] == (b"nested",)
        rt.send((R, request[1], (Atom(b"ok"), request[4])))

    reply = raw_runtime.call("rawhooks", "call_back", [Atom(b"m"), Atom(b"f")], on_call=answer)
    assert reply[0] == R and reply[2] == (b"ok", [1, b"two"])


def test_call_to_the_broker_from_another_thread_is_refused(raw_runtime):
    reply = raw_runtime.call("rawhooks", "call_from_thread", [])
    assert reply[0] == R and "only allowed from the thread" in List(reply[2]).to_string()


def test_arguments_that_are_not_a_list_get_an_error_reply(raw_runtime):
    raw_runtime.send((C, 1, Atom(b"rawhooks"), Atom(b"echo"), b"abc"))
    reply = raw_runtime.recv()
    assert reply[:2] == (E, 1) and reply[2][1] == b"builtins.TypeError"
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 1, (0, True))


def test_stray_output_and_stdin_cannot_touch_the_pipe(raw_runtime):
    assert raw_runtime.call("rawhooks", "stray_output", []) == (R, 1, b"stdin_at_eof")
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 2, (0, True))
    assert raw_runtime.close() == 0
    err = raw_runtime.stderr_text()
    for line in ("raw write to fd 1", "to sys.__stdout__", "from a child process"):
        assert line in err


def test_messages_reach_the_message_handler(raw_runtime):
    raw_runtime.send((M, b"dropped: no handler yet"))
    assert raw_runtime.call("rawhooks", "install_handler", []) == (R, 1, None)
    raw_runtime.send((M, (Atom(b"hello"), 1)))
    assert raw_runtime.call("rawhooks", "messages", []) == (R, 2, [(b"hello", 1)])


def test_unknown_wellformed_terms_are_ignored(raw_runtime):
    raw_runtime.send((Atom(b"x"), 1, 2, 3))
    raw_runtime.send(Atom(b"bare"))
    raw_runtime.send((R, 999, b"late reply"))
    assert raw_runtime.call("rawhooks", "ok", []) == (R, 1, (0, True))
    assert "unexpected message" in raw_runtime.stderr_text()


def test_garbage_frame_exits_nonzero_with_a_message(raw_runtime):
    raw_runtime.send_raw(b"\x83\xff\x00")
    assert raw_runtime.wait() == 3
    assert "protocol error" in raw_runtime.stderr_text()


def test_truncated_frame_at_eof_exits_nonzero(raw_runtime):
    raw_runtime.proc.stdin.write(b"\x00\x00\x00\x10\x83")
    assert raw_runtime.close() == 3
    assert "inside a frame" in raw_runtime.stderr_text()


def test_compressed_requests_and_replies(python, tmp_path):
    (tmp_path / "rawhooks.py").write_text(RAW_HOOKS)
    args = ["-u", "-m", "erlport.cli", "--packet=2", "--use_stdio", "--compressed=9",
            "--buffer_size=7"]
    with Runtime(python, str(tmp_path), hooks_path=".", args=args, packet=2) as rt:
        request = encode((C, 1, Atom(b"rawhooks"), Atom(b"echo"), [b"z" * 5000]),
                         compressed=6)
        assert request[:2] == b"\x83P"
        rt.send_raw(request)
        raw = rt.recv_raw()
        assert raw[:2] == b"\x83P"
        assert decode(raw) == (R, 1, (b"z" * 5000,))
        assert rt.close() == 0


def test_no_stdio_talks_over_fds_3_and_4(python, tmp_path):
    (tmp_path / "rawhooks.py").write_text(RAW_HOOKS)
    to_rt, from_broker = os.pipe()
    to_broker, from_rt = os.pipe()

    def wire_fds():  # in the child: 3 = requests in, 4 = replies out
        os.dup2(to_rt, 3)
        os.dup2(from_rt, 4)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([RUNTIME_DIR, "."]))
    proc = subprocess.Popen([python, "-u", "-m", "erlport.cli", "--no_stdio"],
                            cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, preexec_fn=wire_fds,
                            close_fds=False)  # else fds 3 and 4 are closed after wire_fds
    os.close(to_rt)
    os.close(from_rt)
    try:
        request = encode((C, 1, Atom(b"rawhooks"), Atom(b"ok"), []))
        os.write(from_broker, len(request).to_bytes(4, "big") + request)
        assert select.select([to_broker], [], [], 10)[0], "no reply on fd 4"
        reply = os.read(to_broker, 65536)
        assert decode(reply[4:]) == (R, 1, (0, True))
        os.close(from_broker)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(to_broker)


def test_packet_1_error_replies_shrink_to_fit(python, tmp_path):
    (tmp_path / "rawhooks.py").write_text(RAW_HOOKS)
    args = ["-u", "-m", "erlport.cli", "--packet=1"]
    with Runtime(python, str(tmp_path), hooks_path=".", args=args, packet=1) as rt:
        rt.send((C, 1, Atom(b"rawhooks"), Atom(b"boom"), ["x" * 100]))
        assert rt.recv() == (E, 1, (b"python", b"builtins.ValueError", [], b""))
        rt.send((C, 2, Atom(b"rawhooks"), Atom(b"ok"), []))
        assert rt.recv() == (R, 2, (0, True))
        assert rt.close() == 0


@pytest.mark.parametrize("args, message", [
    (["--packet=3"], "invalid choice"),
    (["--compressed=10"], "0..9"),
    (["--buffer_size=0"], "at least 1"),
    (["--use_stdio", "--no_stdio"], "not allowed with"),
    (["--no_stdio"], "file descriptor 3 is not open"),
])
def test_bad_command_lines_are_refused(python, tmp_path, args, message):
    with Runtime(python, str(tmp_path), args=["-m", "erlport.cli"] + args) as rt:
        assert rt.wait() == 2
        assert message in rt.stderr_text()

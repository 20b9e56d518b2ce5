"""Calls per second through the Python port runtime, measured the way the broker uses it.

Starts ``python3 -u -m erlport.cli --packet=4 --use_stdio ...`` with a generated hook module and
plays the broker: pre-encoded ``client_authenticate`` requests (the ClientInfo proplist of the
wire spec) are written with at most ``window`` outstanding, replies are read and checked.
Cases: (a) a method decorated with the emqx-extension-sdk's ``hooks_handler`` (the SDK must be
importable by the measured interpreter), (b) a plain function returning ``(0, True)``.

    python3 runtimes/python/bench_calls.py [--calls 20000] [--runs 5] [--windows 1,64]
                                           [--python PATH] [--path DIR] [--profile]
                                           [--baseline MODULE] [--batch N]

Prints the median (and min/max) of ``--runs`` timed runs per case after one warm-up run.
``--path`` adds directories to the runtime's PYTHONPATH (e.g. the SDK for a bare interpreter).
``--baseline emqx.erlport.cli`` also measures another implementation of the same protocol
(e.g. PyPI ``emqx-erlport``, which runs on Python <= 3.10 only, installed in a ``--path``
directory), interleaving its runs with ours so both see the same machine load.
``--profile`` instead runs the runtime under cProfile for one run of each case and prints the
top functions. Only pipes are used; every read is bounded by a deadline.

``--batch N`` measures hookmq's batched mode instead (see README.md, "Batched mode"): the
harness negotiates it, registers the hook and sends no-op ``message_publish`` events (a 128-byte
payload, the message as the tuple of values the broker sends) in batches of N, at most two
batches outstanding as the broker does. Cases: the SDK's ``on_message_publish``, a plain
function, and the plain function observe-only. It reports events/s.
"""

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from erlport.erlterms import Atom, List, encode  # noqa: E402

HOOKS = '''
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class BenchHook(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        return clientinfo.clientid != ''


emqx_hook = BenchHook(hook_module=f'{__name__}.emqx_hook')


def init():
    return emqx_hook.start()


def raw_authenticate(clientinfo, authresult, state):
    return (0, True)


class PublishHook(EmqxHookSdk):
    @hooks_handler()
    def on_message_publish(self, message, state):
        return None


publish_hook = PublishHook(hook_module=f'{__name__}.publish_hook')


def raw_publish(message, state):
    return None
'''

BATCH_CASES = [("sdk", "publish_hook.on_message_publish", False), ("raw", "raw_publish", False),
               ("obs", "raw_publish", True)]
MESSAGE_KEYS = [b"node", b"id", b"qos", b"from", b"topic", b"payload", b"timestamp"]

CASES = [("sdk", "emqx_hook.on_client_authenticate"), ("raw", "raw_authenticate")]
READ_TIMEOUT = 30.0


def client_info(n):
    a = Atom
    return List([
        (a(b"node"), a(b"hookmq@127.0.0.1")), (a(b"clientid"), b"bench-client-%06d" % n),
        (a(b"username"), b"user"), (a(b"password"), b"secret"), (a(b"peerhost"), b"127.0.0.1"),
        (a(b"sockport"), 1883), (a(b"protocol"), a(b"mqtt")), (a(b"mountpoint"), b""),
        (a(b"is_superuser"), False), (a(b"anonymous"), True),
    ])


def requests(function, count):
    frames = []
    for i in range(1, count + 1):
        term = encode((Atom(b"C"), i, Atom(b"benchhooks"), Atom(function.encode()),
                       [client_info(i), False, ()]))
        frames.append(len(term).to_bytes(4, "big") + term)
    return frames


def frame(term):
    data = encode(term)
    return len(data).to_bytes(4, "big") + data


def batches(size, count):
    """``count`` batch frames of ``size`` no-op message_publish events each."""
    out = []
    for b in range(1, count + 1):
        items = List([
            (0, [(Atom(b"hookmq@127.0.0.1"), b"%016x" % (b * size + i), 1, b"bench-%d" % (i % 50),
                  b"bench/p2p/%d" % (i % 50), b"x" * 128, 1700000000000 + i)])
            for i in range(size)])
        out.append(frame((Atom(b"B"), b, items)))
    return out


def start_batched(rt, function, observe):
    """Negotiates the batched mode and registers ``benchhooks:function`` as target 0."""
    hookmq = Atom(b"$hookmq")
    keys = List([Atom(k) for k in MESSAGE_KEYS])
    calls = [(Atom(b"C"), 1, hookmq, Atom(b"batch"), [1]),
             (Atom(b"C"), 2, Atom(b"benchhooks"), Atom(b"init"), []),
             (Atom(b"C"), 3, hookmq, Atom(b"targets"),
              [List([(Atom(b"benchhooks"), Atom(function.encode()), List([keys]), observe)]),
               ()])]
    for call in calls:
        os.write(rt.in_fd, frame(call))
        rt.read_replies()


class Runtime(object):
    def __init__(self, python, workdir, path=(), module="erlport.cli", profile_to=None):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [HERE, workdir] + list(path)
            + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        cmd = [python, "-u"]
        if profile_to:
            cmd += ["-m", "cProfile", "-o", profile_to]
        cmd += ["-m", module]
        cmd += ["--packet=4", "--use_stdio", "--compressed=0", "--buffer_size=65536"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     cwd=workdir, env=env)
        self.in_fd = self.proc.stdin.fileno()
        self.out_fd = self.proc.stdout.fileno()
        self.buf = b""

    def read_replies(self):
        """Block until at least one whole reply frame is there; return how many arrived."""
        while True:
            count, pos, buf = 0, 0, self.buf
            while len(buf) - pos >= 4:
                end = pos + 4 + int.from_bytes(buf[pos:pos + 4], "big")
                if end > len(buf):
                    break
                if buf[pos + 10] not in b"rR":  # 83 68 03 64 0001 'r' (or 'R', a batch's)
                    raise RuntimeError("not an 'r' or 'R' reply: %r" % buf[pos:end])
                count, pos = count + 1, end
            self.buf = buf[pos:]
            if count:
                return count
            if not select.select([self.out_fd], [], [], READ_TIMEOUT)[0]:
                raise RuntimeError("no reply within %.0fs" % READ_TIMEOUT)
            chunk = os.read(self.out_fd, 1 << 16)
            if not chunk:
                raise RuntimeError("the runtime exited")
            self.buf += chunk

    def run(self, frames, window):
        sent = min(window, len(frames))
        os.write(self.in_fd, b"".join(frames[:sent]))
        done = 0
        start = time.perf_counter()
        while done < len(frames):
            got = self.read_replies()
            done += got
            if sent < len(frames):
                more = frames[sent:sent + got]
                sent += len(more)
                os.write(self.in_fd, b"".join(more))
        return time.perf_counter() - start

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)
        self.proc.stdout.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--windows", default="1,64")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--baseline", metavar="MODULE")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--batch", type=int, default=0, metavar="N")
    options = parser.parse_args()
    if options.batch:
        return main_batched(options)
    runtimes = [("ours", "erlport.cli")]
    if options.baseline:
        runtimes.append(("base", options.baseline))
    windows = [int(w) for w in options.windows.split(",")]
    version = subprocess.check_output([options.python, "-V"], universal_newlines=True).strip()
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "benchhooks.py"), "w") as f:
            f.write(HOOKS)
        print("%s, %d calls per run, median of %d runs (after 1 warm-up)"
              % (version, options.calls, options.runs))
        print("%-5s %-5s %7s %10s %10s %10s" % ("impl", "case", "window", "calls/s", "min", "max"))
        for name, function in CASES:
            frames = requests(function, options.calls)
            if options.profile:
                profile(options.python, workdir, options.path, frames, name)
                continue
            for window in windows:
                started = [(impl, Runtime(options.python, workdir, options.path, module))
                           for impl, module in runtimes]
                rates = {impl: [] for impl, _ in runtimes}
                for impl, rt in started:
                    rt.run(frames, window)  # warm-up: imports, caches
                for _ in range(options.runs):
                    for impl, rt in started:  # interleaved: both see the same load
                        rates[impl].append(len(frames) / rt.run(frames, window))
                for impl, rt in started:
                    rt.close()
                    got = rates[impl]
                    print("%-5s %-5s %7d %10.0f %10.0f %10.0f" % (
                        impl, name, window, statistics.median(got), min(got), max(got)))


def main_batched(options):
    """``--batch N``: events/s of no-op message_publish hooks in batches of N, two in flight."""
    version = subprocess.check_output([options.python, "-V"], universal_newlines=True).strip()
    count = max(2, options.calls // options.batch)
    frames = batches(options.batch, count)
    events = count * options.batch
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "benchhooks.py"), "w") as f:
            f.write(HOOKS)
        print("%s, %d events per run in batches of %d, median of %d runs (after 1 warm-up)"
              % (version, events, options.batch, options.runs))
        print("%-5s %10s %10s %10s" % ("case", "events/s", "min", "max"))
        for name, function, observe in BATCH_CASES:
            out = os.path.join(workdir, "profile-%s" % name) if options.profile else None
            rt = Runtime(options.python, workdir, options.path, profile_to=out)
            start_batched(rt, function, observe)
            rates = [events / rt.run(frames, 2) for _ in range(1 if out else options.runs + 1)]
            rt.close()
            if out:
                import pstats
                print("--- cProfile, batched case %s" % name)
                pstats.Stats(out).sort_stats("tottime").print_stats(14)
                continue
            rates = rates[1:]
            print("%-5s %10.0f %10.0f %10.0f" % (
                name, statistics.median(rates), min(rates), max(rates)))


def profile(python, workdir, path, frames, name):
    import pstats
    out = os.path.join(workdir, "profile-%s" % name)
    rt = Runtime(python, workdir, path, profile_to=out)
    rt.run(frames, 64)
    rt.close()
    print("--- cProfile, case %s, window 64" % name)
    pstats.Stats(out).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()

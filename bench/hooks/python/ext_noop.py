"""A no-op extension for the benchmarks (drivers stream-python and stream-observe): one point,
answered as cheaply as the Python SDK allows (message.publish: no opinion; client.authenticate:
allow).

    python ext_noop.py --listen 127.0.0.1:9300 --hook message.publish [--observe yes]
"""

import argparse

from hookmq_ext import Extension, hook, run


def build(point, observe):
    class Noop(Extension):
        name = "noop"

        if point == "client.authenticate":
            @hook("client.authenticate", observe=observe)
            def on_client_authenticate(self, event):
                return True
        else:
            @hook("message.publish", observe=observe)
            def on_message_publish(self, event):
                return None

    return Noop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1:9300")
    p.add_argument("--hook", default="message.publish")
    p.add_argument("--observe", default="no")
    a = p.parse_args()
    run(build(a.hook, a.observe == "yes"), a.listen)

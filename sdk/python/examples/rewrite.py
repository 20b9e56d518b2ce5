"""Rewriting and dropping messages before they are routed (``message.publish``, valued).

Messages to ``legacy/<rest>`` are routed to ``v2/<rest>`` with the payload upper-cased; messages
whose payload contains ``spam`` are dropped; others go on unchanged. Only topics matching the
filters are sent to the extension.

    python rewrite.py --listen 127.0.0.1:9204
"""

import argparse

from hookmq_ext import Extension, Publish, hook, run


class Rewrite(Extension):
    name = "rewrite"

    @hook("message.publish", topics=["legacy/#", "chat/#"])
    def on_message_publish(self, event):
        m = event.message
        if b"spam" in m.payload:
            return Publish.DROP
        if m.topic.startswith("legacy/"):
            return Publish(topic="v2/" + m.topic[len("legacy/"):], payload=m.payload.upper())
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:9204")
    args = p.parse_args()
    run(Rewrite(), args.listen)


if __name__ == "__main__":
    main()

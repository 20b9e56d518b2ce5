"""Use case 4: forwarding messages, here to a JSON-lines file (one line per message: topic,
payload as text or base64, QoS, publisher, user properties), the way one would forward to Kafka
or a database.

``message.publish`` is observe-only: routing never waits for this extension; messages arrive in
batches, each publisher's in order. Only topics matching ``--topic`` filters are sent at all.

    python forward.py --out messages.jsonl --topic 'sensors/#' --listen 127.0.0.1:9203
"""

import argparse
import base64
import json

from hookmq_ext import Extension, hook, run


class Forward(Extension):
    name = "forward"

    def __init__(self, out, topics):
        self.out = open(out, "a", buffering=1)
        self.topic_filters = {"message.publish": topics}

    @hook("message.publish", observe=True)
    def on_message_publish(self, event):
        m = event.message
        try:
            payload = {"text": m.payload.decode()}
        except UnicodeDecodeError:
            payload = {"base64": base64.b64encode(m.payload).decode()}
        props = {p.key: p.value for p in m.properties.user_properties}
        self.out.write(json.dumps({"topic": m.topic, **payload, "qos": m.qos, "from": getattr(m, "from"),
                                   "user_properties": props}) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--topic", action="append", default=[])
    p.add_argument("--listen", default="127.0.0.1:9203")
    args = p.parse_args()
    run(Forward(args.out, args.topic), args.listen)


if __name__ == "__main__":
    main()

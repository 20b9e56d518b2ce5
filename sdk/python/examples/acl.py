"""Use case 3: publish / subscribe ACL per client and topic.

Rules, first match wins: superusers may do anything (the broker skips authorization for them);
every user may publish and subscribe under ``users/<own user name>/#``; anyone may subscribe to
``public/#``; nobody may touch ``secret/#``; anything else is left to the next handler (or the
broker's ``authorization.no_match``). Topics are compared segment by segment, so a user name
with ``+``, ``#`` or ``/`` never widens its own tree.

    python acl.py --listen 127.0.0.1:9202
"""

import argparse

from hookmq_ext import Extension, hook, run
from hookmq_ext._pb import event_pb2


def own_tree(username, topic):
    """True when `topic` is ``users/<username>`` or below it."""
    if not username or any(c in username for c in "+#/"):
        return False
    parts = topic.split("/")
    return len(parts) >= 2 and parts[0] == "users" and parts[1] == username


class Acl(Extension):
    name = "acl"

    @hook("client.authorize")
    def on_client_authorize(self, event):
        topic = event.topic
        if topic == "secret" or topic.startswith("secret/"):
            return False
        if own_tree(event.clientinfo.username, topic):
            return True
        if event.action == event_pb2.SUBSCRIBE and topic.startswith("public/"):
            return True
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:9202")
    args = p.parse_args()
    run(Acl(), args.listen)


if __name__ == "__main__":
    main()

"""Support for the authorization-that-holds tests (no tests here): a broker with anonymous
logins off, persistence on, and a Python hook written with the real `emqx-extension-sdk` that
checks passwords and an ACL read from `acl.json` on every call, so a test revokes a right by
rewriting the file. The hook also records `session.unsubscribed` and `message.dropped` in
`events.jsonl`.

Users: alice (alice/#, shared/#), bob (bob/#), svc (everything: the tests' publisher). Rules are
topic filters tried in order, the first match decides; `!filter` denies.
"""

import json
import pathlib

from harness import Client
from test_port_support import Events, api, driver_toml, start, wait_driver

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "svc": "svc-pw"}
ACL = {"alice": ["alice/#", "shared/#"], "bob": ["bob/#"], "svc": ["#"]}

HOOK = '''
import json
from emqx_extension.hooks import EmqxHookSdk, hooks_handler

PASSWORDS = %(passwords)s


def text(v):
    return v.decode() if isinstance(v, bytes) else (v or "")


def matches(rule, topic):
    r, t = rule.split("/"), topic.split("/")
    for i, level in enumerate(r):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(r) == len(t)


def record(hook, **fields):
    with open("events.jsonl", "a") as f:
        f.write(json.dumps(dict(hook=hook, args=fields)) + "\\n")


class Acl(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        return PASSWORDS.get(text(clientinfo.username)) == text(clientinfo.password)

    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        with open("acl.json") as f:
            rules = json.load(f)
        user = text(clientinfo.username)
        allowed = False
        for rule in rules.get(user, []):
            if matches(rule.lstrip("!"), text(topic)):
                allowed = not rule.startswith("!")
                break
        record("check_acl", username=user, pubsub=text(pubsub), topic=text(topic), allowed=allowed)
        return allowed

    @hooks_handler()
    def on_session_unsubscribed(self, clientinfo, topic, state):
        record("session_unsubscribed", clientid=text(clientinfo.clientid), topic=text(topic))

    @hooks_handler()
    def on_message_dropped(self, message, reason, state):
        record("message_dropped", topic=text(message.topic), payload=text(message.payload),
               reason=text(reason))


emqx_hook = Acl(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()


def deinit():
    return
''' % {"passwords": repr(PASSWORDS)}

def config(owner_change=None, recheck=None, cache=None, mqtt="", extra=""):
    """The tests' hookmq.toml: anonymous logins off, no_match deny, persistence on, plus the
    knobs under test (None keeps the default) and `mqtt` lines for [mqtt]."""
    text = f"[mqtt]\nallow_anonymous = false\n{mqtt}\n[authorization]\nno_match = \"deny\"\n"
    if recheck:
        text += f'recheck = "{recheck}"\n'
    if cache:
        text += f"[authorization.cache]\n{cache}\n"
    if owner_change:
        text += f'[session]\nowner_change = "{owner_change}"\n'
    return text + '[persistence]\nenable = true\ndir = "store"\n' + extra


def secure_broker(broker_factory, workdir, **knobs):
    """A broker with the ACL hook, configured by `config(**knobs)`."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "acl.json").exists():
        set_acl(workdir, ACL)
    b = start(broker_factory, workdir, files={"ext/acl.py": HOOK},
              config=config(**knobs) + driver_toml("python3", path="ext", init_module="acl",
                                                    failed_action="deny"))
    wait_driver(b)
    b.events = Events(workdir / "events.jsonl")
    return b


def set_acl(workdir, rules):
    """Replaces the ACL the hook reads on its next call (atomically, so no call sees half)."""
    path = pathlib.Path(workdir) / "acl.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rules))
    tmp.replace(path)


def login(b, user, client_id=None, clean=False, protocol=4, **kw):
    """A connected client logged in as `user`; returns (client, session_present)."""
    c = Client(b, client_id=client_id, clean=clean, protocol=protocol, username=user,
               password=PASSWORDS[user], **kw)
    present, rc, _ = c.connect()
    assert rc == 0, f"{user} refused: {rc}"
    return c, present


def nothing_before_barrier(publisher, subscriber, topic):
    """The messages `subscriber` received before a barrier that `publisher` sends on `topic`
    (which the subscriber must be subscribed to): anything published earlier by the same
    publisher has arrived by then."""
    publisher.publish(topic, b"barrier", qos=1)
    before, _ = subscriber.until(topic)
    return [(m.topic, m.payload) for m in before]


def reauthorize(b, clientid=None):
    """POST /api/v1/clients/{clientid}/reauthorize, or /api/v1/reauthorize for all."""
    path = f"/api/v1/clients/{clientid}/reauthorize" if clientid else "/api/v1/reauthorize"
    return api(b, "POST", path)


__all__ = ["ACL", "PASSWORDS", "secure_broker", "set_acl", "login", "nothing_before_barrier",
           "reauthorize", "Client"]

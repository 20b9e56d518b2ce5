"""MQTT 5 enhanced authentication with SCRAM-SHA-256 (RFC 5802, RFC 7677) as a Python port hook.

A client connects with Authentication Method ``SCRAM-SHA-256`` and its client-first message as
Authentication Data; the broker calls ``client_enhanced_authenticate`` once per AUTH step:

    initial         client-first "n,,n=alice,r=<cnonce>"   -> continue with server-first
    continue        client-final "c=biws,r=<nonce>,p=<proof>" -> success with "v=<signature>"
                                                              or failure 0x86
    reauthenticate  a connected client's AUTH 0x19 starts the same exchange again

The password never crosses the wire and is never stored: the user store keeps per user the salt,
the iteration count, StoredKey and ServerKey (RFC 5802 §3), as JSON in the file named by
``$HOOKMQ_SCRAM_USERS`` (default ``scram_users.json`` in the broker's directory). Add a user with

    python3 examples/python/scram_auth.py add-user FILE NAME PASSWORD

What the exchange must remember between its two steps (the client-first message without its
header, and the server-first message) travels in the answer's state and comes back with the next
step, so this module keeps no per-client memory. Only the standard library is used.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys

try:
    from hookmq_port import hook, specs
except ImportError:  # run as a command (add-user) or imported by another SDK's example
    def hook(_name):
        return lambda function: function


# The answers without the port's leading 0: ("continue", data, state), ("success", data,
# superuser), ("failure", code, reason). `step` returns them, so another SDK's extension
# (sdk/python/examples/scram.py) serves the same exchange.
def auth_continue(data, state):
    return ("continue", data, state)


def auth_success(data):
    return ("success", data, False)


def auth_failure(code, reason):
    return ("failure", code, reason)

METHOD = "SCRAM-SHA-256"
ITERATIONS = 4096
NOT_AUTHORIZED = 0x87
BAD_CREDENTIALS = 0x86


def _h(data):
    return hashlib.sha256(data).digest()


def _hmac(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def user_record(password, salt=None, iterations=ITERATIONS):
    """The stored form of a password: salt, iterations, StoredKey, ServerKey (base64)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return {
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
        "stored_key": base64.b64encode(_h(client_key)).decode(),
        "server_key": base64.b64encode(_hmac(salted, b"Server Key")).decode(),
    }


def _users():
    path = os.environ.get("HOOKMQ_SCRAM_USERS", "scram_users.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _attributes(message):
    """``a=1,b=2`` as a dict; None when it is not of that shape."""
    out = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            return None
        out[part[0]] = part[2:]
    return out


def _first(data):
    """client-first -> server-first (continue), or a refusal."""
    try:
        text = (data or b"").decode("utf-8")
    except UnicodeDecodeError:
        return auth_failure(NOT_AUTHORIZED, "client-first is not UTF-8")
    # gs2 header: "n,," (no channel binding) or "y,,"; "p=..." asks for binding we do not offer.
    header, sep, bare = text.partition(",,")
    if not sep or header not in ("n", "y"):
        return auth_failure(NOT_AUTHORIZED, "unsupported gs2 header")
    attrs = _attributes(bare)
    if not attrs or "n" not in attrs or not attrs.get("r"):
        return auth_failure(NOT_AUTHORIZED, "malformed client-first")
    user = _users().get(attrs["n"])
    if user is None:
        # Answer as for a known user, so the exchange does not reveal who exists: a salt derived
        # from the name, and a proof that can never match.
        user = {"salt": base64.b64encode(_h(b"unknown:" + attrs["n"].encode())[:16]).decode(),
                "iterations": ITERATIONS}
    server_first = "r=%s%s,s=%s,i=%d" % (attrs["r"], secrets.token_urlsafe(18), user["salt"],
                                         int(user["iterations"]))
    state = json.dumps({"bare": bare, "server_first": server_first, "gs2": header + ",,"})
    return auth_continue(server_first.encode(), state.encode())


def _final(data, state):
    """client-final -> success with the server signature, or failure."""
    try:
        saved = json.loads(state.decode("utf-8"))
        text = (data or b"").decode("utf-8")
    except (AttributeError, ValueError):
        return auth_failure(NOT_AUTHORIZED, "no exchange to continue")
    without_proof, sep, proof = text.rpartition(",p=")
    attrs = _attributes(without_proof) if sep else None
    server_nonce = _attributes(saved["server_first"])["r"]
    if not attrs or attrs.get("r") != server_nonce:
        return auth_failure(NOT_AUTHORIZED, "nonce mismatch")
    if attrs.get("c") != base64.b64encode(saved["gs2"].encode()).decode():
        return auth_failure(NOT_AUTHORIZED, "channel binding mismatch")
    name = _attributes(saved["bare"])["n"]
    user = _users().get(name)
    auth_message = ",".join([saved["bare"], saved["server_first"], without_proof]).encode()
    try:
        client_proof = base64.b64decode(proof, validate=True)
    except ValueError:
        return auth_failure(NOT_AUTHORIZED, "malformed proof")
    if user is None or len(client_proof) != 32:
        return auth_failure(BAD_CREDENTIALS, "authentication failed")
    stored_key = base64.b64decode(user["stored_key"])
    client_key = bytes(a ^ b for a, b in zip(client_proof, _hmac(stored_key, auth_message)))
    if not hmac.compare_digest(_h(client_key), stored_key):
        return auth_failure(BAD_CREDENTIALS, "authentication failed")
    signature = _hmac(base64.b64decode(user["server_key"]), auth_message)
    return auth_success(b"v=" + base64.b64encode(signature))


def step(name, data, exchange):
    """One step of the exchange: ``name`` is ``initial``, ``continue`` or ``reauthenticate``."""
    if name in ("initial", "reauthenticate"):
        return _first(data)
    return _final(data, exchange)


@hook("client_enhanced_authenticate")
def enhanced_authenticate(clientinfo, method, data, step_name, exchange, state):
    if method != METHOD.encode():
        return None  # another method: no opinion (nobody answering means 0x8C)
    return (0, step(step_name.decode(), data, exchange))  # the step is an Atom (bytes)


def init():
    return specs(__name__)


def deinit():
    return None


def main(argv):
    if len(argv) != 5 or argv[1] != "add-user":
        print("usage: scram_auth.py add-user FILE NAME PASSWORD", file=sys.stderr)
        return 2
    path, name, password = argv[2], argv[3], argv[4]
    try:
        with open(path) as f:
            users = json.load(f)
    except OSError:
        users = {}
    users[name] = user_record(password)
    with open(path, "w") as f:
        json.dump(users, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

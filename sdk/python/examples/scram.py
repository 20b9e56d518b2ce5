"""MQTT 5 enhanced authentication with SCRAM-SHA-256 over the extension protocol.

The exchange is the one of the port example (examples/python/scram_auth.py, imported from there
so both serve the same messages and read the same user store); this extension only answers
``client.enhanced_authenticate`` with the SDK's values. The user store is the JSON file named by
``--users`` (add users with ``python3 examples/python/scram_auth.py add-user FILE NAME PASSWORD``).

    python scram.py --users scram_users.json --listen 127.0.0.1:9205

hookmq.toml:

    [[ext.servers]]
    name = "scram"
    url = "http://127.0.0.1:9205"
    failed_action = "deny"
"""

import argparse
import os
import pathlib
import sys

from hookmq_ext import AuthContinue, AuthFailure, AuthSuccess, Extension, hook, run

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "examples" / "python"))
import scram_auth  # noqa: E402

STEPS = {0: "initial", 1: "continue", 2: "reauthenticate"}  # event_pb2.AuthStep


class Scram(Extension):
    name = "scram"

    @hook("client.enhanced_authenticate")
    def on_client_enhanced_authenticate(self, event):
        if event.method != scram_auth.METHOD:
            return None  # another method: no opinion
        data = event.data if event.HasField("data") else None
        state = event.state if event.HasField("state") else None
        tag, a, b = scram_auth.step(STEPS.get(event.step, "continue"), data, state)
        if tag == "continue":
            return AuthContinue(a, b)
        if tag == "success":
            return AuthSuccess(a, superuser=b)
        return AuthFailure(a, b)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:9205")
    p.add_argument("--users", default="scram_users.json")
    args = p.parse_args()
    os.environ["HOOKMQ_SCRAM_USERS"] = args.users
    run(Scram(), args.listen)


if __name__ == "__main__":
    main()

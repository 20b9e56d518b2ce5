"""A small gRPC exhook server for hookmq (or EMQX 5.9+): authentication from a user table,
per-user topic ACL, and a message rewrite. See README.md.

    python -m grpc_tools.protoc -I../../crates/exhook/proto --python_out=. \
        --grpc_python_out=. ../../crates/exhook/proto/exhook_v3.proto
    python exhook_server.py --port 9000
"""

import argparse
import json
import time
from concurrent import futures

import grpc

import exhook_v3_pb2 as pb
import exhook_v3_pb2_grpc as rpc

# Who may log in, and with which password.
USERS = {"alice": "alice-secret", "bob": "bob-secret", "sensor-1": "s3nsor"}

# Topic prefixes each user may publish and subscribe to; "%u" stands for the user name.
ACL = {
    "*": ["public/", "sensors/", "users/%u/"],
    "alice": ["admin/"],
}

# Messages published under this prefix get a JSON envelope with the publisher and a timestamp.
ENVELOPE_PREFIX = "sensors/"


def allowed(username, topic):
    prefixes = ACL["*"] + ACL.get(username, [])
    return any(topic.startswith(p.replace("%u", username)) for p in prefixes)


class HookProvider(rpc.HookProviderServicer):
    def OnProviderLoaded(self, request, context):
        print(f"loaded by {request.broker.sysdescr} {request.broker.version} ({request.meta.node})", flush=True)
        return pb.LoadedResponse(hooks=[
            pb.HookSpec(name="client.authenticate"),
            pb.HookSpec(name="client.authorize"),
            pb.HookSpec(name="message.publish", topics=[ENVELOPE_PREFIX + "#"]),
        ])

    def OnProviderUnloaded(self, request, context):
        print("unloaded", flush=True)
        return pb.EmptySuccess()

    def OnClientAuthenticate(self, request, context):
        ci = request.clientinfo
        ok = USERS.get(ci.username) == ci.password
        print(f"authenticate {ci.clientid!r} as {ci.username!r}: {'allow' if ok else 'deny'}", flush=True)
        return pb.ValuedResponse(type="STOP_AND_RETURN", bool_result=ok)

    def OnClientAuthorize(self, request, context):
        username = request.clientinfo.username
        ok = allowed(username, request.topic)
        action = pb.ClientAuthorizeRequest.AuthorizeReqType.Name(request.type)
        print(f"authorize {username!r} {action} {request.topic!r}: {'allow' if ok else 'deny'}", flush=True)
        return pb.ValuedResponse(type="STOP_AND_RETURN", bool_result=ok)

    def OnMessagePublish(self, request, context):
        msg = request.message
        envelope = {
            "from": getattr(msg, "from"),  # `from` is a Python keyword
            "at": msg.timestamp,
            "data": msg.payload.decode("utf-8", "replace"),
        }
        msg.payload = json.dumps(envelope).encode()
        return pb.ValuedResponse(type="CONTINUE", message=msg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    rpc.add_HookProviderServicer_to_server(HookProvider(), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    print(f"exhook server listening on {args.host}:{port}", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=1)
        time.sleep(0.1)


if __name__ == "__main__":
    main()

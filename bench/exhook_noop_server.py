"""A no-op gRPC exhook server for benchmarks: registers message.publish (answers IGNORE) and
client.authenticate (answers allow), nothing else. It generates its stubs from hookmq's own
proto into a temporary directory at start (needs grpcio and grpcio-tools).

    python bench/exhook_noop_server.py --port 9100 [--workers 16] [--hooks message.publish]

Point the broker at it with
    [[exhook.servers]]
    name = "noop"
    url = "http://127.0.0.1:9100"
"""

import argparse
import importlib
import pathlib
import subprocess
import sys
import tempfile
from concurrent import futures

import grpc

PROTO = pathlib.Path(__file__).resolve().parents[1] / "crates" / "exhook" / "proto"


def load_stubs():
    out = tempfile.mkdtemp(prefix="exhook-noop-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO}", f"--python_out={out}",
         f"--grpc_python_out={out}", str(PROTO / "exhook_v3.proto")],
        check=True,
    )
    sys.path.insert(0, out)
    return importlib.import_module("exhook_v3_pb2"), importlib.import_module("exhook_v3_pb2_grpc")


def main():
    parser = argparse.ArgumentParser(description="no-op gRPC exhook server")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--hooks", default="message.publish,client.authenticate",
                        help="comma-separated hooks to register")
    args = parser.parse_args()
    pb, rpc = load_stubs()
    hooks = [h for h in args.hooks.split(",") if h]

    class Noop(rpc.HookProviderServicer):
        def OnProviderLoaded(self, request, context):
            return pb.LoadedResponse(hooks=[pb.HookSpec(name=h) for h in hooks])

        def OnProviderUnloaded(self, request, context):
            return pb.EmptySuccess()

        def OnMessagePublish(self, request, context):
            return pb.ValuedResponse(type="IGNORE")

        def OnClientAuthenticate(self, request, context):
            return pb.ValuedResponse(type="STOP_AND_RETURN", bool_result=True)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    rpc.add_HookProviderServicer_to_server(Noop(), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"exhook noop server on 127.0.0.1:{port} hooks={','.join(hooks)}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()

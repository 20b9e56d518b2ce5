"""A deliberately broken extension server for the fault tests, written with grpcio directly
(not the SDK) so it can send what no correct extension sends. It registers client.authenticate
and answers each login according to the user name:

    good       STOP allow                       (a correct answer)
    unknown    a reply to an id never sent
    twice      the right id twice in one batch
    oversize   a batch larger than max_batch (the right reply among fillers)
    wrong      STOP with a message value, which authenticate does not take
    fail       FAIL with a reason
    hang       no reply at all
    malformed  bytes that are not an ExtensionFrame (the broker drops the stream)

    python ext_bad_server.py [port]    prints "hookmq extension listening on port N"
"""

import sys
from concurrent import futures

import grpc

from hookmq_ext._pb import event_pb2, reply_pb2, stream_pb2


def frame(**kw):
    return stream_pb2.ExtensionFrame(**kw).SerializeToString()


def replies(*rs):
    return frame(replies=stream_pb2.ReplyBatch(replies=list(rs)))


def allow(i):
    return reply_pb2.Reply(id=i, outcome=reply_pb2.STOP, allow=True)


def stream(request_iterator, context):
    hello = next(request_iterator)
    limit = hello.hello.limits.max_batch
    yield frame(register=stream_pb2.Register(protocol_version=1, name="bad", hooks=[
        stream_pb2.HookRegistration(point="client.authenticate")]))
    for f in request_iterator:
        for ev in f.events.events:
            if ev.no_reply:
                continue
            user = ev.client_authenticate.clientinfo.username
            if user == "unknown":
                yield replies(allow(ev.id + 1_000_000))
            elif user == "twice":
                yield replies(allow(ev.id), allow(ev.id))
            elif user == "oversize":
                yield replies(allow(ev.id), *[reply_pb2.Reply(id=ev.id) for _ in range(limit)])
            elif user == "wrong":
                yield replies(reply_pb2.Reply(id=ev.id, outcome=reply_pb2.STOP,
                                              message=reply_pb2.MessageEdit(topic="x")))
            elif user == "fail":
                yield replies(reply_pb2.Reply(id=ev.id, outcome=reply_pb2.FAIL, error="database down"))
            elif user == "hang":
                pass
            elif user == "malformed":
                yield b"\xff\xff\xff\xff\x0f"
            else:
                yield replies(allow(ev.id))


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handler = grpc.method_handlers_generic_handler("hookmq.ext.v1.Extension", {
        "Stream": grpc.stream_stream_rpc_method_handler(
            stream, request_deserializer=stream_pb2.BrokerFrame.FromString,
            response_serializer=lambda b: b),
    })
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"hookmq extension listening on port {port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()

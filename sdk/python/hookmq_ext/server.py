"""Serving an ``Extension`` with ``grpc.aio``: the generated ``Extension`` service, one stream
per broker connection, handled as an async generator (read a batch, handle it, answer it)."""

import asyncio
import logging

import grpc

from ._pb import stream_pb2, stream_pb2_grpc

log = logging.getLogger("hookmq_ext")

MAX_MESSAGE = 64 * 1024 * 1024


class _Servicer(stream_pb2_grpc.ExtensionServicer):
    def __init__(self, extension):
        self.extension = extension
        self.handlers = extension._handlers()

    async def Stream(self, request_iterator, context):
        frames = request_iterator.__aiter__()
        try:
            first = await frames.__anext__()
        except StopAsyncIteration:
            return
        if first.WhichOneof("kind") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be Hello")
        self.extension.on_hello(first.hello)
        yield stream_pb2.ExtensionFrame(register=self.extension.register())
        handle = self.extension.handle_batch
        handlers = self.handlers
        async for frame in frames:
            if frame.WhichOneof("kind") != "events":
                continue
            replies = await handle(frame.events.events, handlers)
            if replies:
                yield stream_pb2.ExtensionFrame(replies=stream_pb2.ReplyBatch(replies=replies))


async def start(extension, address="127.0.0.1:9200"):
    """Starts serving `extension` on `address` (``host:port``; port 0 picks a free one);
    returns the started ``grpc.aio.Server`` and the port."""
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
    ])
    stream_pb2_grpc.add_ExtensionServicer_to_server(_Servicer(extension), server)
    port = server.add_insecure_port(address)
    await server.start()
    return server, port


async def serve(extension, address="127.0.0.1:9200"):
    """Serves `extension` until cancelled. Prints ``hookmq extension listening on port N``."""
    server, port = await start(extension, address)
    print(f"hookmq extension listening on port {port}", flush=True)
    try:
        await server.wait_for_termination()
    finally:
        await server.stop(1)


def run(extension, address="127.0.0.1:9200"):
    """Serves `extension` until the process is stopped (asyncio.run of ``serve``)."""
    try:
        asyncio.run(serve(extension, address))
    except KeyboardInterrupt:
        pass

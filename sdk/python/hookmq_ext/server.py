"""Serving an ``Extension`` with ``grpc.aio``: the generated ``Extension`` service, one stream
per broker connection. A reader task hands each event to its client's lane (``lanes.py``) while
the stream's generator sends the replies back in batches as they complete."""

import asyncio
import logging

import grpc

from ._pb import stream_pb2, stream_pb2_grpc
from .lanes import Lanes

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
        # The broker refuses a reply batch larger than its max_batch.
        limit = first.hello.limits.max_batch or 256
        lanes = Lanes(self.handlers, self.extension.concurrency)
        # Reply batches and the extension's commands leave through one queue.
        out = asyncio.Queue()
        link = self.extension.broker._attach(out)
        reader = asyncio.ensure_future(_read(frames, lanes, link))
        pump = asyncio.ensure_future(_replies(lanes, limit, out))
        try:
            while (frame := await out.get()) is not None:
                yield frame
        finally:
            self.extension.broker._detach(link)
            reader.cancel()
            pump.cancel()
            lanes.cancel()


async def _replies(lanes, limit, out):
    """Moves reply batches to the outgoing queue; None once the lanes are done."""
    while (replies := await lanes.take(limit)) is not None:
        await out.put(stream_pb2.ExtensionFrame(replies=stream_pb2.ReplyBatch(replies=replies)))
    await out.put(None)


async def _read(frames, lanes, link):
    """Hands every event of the broker's frames to the lanes, and the answers to commands to
    their callers, until the broker ends its side."""
    try:
        async for frame in frames:
            kind = frame.WhichOneof("kind")
            if kind == "events":
                for ev in frame.events.events:
                    await lanes.push(ev)
            elif kind == "command_replies":
                link.settle(frame.command_replies)
    except Exception as e:  # the stream broke: the generator ends with it
        log.debug("stream ended: %s", e)
    finally:
        lanes.close()


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

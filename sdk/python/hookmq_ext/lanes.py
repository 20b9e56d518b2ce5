"""How one stream's events reach the handlers: each client has a lane, its events handled one
after the other in the order the broker sent them, while different clients' lanes run side by
side; so a slow ``async`` handler (a database call) holds up only its own client. Replies are
sent back as they complete, in any order (the protocol matches them by id).

A plain function handler runs at once in the stream's reader (it cannot wait anyway). A
coroutine handler gets a task for its client's lane, which also takes the client's events that
arrive meanwhile; at most ``concurrency`` lanes run at once per stream, past that the reader
waits and the broker's flow control holds back further events. On Python 3.12+ the task starts
eagerly, so a coroutine that never waits finishes without a trip through the event loop.
"""

import asyncio
import collections
import logging

from . import answers
from ._pb import reply_pb2
from .broker import CURRENT_HOPS

log = logging.getLogger("hookmq_ext")

_eager = getattr(asyncio, "eager_task_factory", None)


def _hops(payload):
    """The hop count of the message an event carries (0 for events without one)."""
    try:
        return payload.message.hops if payload.HasField("message") else 0
    except ValueError:  # no `message` field
        return 0


def client_of(event, kind):
    """The client an event is about, as the broker keys its order (for ``message.publish`` and
    ``message.dropped``: the publisher)."""
    payload = getattr(event, kind)
    if kind in ("message_publish", "message_dropped"):
        return getattr(payload.message, "from")
    if kind in ("client_connect", "client_connack"):
        return payload.conninfo.clientid
    return payload.clientinfo.clientid


def _answer(event, result):
    """The reply for a handler's result (None for events that expect none)."""
    if event.no_reply:
        return None
    try:
        return answers.reply(event.id, result)
    except TypeError as e:
        log.error("%s", e)
        return answers.reply(event.id, answers.Fail(str(e)))


def _failed(entry, e):
    log.error("handler of %s failed", entry[0], exc_info=e)
    return answers.Fail(f"{type(e).__name__}: {e}")


class Lanes:
    """The lanes of one stream. ``push`` events in the order they arrive; ``take`` the replies
    that are ready."""

    def __init__(self, handlers, concurrency):
        self.handlers = handlers
        # Events waiting behind a client's running coroutine, by client id; no entry: idle.
        self.waiting = {}
        self.ready = []
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.tasks = set()
        self.closed = False

    def _reply(self, reply):
        if reply is not None:
            self.ready.append(reply)
            self.wake.set()

    async def push(self, event):
        """Hands one event to its client's lane; waits only while ``concurrency`` lanes run."""
        kind = event.WhichOneof("payload")
        entry = self.handlers.get(kind)
        plain = entry is None or not entry[4]
        # While no lane runs, a plain handler needs no client id: nothing can be ahead of it.
        if plain and not self.waiting:
            self._reply(self._call(event, kind, entry))
            return
        key = client_of(event, kind) if kind else ""
        queue = self.waiting.get(key)
        if queue is not None:
            queue.append((event, kind, entry))
            return
        if plain:
            self._reply(self._call(event, kind, entry))
            return
        self.waiting[key] = collections.deque()
        await self.slots.acquire()
        loop = asyncio.get_running_loop()
        coro = self._run(key, event, kind, entry)
        task = _eager(loop, coro) if _eager else loop.create_task(coro)
        if not task.done():
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _call(self, event, kind, entry):
        """Runs a plain handler (or none): the reply."""
        if entry is None:
            return None if event.no_reply else reply_pb2.Reply(id=event.id)
        payload = getattr(event, kind)
        token = CURRENT_HOPS.set(_hops(payload))
        try:
            result = entry[3](payload)
        except Exception as e:  # a handler's failure is the broker's failure policy
            result = _failed(entry, e)
        finally:
            CURRENT_HOPS.reset(token)
        return _answer(event, result)

    async def _run(self, key, event, kind, entry):
        """Handles the lane's events until none is waiting."""
        try:
            while True:
                if entry is not None and entry[4]:
                    payload = getattr(event, kind)
                    CURRENT_HOPS.set(_hops(payload))  # this lane's task has its own context
                    try:
                        result = await entry[3](payload)
                    except Exception as e:
                        result = _failed(entry, e)
                    self._reply(_answer(event, result))
                else:
                    self._reply(self._call(event, kind, entry))
                queue = self.waiting.get(key)
                if not queue:
                    return
                event, kind, entry = queue.popleft()
        finally:
            self.waiting.pop(key, None)
            self.slots.release()
            self.wake.set()

    def close(self):
        """The broker ended its side: ``take`` returns None once every lane is done and its
        replies are taken."""
        self.closed = True
        self.wake.set()

    async def take(self, limit):
        """Waits for replies; returns up to `limit` of them, or None once closed and empty."""
        while not self.ready:
            if self.closed and not self.waiting:
                return None
            self.wake.clear()
            await self.wake.wait()
        batch, self.ready = self.ready[:limit], self.ready[limit:]
        return batch

    def cancel(self):
        """Stops every lane still running (the stream is gone)."""
        for task in list(self.tasks):
            task.cancel()

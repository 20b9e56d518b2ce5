"""The ``Extension`` base class and the ``@hook`` decorator, in the style of EMQX's Python SDK:
subclass ``Extension``, decorate a method per hook point, serve it.

    class Acl(Extension):
        @hook("client.authorize")
        def on_client_authorize(self, event):
            return not event.topic.startswith("secret/")

        @hook("message.publish", topics=["sensors/#"], observe=True)
        async def on_message_publish(self, event):
            await self.db.save(event.message)

Handlers receive the event's protocol message (``event_pb2.ClientAuthorize``, ...) and may be
plain functions or coroutines. Each client's events are handled one at a time, in the order the
broker sent them; different clients' coroutines run side by side (``concurrency`` at most per
stream), so a slow one holds up only its own client (see ``lanes.py``).
"""

import inspect

from ._pb import event_pb2, stream_pb2
from .broker import Broker
from .lanes import Lanes

PROTOCOL_VERSION = 1

POINTS = {
    "client.connect": "client_connect",
    "client.connack": "client_connack",
    "client.connected": "client_connected",
    "client.disconnected": "client_disconnected",
    "client.authenticate": "client_authenticate",
    "client.authorize": "client_authorize",
    "client.subscribe": "client_subscribe",
    "client.unsubscribe": "client_unsubscribe",
    "session.created": "session_created",
    "session.subscribed": "session_subscribed",
    "session.unsubscribed": "session_unsubscribed",
    "session.resumed": "session_resumed",
    "session.discarded": "session_discarded",
    "session.takenover": "session_takenover",
    "session.terminated": "session_terminated",
    "message.publish": "message_publish",
    "message.delivered": "message_delivered",
    "message.acked": "message_acked",
    "message.dropped": "message_dropped",
    "client.enhanced_authenticate": "client_enhanced_authenticate",
}
VALUED = {"client.authenticate", "client.authorize", "client.subscribe", "message.publish",
          "client.enhanced_authenticate"}


def hook(point, topics=(), observe=False):
    """Marks a method as the handler of `point` (e.g. ``"client.authenticate"``).

    `topics`: topic filters for ``message.*`` points (empty: every topic). `observe`: the broker
    does not wait for this handler and ignores its answers; events come in batches as they
    happen (for handlers that record or forward)."""
    if point not in POINTS:
        raise ValueError(f"unknown hook point {point!r}; known: {', '.join(POINTS)}")

    def mark(fn):
        fn.__hookmq_hook__ = (point, list(topics), bool(observe))
        return fn

    return mark


class Extension:
    """Base class of an extension: decorated methods are its handlers."""

    name = None
    # Per point, topic filters that replace the decorator's (for filters known at run time).
    topic_filters = {}
    # Coroutine handlers that may be waiting at once per stream (each for another client);
    # past that the stream takes no more events until one finishes. 1: strictly one by one.
    concurrency = 256

    @property
    def broker(self):
        """The broker's services (``broker.py``): ``await self.broker.publish(...)``."""
        b = self.__dict__.get("_broker")
        if b is None:
            b = self.__dict__["_broker"] = Broker()
        return b

    def _handlers(self):
        """{oneof field name: (point, topics, observe, bound method, is coroutine)}."""
        found = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr, None)
            mark = getattr(fn, "__hookmq_hook__", None)
            if mark is None:
                continue
            point, topics, observe = mark
            topics = list(self.topic_filters.get(point, topics))
            bound = getattr(self, attr)
            found[POINTS[point]] = (point, topics, observe, bound,
                                    inspect.iscoroutinefunction(fn))
        return found

    def register(self):
        """The ``Register`` answer to the broker's ``Hello``."""
        hooks = [stream_pb2.HookRegistration(point=p, topics=t, observe=o)
                 for p, t, o, _, _ in self._handlers().values()]
        return stream_pb2.Register(protocol_version=PROTOCOL_VERSION,
                                   name=self.name or type(self).__name__, hooks=hooks)

    def on_hello(self, hello):
        """Called with the broker's ``Hello`` when a stream opens (node, limits)."""

    async def handle_batch(self, events, handlers):
        """Handles a list of events as a stream would and returns the replies for those that
        expect one, in the order they completed (for tests and tools)."""
        lanes = Lanes(handlers, self.concurrency)
        for ev in events:
            await lanes.push(ev)
        lanes.close()
        replies = []
        while (batch := await lanes.take(max(1, len(events)))) is not None:
            replies.extend(batch)
        return replies


__all__ = ["Extension", "hook", "POINTS", "VALUED", "PROTOCOL_VERSION", "event_pb2"]

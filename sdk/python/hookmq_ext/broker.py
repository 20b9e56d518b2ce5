"""The broker's services, called from an extension (docs/services.md): ``self.broker`` of an
``Extension`` sends commands on one of the streams the broker opened and awaits their answers by
id. Calling it from inside a handler, also for that event's client, is fine: the broker answers
without waiting on any hook.

    class Welcome(Extension):
        @hook("client.connected")
        async def on_client_connected(self, event):
            cid = event.clientinfo.clientid
            await self.broker.subscribe(cid, f"inbox/{cid}", qos=1)

A publish made while a handler of a message event runs counts as derived from that message
(``parent_hops`` is taken from it), so a hook that republishes what it sees through
``message.publish`` stops at the broker's hop limit.
"""

import asyncio
import contextvars
import itertools

from ._pb import event_pb2, stream_pb2

# The hop count of the message whose handler is running (set by lanes.py).
CURRENT_HOPS = contextvars.ContextVar("hookmq_current_hops", default=0)


class ServiceError(Exception):
    """The broker refused a command: ``reason`` is the stable name (``invalid_topic``,
    ``unknown_client``, ``loop_limit``, ...), ``message`` the broker's words."""

    def __init__(self, reason, message):
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


class NotConnected(ServiceError):
    """No stream from the broker is open."""

    def __init__(self):
        super().__init__("not_connected", "no broker is connected")


class _Link:
    """One open stream: its outgoing frames and the commands waiting for an answer."""

    def __init__(self, out):
        self.out = out
        self.waiting = {}

    def settle(self, batch):
        for reply in batch.replies:
            fut = self.waiting.pop(reply.id, None)
            if fut is not None and not fut.done():
                fut.set_result(reply)

    def fail_all(self):
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(ServiceError("lost", "the stream ended before the broker answered"))
        self.waiting.clear()


def _properties(properties):
    if not properties:
        return None
    p = dict(properties)
    user = p.pop("user_properties", None) or []
    if isinstance(user, dict):
        user = list(user.items())
    out = event_pb2.Properties(**p)
    for k, v in user:
        out.user_properties.add(key=k, value=v)
    return out


def _b(value):
    return value.encode() if isinstance(value, str) else bytes(value)


class Broker:
    """A handle on the broker's services; shared by every stream of an extension."""

    def __init__(self):
        self._links = []
        self._ids = itertools.count(1)

    def _attach(self, out):
        link = _Link(out)
        self._links.append(link)
        return link

    def _detach(self, link):
        if link in self._links:
            self._links.remove(link)
        link.fail_all()

    async def call(self, **command):
        """Sends one ``Command`` (e.g. ``publish=stream_pb2.PublishCommand(...)``) and returns
        the ``CommandReply``'s result message; raises ``ServiceError`` when refused."""
        if not self._links:
            raise NotConnected()
        link = self._links[0]
        cid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        link.waiting[cid] = fut
        frame = stream_pb2.ExtensionFrame(
            commands=stream_pb2.CommandBatch(commands=[stream_pb2.Command(id=cid, **command)]))
        await link.out.put(frame)
        reply = await fut
        kind = reply.WhichOneof("result")
        if kind == "error":
            raise ServiceError(reply.error.reason or "failed", reply.error.message)
        return getattr(reply, kind) if kind else None

    async def publish(self, topic, payload=b"", qos=0, retain=False, through_hooks=False,
                      properties=None, parent_hops=None):
        """Publishes as the broker; returns ``PublishResult`` (``id``, ``receivers`` unset for
        ``through_hooks``)."""
        cmd = stream_pb2.PublishCommand(
            topic=topic, payload=_b(payload), qos=qos, retain=retain, through_hooks=through_hooks,
            properties=_properties(properties),
            parent_hops=CURRENT_HOPS.get() if parent_hops is None else parent_hops)
        return await self.call(publish=cmd)

    async def kick(self, clientid, reason_code=0x98):
        """Disconnects a client (MQTT 5: DISCONNECT with ``reason_code``)."""
        await self.call(kick=stream_pb2.KickCommand(clientid=clientid, reason_code=reason_code))

    async def confirm(self, message_id, ok=True):
        """Releases the publisher's acknowledgement a ``message.publish`` handler held
        (``Publish.HOLD``) for the message ``message_id`` (``event.message.id``, 16 bytes):
        ``ok=False`` refuses it (MQTT 5: 0x80; MQTT 3.x: the connection closes). An id that is
        not held raises ``ServiceError`` with reason ``not_held``."""
        await self.call(confirm=stream_pb2.ConfirmCommand(id=bytes(message_id), failed=not ok))

    async def subscribe(self, clientid, topic_filter, qos=0, no_local=False,
                        retain_as_published=False, retain_handling=0):
        """Subscribes a connected client or a persistent session; the granted QoS."""
        opts = event_pb2.SubOpts(qos=qos, no_local=no_local,
                                 retain_as_published=retain_as_published,
                                 retain_handling=retain_handling)
        cmd = stream_pb2.SubscribeCommand(clientid=clientid, filter=topic_filter, options=opts)
        return (await self.call(subscribe=cmd)).granted_qos

    async def unsubscribe(self, clientid, topic_filter):
        """Removes a client's subscription; whether it existed."""
        cmd = stream_pb2.UnsubscribeCommand(clientid=clientid, filter=topic_filter)
        return (await self.call(unsubscribe=cmd)).existed

    async def client(self, clientid):
        """``ClientResult`` (clientid, username, connected, peer, proto_ver, ...)."""
        return await self.call(client=stream_pb2.ClientQuery(clientid=clientid))

    async def clients(self, clientid_prefix=None, username=None, connected=None, offset=0,
                      limit=100):
        """``ClientsResult`` (clients, total)."""
        q = stream_pb2.ClientsQuery(offset=offset, limit=limit)
        if clientid_prefix is not None:
            q.clientid_prefix = clientid_prefix
        if username is not None:
            q.username = username
        if connected is not None:
            q.connected = connected
        return await self.call(clients=q)

    async def session(self, clientid):
        """``SessionResult`` (subscriptions, queue_len, inflight, ...)."""
        return await self.call(session=stream_pb2.SessionQuery(clientid=clientid))

    async def retained_get(self, topic):
        """The retained ``Message`` of ``topic``, or None."""
        r = await self.call(retained_get=stream_pb2.RetainedGetCommand(topic=topic))
        return r.message if r.HasField("message") else None

    async def retained_set(self, topic, payload, qos=0, properties=None):
        """Sets the retained message of ``topic`` (an empty payload deletes it)."""
        await self.call(retained_set=stream_pb2.RetainedSetCommand(
            topic=topic, payload=_b(payload), qos=qos, properties=_properties(properties)))

    async def retained_delete(self, topic):
        """Deletes the retained message of ``topic``; whether there was one."""
        r = await self.call(retained_delete=stream_pb2.RetainedDeleteCommand(topic=topic))
        return r.existed

    async def authz_cache_invalidate(self, clientid=None):
        """Makes the broker authorize ``clientid`` (every client when None) again; the number
        of sessions re-checked."""
        cmd = stream_pb2.AuthzCacheInvalidateCommand(clientid=clientid or "")
        return (await self.call(authz_cache_invalidate=cmd)).count

    async def metrics(self):
        """The broker's counters, ``{name: value}``."""
        return dict((await self.call(metrics=stream_pb2.MetricsQuery())).values)

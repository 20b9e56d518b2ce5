"""Broker services from an extension (docs/services.md), driven by MQTT commands.

A message on ``cmd/<service>`` whose payload is space-separated arguments calls
``self.broker.<service>(...)`` from the ``message.publish`` handler and publishes the outcome to
``result/<service>`` (``ok:<value>`` or ``err:<reason>``). ``self/kick`` kicks its own publisher
(0x89) from inside that client's hook; ``loop/#`` is republished through ``message.publish``
until the broker's hop limit stops it; a client whose id starts with ``auto-`` is subscribed to
``inbox/<id>`` from its own ``client.connected``; ``client.authorize`` calls are counted per
client (``cmd/acl_count``). Argument ``@N`` of ``publish`` is N bytes. The Rust example ``services.rs`` does the same.

    python services.py --listen 127.0.0.1:9205
"""

import argparse
import collections

from hookmq_ext import Extension, ServiceError, hook, run


def text(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


class Services(Extension):
    name = "services"

    def __init__(self):
        self.authorized = collections.Counter()  # client.authorize calls per client

    async def command(self, service, args):
        b = self.broker
        if service == "publish":
            data = args[1] if len(args) > 1 else ""
            if data.startswith("@"):  # @N: N bytes
                data = "x" * int(data[1:])
            return (await b.publish(args[0], data, qos=1)).receivers
        if service == "acl_count":
            return self.authorized[args[0]]
        if service == "kick":
            await b.kick(args[0], int(args[1]))
            return ""
        if service == "subscribe":
            return await b.subscribe(args[0], args[1], qos=1)
        if service == "unsubscribe":
            return text(await b.unsubscribe(args[0], args[1]))
        if service == "session":
            s = await b.session(args[0])
            subs = ",".join(f"{x.filter}@{x.options.qos}" for x in s.subscriptions)
            return f"{subs};{s.queue_len};{text(s.connected)}"
        if service == "client":
            c = await b.client(args[0])
            return f"{c.proto_ver};{text(c.connected)}"
        if service == "clients":
            page = await b.clients(clientid_prefix=args[0])
            return f"{page.total};" + ",".join(c.clientid for c in page.clients)
        if service == "authz":
            return await b.authz_cache_invalidate(args[0] if args else None)
        if service == "retained_set":
            await b.retained_set(args[0], args[1] if len(args) > 1 else b"", qos=1)
            return ""
        if service == "retained_get":
            m = await b.retained_get(args[0])
            return "-none-" if m is None else m.payload.decode()
        if service == "retained_delete":
            return text(await b.retained_delete(args[0]))
        if service == "metrics":
            return (await b.metrics())["connections"]
        raise ServiceError("unknown_service", service)

    @hook("message.publish", topics=["cmd/#", "self/#", "loop/#"])
    async def on_message_publish(self, event):
        m = event.message
        if m.topic.startswith("cmd/"):
            service = m.topic[4:]
            try:
                out = "ok:" + text(await self.command(service, m.payload.decode().split()))
            except ServiceError as e:
                out = "err:" + e.reason
            await self.broker.publish("result/" + service, out, qos=1)
        elif m.topic == "self/kick":
            await self.broker.kick(getattr(m, "from"), 0x89)
        elif m.topic.startswith("loop/"):
            try:  # the hop count of the handled message is passed along by the SDK
                await self.broker.publish(m.topic, m.payload, through_hooks=True)
            except ServiceError as e:
                await self.broker.publish("result/loop", "err:" + e.reason, qos=1)
        return None

    @hook("client.authorize")
    def on_client_authorize(self, event):
        self.authorized[event.clientinfo.clientid] += 1
        return None

    @hook("client.connected")
    async def on_client_connected(self, event):
        cid = event.clientinfo.clientid
        if cid.startswith("auto-"):
            granted = await self.broker.subscribe(cid, "inbox/" + cid, qos=1)
            await self.broker.publish("result/auto", f"ok:{granted}", qos=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:9205")
    args = p.parse_args()
    run(Services(), args.listen)


if __name__ == "__main__":
    main()

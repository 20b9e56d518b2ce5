"""Use case 4 of EMQX's guide: forward published messages to storage (here the `messages`
table of the example database; the same place could write to Kafka or another database).

Only topics matching $HOOKMQ_STORE_TOPICS (comma-separated filters, default `#`) are stored:
the filters go to `start(topics=...)`, and hookmq calls the hook for matching messages only.
The method is deliberately not decorated with `@hooks_handler()`: it receives the raw terms, so
binary payloads are stored byte for byte (the decorator would decode them as UTF-8).
"""

import os

from emqx_extension.hooks import EmqxHookSdk

import example_db

DB = None
TOPICS = [t.strip() for t in os.environ.get("HOOKMQ_STORE_TOPICS", "#").split(",") if t.strip()]


class MessageStore(EmqxHookSdk):
    def on_message_publish(self, message, state):
        m = {key.decode(): value for key, value in message}
        DB.execute("INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                   (m["id"].decode(), m["topic"].decode(), m["payload"], m["qos"],
                    m["from"].decode(), m["timestamp"]))
        return None  # no change to the message


emqx_hook = MessageStore(hook_module=f"{__name__}.emqx_hook")


def init():
    global DB
    DB = example_db.connect()
    return emqx_hook.start(topics=TOPICS)


def deinit():
    DB.close()

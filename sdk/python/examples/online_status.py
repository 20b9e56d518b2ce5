"""Use case 2: online status and connection history recorded in a database (SQLite here).

``client.connected`` and ``client.disconnected`` are observe-only: the broker never waits for
this extension, and the events of each client arrive in order. Table ``online`` holds the
current state per client, table ``history`` one row per event.

    python online_status.py --db status.db --listen 127.0.0.1:9201
"""

import argparse
import sqlite3
import time

from hookmq_ext import Extension, hook, run

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS online (clientid TEXT PRIMARY KEY, username TEXT, peer TEXT,"
    " online INTEGER, since_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS history (clientid TEXT, event TEXT, reason TEXT, at_ms INTEGER)",
]


class OnlineStatus(Extension):
    name = "online-status"

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            self.db.execute(statement)

    def record(self, client, online, reason=""):
        now = int(time.time() * 1000)
        # One transaction: a reader never sees the new state without its history row.
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO online VALUES (?, ?, ?, ?, ?)",
                            (client.clientid, client.username, f"{client.peerhost}:{client.peerport}",
                             int(online), now))
            self.db.execute("INSERT INTO history VALUES (?, ?, ?, ?)",
                            (client.clientid, "connected" if online else "disconnected", reason, now))

    @hook("client.connected", observe=True)
    def on_client_connected(self, event):
        self.record(event.clientinfo, True)

    @hook("client.disconnected", observe=True)
    def on_client_disconnected(self, event):
        self.record(event.clientinfo, False, event.reason)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--listen", default="127.0.0.1:9201")
    args = p.parse_args()
    run(OnlineStatus(args.db), args.listen)


if __name__ == "__main__":
    main()
